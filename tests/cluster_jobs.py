"""Module-level functions the Ray cluster tests run on the nodes (importable there: the test
cluster's processes get the repository on PYTHONPATH)."""

from __future__ import annotations

import os
import time


def square(x: int) -> int:
    """x * x, after ``x % 7`` milliseconds (so a map takes long enough to be interrupted)."""
    time.sleep((x % 7) / 1000)
    return x * x


def where(_x: object) -> int:
    """The pid of the process that ran it."""
    return os.getpid()


def fail_on_13(x: int) -> int:
    """x, or ValueError for 13."""
    if x == 13:
        raise ValueError("13 is unlucky")
    return x
