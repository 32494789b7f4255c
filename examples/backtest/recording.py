"""A reproducible recording of pending transactions for backtests.

EIP-1559 transactions signed by ``SENDERS`` keys with consecutive nonces, about a third of them
Uniswap V2 router swaps against the mempool watcher's bundled pools (the fixture's own swap
generator), the rest transfers and contract calls. Signed natively (``kernels.signer``, RFC
6979: the same seed gives the same bytes). Stored as length-prefixed raw transactions.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import aioultra
from aioultra import kernels

from ..mempool_watcher.ethcodec import ROUTER_V2, keccak256
from ..mempool_watcher.fixture import swap_tx

SENDERS = 1000
_LEN = struct.Struct("<I")


def _fields(rng: random.Random, pools: list[dict[str, object]], nonce: int) -> kernels.Eip1559Tx:
    kind = rng.random()
    if kind < 0.35:
        data, value = swap_tx(rng, pools)
        to = ROUTER_V2
    elif kind < 0.7:
        to, data, value = rng.randbytes(20), b"", rng.randint(1, 50) * 10**16
    else:
        to, data, value = rng.randbytes(20), rng.randbytes(4 + 32 * rng.randint(0, 4)), 0
    tip = rng.randint(1, 5) * 10**9
    return kernels.Eip1559Tx(
        chain_id=1,
        nonce=nonce,
        max_priority_fee=tip,
        max_fee=tip + rng.randint(10, 60) * 10**9,
        gas_limit=rng.randint(21_000, 400_000),
        to=to,
        value=value,
        data=data,
    )


async def generate(count: int, seed: int, pools: list[dict[str, object]], engine: aioultra.Engine) -> list[bytes]:
    """``count`` raw signed transactions (deterministic for a seed)."""
    rng = random.Random(seed)
    signers = [kernels.signer(keccak256(b"aioultra backtest sender %d %d" % (seed, i))) for i in range(SENDERS)]
    nonces = [rng.randint(0, 10_000) for _ in range(SENDERS)]
    by_sender: dict[int, list[tuple[int, kernels.Eip1559Tx]]] = {}
    for i in range(count):
        s = rng.randrange(SENDERS)
        by_sender.setdefault(s, []).append((i, _fields(rng, pools, nonces[s])))
        nonces[s] += 1
    out: list[bytes] = [b""] * count
    for s, txs in by_sender.items():
        signed = await engine.map(signers[s], [tx for _, tx in txs])
        for (i, _), st in zip(txs, signed, strict=True):
            out[i] = st.raw
    return out


def save(path: Path, raws: list[bytes]) -> None:
    """Write raws length-prefixed (atomically: a partial file is never left under ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        for raw in raws:
            fh.write(_LEN.pack(len(raw)))
            fh.write(raw)
    tmp.replace(path)


def load(path: Path) -> list[bytes]:
    """The raws of a recording."""
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        (n,) = _LEN.unpack_from(data, pos)
        out.append(data[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return out
