"""Thresholds more than one feature judges by, kept in one place so they cannot drift apart."""

CONCURRENT_MAX_RATIO = 1.5
"""A batch whose wall time is at most this x D was served "at once" (about 1 x D):
the compare report's *concurrent* band and the sweep's green band alike."""
GIL_MAX_PARALLELISM = 1.25
"""With CPU work, threads that take turns on one interpreter lock keep the server
at about one core: parallelism at most this (compare's *interleaved*, the interpreters' table)."""
