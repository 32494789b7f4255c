"""The executor's backrun transaction for an opportunity: a call to a (placeholder) executor
contract that buys on the backrun pool and sells into the victim's pool, as an EIP-1559
transaction signed with the watcher's throwaway key. Dry-run only: printed, never sent.

The engine signs with a ``kernels.signer`` (native, on a worker); the Python reference
(:func:`sign_py`) encodes and signs with coincurve and gives the same bytes.
"""

from __future__ import annotations

from aioultra import kernels

from .ethcodec import Tx, keccak256, rlp_encode, sign_hash

EXECUTOR = keccak256(b"aioultra dry-run backrun executor")[12:]
"""The placeholder contract the backruns call (no code behind it: nothing is ever sent)."""
SELECTOR = keccak256(b"backrun(address,address,address,uint256,uint256)")[:4]
GAS_LIMIT = 300_000


def calldata(buy_pool: bytes, sell_pool: bytes, token_in: bytes, size: int, min_out: int) -> bytes:
    """backrun(buyPool, sellPool, tokenIn, amountIn, minOut): ``size`` of ``token_in`` through
    ``buy_pool`` and back through ``sell_pool``, reverting below ``min_out``."""
    words = [buy_pool.rjust(32, b"\0"), sell_pool.rjust(32, b"\0"), token_in.rjust(32, b"\0")]
    return SELECTOR + b"".join(words) + size.to_bytes(32, "big") + min_out.to_bytes(32, "big")


def transaction(victim: Tx, nonce: int, data: bytes) -> kernels.Eip1559Tx:
    """The backrun's fields: the victim's chain and fees (it lands right after it)."""
    return kernels.Eip1559Tx(
        chain_id=victim.chain_id or 1,
        nonce=nonce,
        max_priority_fee=victim.max_priority_fee,
        max_fee=max(victim.max_fee, victim.max_priority_fee),
        gas_limit=GAS_LIMIT,
        to=EXECUTOR,
        data=data,
    )


def sign_py(key: bytes, tx: kernels.Eip1559Tx) -> tuple[bytes, bytes]:
    """(hash, raw) of ``tx`` (no access list) signed with ``key``, in plain Python + coincurve."""
    to = tx.to if tx.to is not None else b""
    unsigned: list[object] = [
        tx.chain_id, tx.nonce, tx.max_priority_fee, tx.max_fee, tx.gas_limit, to, tx.value, tx.data, [],
    ]  # fmt: skip
    parity, r, s = sign_hash(key, keccak256(b"\x02" + rlp_encode(unsigned)))
    raw = b"\x02" + rlp_encode([*unsigned, parity, r, s])
    return keccak256(raw), raw
