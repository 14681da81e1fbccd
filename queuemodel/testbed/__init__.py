"""Measuring a real Linux host with the paper's three paths (issue: testbed).

:mod:`~queuemodel.testbed.netns` builds the paths in network namespaces and
removes them again; :mod:`~queuemodel.testbed.run` runs iperf3 over them and
writes a dataset; :mod:`~queuemodel.testbed.procfs` reads the kernel
counters each run records.  Calibrating the model from a dataset is still to
come.
"""
