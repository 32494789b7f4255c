"""Each sender's nonces as the feed shows them: gaps (a nonce above the next expected one:
transactions the feed has not shown, or not yet) and replacements (a nonce seen before: a
speed-up or a cancel)."""

from __future__ import annotations


class NonceBook:
    """The next nonce expected from each sender, and the nonces seen."""

    def __init__(self) -> None:
        self._next: dict[bytes, int] = {}
        self._seen: set[tuple[bytes, int]] = set()
        self.gaps = 0  # times a sender's nonce jumped past the next expected one
        self.missing = 0  # nonces skipped over by those jumps
        self.replacements = 0  # transactions reusing a (sender, nonce) seen before

    @property
    def senders(self) -> int:
        """Distinct senders seen."""
        return len(self._next)

    def observe(self, sender: bytes, nonce: int) -> None:
        """Record one pending transaction of ``sender`` with ``nonce``."""
        key = (sender, nonce)
        if key in self._seen:
            self.replacements += 1
            return
        self._seen.add(key)
        expected = self._next.get(sender)
        if expected is not None and nonce > expected:
            self.gaps += 1
            self.missing += nonce - expected
        if expected is None or nonce >= expected:
            self._next[sender] = nonce + 1
