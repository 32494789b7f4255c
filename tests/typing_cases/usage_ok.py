"""Typed usage of the submission API: ``mypy --strict`` must accept this file and infer the
types that ``reveal_type`` names (tests/test_typing.py checks both)."""

from __future__ import annotations

import asyncio
from typing import reveal_type

import aioultra
from aioultra import kernels


def add(a: int, b: int) -> int:
    return a + b


class Square(aioultra.Task[int]):
    def __init__(self, x: int) -> None:
        self.x = x

    def execute(self) -> int:
        return self.x * self.x


async def main(engine: aioultra.Engine) -> None:
    digest = await engine.submit(kernels.keccak256, b"abc")
    reveal_type(digest)  # R: bytes
    tx = await engine.submit(kernels.rlp_tx, b"\xc0")
    reveal_type(tx)  # R: aioultra._txrecord.TxRecord
    record = await engine.submit(kernels.rlp_tx, b"\xc0", raw=True)
    reveal_type(record)  # R: bytes
    out = await engine.submit(kernels.univ2_amount_out, 1, 2, 3)
    reveal_type(out)  # R: int
    total = await engine.submit(add, 1, 2)
    reveal_type(total)  # R: int
    urgent = await engine.submit(add, 1, 2, priority=9)
    reveal_type(urgent)  # R: int
    sq = await engine.submit(Square(3))
    reveal_type(sq)  # R: int
    fut = engine.submit(add, 1, 2)
    reveal_type(fut)  # R: aioultra._bridge.TaskFuture[int]
    many = engine.submit_many(kernels.univ2_amount_in, [(1, 2, 3)])
    reveal_type(many)  # R: list[aioultra._bridge.TaskFuture[int]]
    results = await engine.map(str, [1, 2])
    reveal_type(results)  # R: list[str]
    pairs = await engine.map(kernels.univ2_backrun, [(1, 2, 3, 4, 5)])
    reveal_type(pairs)  # R: list[tuple[int, int]]
    both = await asyncio.gather(engine.submit(add, 1, 2), engine.submit(kernels.noop))
    reveal_type(both)  # R: tuple[int, bytes]
    sender = await engine.submit(kernels.tx_sender, b"\xc0")
    reveal_type(sender)  # R: aioultra._signing.TxSender
    address = await engine.submit(kernels.ecrecover, bytes(32), bytes(65))
    reveal_type(address)  # R: bytes
    fields = kernels.Eip1559Tx(chain_id=1, nonce=0, max_priority_fee=1, max_fee=2, gas_limit=21000, to=None)
    signed = await engine.submit(kernels.signer(b"\x01" * 32), fields)
    reveal_type(signed)  # R: aioultra._signing.SignedTx
