"""Pauses between submissions, with the event loop asleep in epoll until a deadline.

A real feed delivers events through the loop: the loop thread sleeps in epoll and the kernel
wakes it when a packet arrives. The pacer reproduces that without a helper thread: a Linux
``timerfd`` armed at an absolute CLOCK_MONOTONIC deadline and watched with ``loop.add_reader``.
The kernel's high-resolution timer fires it (timerfds get no timer slack), so the loop wakes
within microseconds of the deadline on both asyncio and uvloop, whose own timers round to
whole milliseconds (``asyncio.sleep(0.0001)`` sleeps about 1 ms). The shapes suite measures and
prints the pause it actually got next to the nominal one.

Python 3.11 has no ``os.timerfd_*`` (3.13 adds them), so this calls libc through ctypes.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import random
import time
from types import TracebackType

_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


_libc = ctypes.CDLL(None, use_errno=True)
_timerfd_create = _libc.timerfd_create
_timerfd_create.argtypes = (ctypes.c_int, ctypes.c_int)
_timerfd_create.restype = ctypes.c_int
_timerfd_settime = _libc.timerfd_settime
_timerfd_settime.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec), ctypes.c_void_p)
_timerfd_settime.restype = ctypes.c_int


def _raise_errno(what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


class Pacer:
    """Jittered pauses for the coroutine running on the current event loop.

    Create it inside the loop (it registers a reader there); use it as a context manager or
    call :meth:`close`. One coroutine at a time may pause on it. Jitter draws come from a
    seeded generator, so two runs see the same sequence of pauses.
    """

    def __init__(self, seed: int = 1) -> None:
        self._loop = asyncio.get_running_loop()
        self._rng = random.Random(seed)
        self._spec = _Itimerspec()
        self._waiter: asyncio.Future[None] | None = None
        fd = _timerfd_create(time.CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            _raise_errno("timerfd_create")
        self._fd = fd
        self._loop.add_reader(fd, self._fired)

    def jittered(self, nominal_ns: int) -> int:
        """A pause drawn uniformly within +-50% of ``nominal_ns``."""
        return int(nominal_ns * (0.5 + self._rng.random()))

    async def pause(self, ns: int) -> None:
        """Sleep ``ns`` nanoseconds (from now) in the loop's epoll, woken by the timerfd."""
        deadline = time.monotonic_ns() + ns
        self._spec.it_value.tv_sec, self._spec.it_value.tv_nsec = divmod(deadline, 1_000_000_000)
        if _timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(self._spec), None) != 0:
            _raise_errno("timerfd_settime")
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _fired(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:  # an expiry already consumed
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        """Stop watching the timerfd and close it."""
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Pacer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
