"""Worker processes for ingest parsing and detection that never outlive the process that started them."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

# How often a worker checks that its parent still lives (seconds).
PARENT_POLL_S = 0.5


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (no inherited database connections or threads).

    Each worker exits on its own once its parent is gone: a parent killed by
    SIGTERM or SIGKILL runs no clean-up that could stop them.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )


def _exit_with_parent(parent: int) -> None:
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()


def _watch_parent(parent: int) -> None:
    # An orphan is re-parented (to init or a subreaper), so its parent id changes.
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)
