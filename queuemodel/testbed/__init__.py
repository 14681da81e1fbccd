"""Measuring a real Linux host (issue: testbed).  So far: the kernel counter readers.

:mod:`queuemodel.testbed.procfs` parses /proc/stat, /proc/softirqs,
/proc/interrupts and /proc/net/softnet_stat into plain data and subtracts
snapshots.  Building the three paths in network namespaces, running iperf3
and calibrating from the measurements are still to come.
"""
