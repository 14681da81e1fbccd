"""Measuring a real Linux host with the paper's three paths (issue: testbed).

:mod:`~queuemodel.testbed.netns` builds the paths in network namespaces and
removes them again; :mod:`~queuemodel.testbed.run` runs iperf3 over them and
writes a dataset; :mod:`~queuemodel.testbed.procfs` reads the kernel
counters each run records and :mod:`~queuemodel.testbed.profile` where its
CPU time went (``perf``); :mod:`~queuemodel.testbed.fit` models the testbed
and calibrates the model to a dataset.
"""
