"""The pool set: Uniswap V2-style pairs on several DEXes, with their reserves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

VICTIM_DEX = "uniswap_v2"  # the router in the fixture is Uniswap V2's: victims trade on its pools


@dataclass(frozen=True)
class Pool:
    """A constant-product pool; reserves are uint112."""

    address: bytes
    dex: str
    token0: bytes
    token1: bytes
    reserve0: int
    reserve1: int

    def reserves(self, token_in: bytes) -> tuple[int, int]:
        """(reserve of token_in, reserve of the other token)."""
        return (self.reserve0, self.reserve1) if token_in == self.token0 else (self.reserve1, self.reserve0)


@dataclass(frozen=True)
class PoolSet:
    """Pools indexed by their (sorted) token pair, and the block timestamp they were read at."""

    pools: tuple[Pool, ...]
    timestamp: int
    tokens: dict[str, bytes]

    @classmethod
    def load(cls, path: str | Path) -> PoolSet:
        """Read a pools JSON file (see data/pools.json)."""
        raw = json.loads(Path(path).read_text())
        pools = tuple(
            Pool(
                bytes.fromhex(p["address"]),
                p["dex"],
                bytes.fromhex(p["token0"]),
                bytes.fromhex(p["token1"]),
                int(p["reserve0"]),
                int(p["reserve1"]),
            )
            for p in raw["pools"]
        )
        for p in pools:
            if not (0 < p.reserve0 < 2**112 and 0 < p.reserve1 < 2**112):
                raise ValueError(f"pool {p.address.hex()}: reserves must be uint112 and non-zero")
        return cls(pools, int(raw["timestamp"]), {k: bytes.fromhex(v) for k, v in raw["tokens"].items()})

    def on_pair(self, a: bytes, b: bytes) -> list[Pool]:
        """Pools trading tokens a and b, in file order."""
        return [p for p in self.pools if (p.token0 == a and p.token1 == b) or (p.token0 == b and p.token1 == a)]

    def symbol(self, token: bytes) -> str:
        """The token's symbol (or its address)."""
        for name, address in self.tokens.items():
            if address == token:
                return name
        return "0x" + token.hex()
