"""Rates over the last second and the last ten seconds, from sampled counters.

The engine samples its lifetime counters about every 100 ms (on the loop that started it) and
at every ``stats()`` call; a rate over a window is the difference between the counters now and
the newest sample at least that old, divided by the time between them. While the engine is
younger than the window (or when samples stopped, e.g. the starting loop ended), the time the
figures span is reported in ``Rates.window_s``.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from operator import itemgetter

from ._frozen import make

#: (time, submitted, completed, failed, cancelled, expired)
Sample = tuple[float, int, int, int, int, int]

_time = itemgetter(0)  # a sample's time
SAMPLE_EVERY_S = 0.1
_MIN_SPACING_S = 0.05  # samples closer than this to the previous are dropped: stats() in a loop stays O(1)
_KEEP_S = 10.5  # a sample a little older than the longest window is kept


@dataclass(frozen=True)
class Rates:
    """Items per second over the last ``window_s`` seconds (see ``EngineStats.rate_1s``)."""

    window_s: float
    submitted_per_s: float
    completed_per_s: float
    failed_per_s: float
    cancelled_per_s: float
    expired_per_s: float

    @property
    def finished_per_s(self) -> float:
        """Items finished per second, whatever their outcome."""
        return self.completed_per_s + self.failed_per_s + self.cancelled_per_s + self.expired_per_s


NO_RATES = Rates(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


class RateSampler:
    """Samples of the lifetime counters, thread-safe (the loop's timer adds, any thread reads)."""

    def __init__(self, started: float) -> None:
        self._samples: deque[Sample] = deque([(started, 0, 0, 0, 0, 0)])
        self._lock = threading.Lock()

    def add(self, sample: Sample) -> None:
        """Record a sample (ignored when it is within 50 ms of the previous one or older);
        drop those no window needs."""
        with self._lock:
            self._add(sample)

    def rates(self, now: Sample, window_s: float) -> Rates:
        """The rates from the newest sample at least ``window_s`` older than ``now`` (the
        oldest kept when none is) to ``now``."""
        with self._lock:
            return self._rates(now, window_s)

    def observe(self, now: Sample) -> tuple[Rates, Rates]:
        """The rates over 1 s and 10 s up to ``now``, then ``add(now)``: one lock for the three
        (a ``stats()`` snapshot does all three)."""
        with self._lock:
            one, ten = self._rates(now, 1.0), self._rates(now, 10.0)
            self._add(now)
        return one, ten

    def _add(self, sample: Sample) -> None:
        if sample[0] < self._samples[-1][0] + _MIN_SPACING_S:
            return
        self._samples.append(sample)
        cutoff = sample[0] - _KEEP_S
        while len(self._samples) > 2 and self._samples[1][0] <= cutoff:
            self._samples.popleft()

    def _rates(self, now: Sample, window_s: float) -> Rates:
        i = bisect_right(self._samples, now[0] - window_s, key=_time)  # just past the newest old enough
        t, submitted, completed, failed, cancelled, expired = self._samples[i - 1 if i > 0 else 0]
        span = now[0] - t
        if span <= 0:
            return NO_RATES
        return make(
            Rates,
            window_s=span,
            submitted_per_s=(now[1] - submitted) / span,
            completed_per_s=(now[2] - completed) / span,
            failed_per_s=(now[3] - failed) / span,
            cancelled_per_s=(now[4] - cancelled) / span,
            expired_per_s=(now[5] - expired) / span,
        )
