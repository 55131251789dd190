"""The ``hubtree`` command line: one Typer sub-app per command group."""

import os

# polars allocates through its own jemalloc, which keeps freed pages for seconds (and only returns them when it
# allocates again), so the peak memory of a command counted every frame it had already dropped: return them within
# a second. Sooner, the pages freed are faulted in again by the next frames: at once, a quarter of the CPU of
# `analyze growth` went to the kernel; within 0.1 s, a 3M report faulted 2.9M pages against 2.2M within 1 s, for 5 %
# more CPU and 45 MB less at its peak (docs/PERFORMANCE.md).
# Read by polars when it is first imported, so it is set here, before any command module imports it; a value of
# the user's is kept.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")

# NumPy's OpenBLAS starts a thread per core when NumPy is imported, and the threads spin: 0.13 s of CPU in every
# command on a 2-core machine (a cold `graph descendants` from the cache 0.8 s in all at 200K), for matrix products
# hubtree never computes. One thread, unless the user chose otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
