"""The signature kernels against eth-account (``--eth-only``; issue 12's targets).

A corpus of transactions of every type (legacy with and without EIP-155, 2930, 1559, 4844,
7702), each signed by its own random key with eth-account, is built first (not timed). Then, in
the same run, best of the rounds:

- per transaction: ``Account.recover_transaction`` (eth-account, on coincurve), coincurve's own
  ``PublicKey.from_signature_and_message`` on the precomputed signing hash (libsecp256k1 with
  only coincurve's binding around it: the floor of a recovery from Python), and
  ``map(tx_sender, corpus)`` on an engine of one worker and of two;
- per signature: ``Account.sign_transaction`` of EIP-1559 transactions, coincurve's
  ``PrivateKey.sign_recoverable`` of their signing hashes (the floor), and ``map(signer, txs)``
  on one worker.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aioultra
from aioultra import kernels

from .common import Progress

STEPS = 3


@dataclass(frozen=True)
class Counts:
    """Corpus sizes and rounds."""

    rounds: int
    txs: int  # transactions recovered per round
    signs: int  # transactions signed per round


FULL = Counts(rounds=5, txs=3000, signs=1000)
QUICK = Counts(rounds=2, txs=600, signs=200)
TINY = Counts(rounds=1, txs=30, signs=10)


def _corpus(n: int, seed: int) -> tuple[list[bytes], list[bytes], list[dict[str, Any]], bytes]:
    """(raw signed transactions of every type, their 65-byte recoverable signatures, up to n/3
    EIP-1559 field dicts to sign, one key to sign them with)."""
    from eth_account import Account
    from eth_utils.address import to_checksum_address

    rng = random.Random(seed)
    raws: list[bytes] = []
    sigs: list[bytes] = []
    to_sign: list[dict[str, Any]] = []
    for i in range(n):
        kind = i % 6
        fields: dict[str, Any] = {
            "nonce": rng.randrange(1000),
            "gas": 21000 + rng.randrange(200_000),
            "value": rng.randrange(10**18),
            "data": rng.randbytes(rng.choice([0, 4, 68, 196])),
            "to": to_checksum_address(rng.randbytes(20)),
        }
        if kind <= 1:
            fields["gasPrice"] = rng.randrange(10**9, 10**11)
            if kind == 1:
                fields["chainId"] = 1
        else:
            fields |= {"type": kind - 1, "chainId": 1, "accessList": []}
            if kind == 2:
                fields["gasPrice"] = rng.randrange(10**9, 10**11)
            else:
                fields |= {"maxPriorityFeePerGas": rng.randrange(10**9), "maxFeePerGas": rng.randrange(10**9, 10**11)}
            if kind == 4:
                fields |= {"maxFeePerBlobGas": 10**9, "blobVersionedHashes": [b"\x01" + rng.randbytes(31)]}
            if kind == 5:
                other = Account.from_key(rng.randbytes(31) + b"\x01")
                delegate = to_checksum_address(rng.randbytes(20))
                fields["authorizationList"] = [
                    other.sign_authorization({"chainId": 1, "address": delegate, "nonce": 0})
                ]
        signed = Account.sign_transaction(fields, rng.randbytes(31) + b"\x01")
        raws.append(bytes(signed.raw_transaction))
        v = signed.v if signed.v < 27 else (signed.v - 27 if signed.v < 35 else (signed.v - 35) % 2)
        sigs.append(signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([v]))
        if kind == 3 and len(to_sign) < n // 3:
            to_sign.append(fields)
    return raws, sigs, to_sign, rng.randbytes(31) + b"\x02"


def _per_item_us(fn: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e6 / n


async def _engine_us(workers: int, kernel: Any, items: list[Any], repeats: int = 3) -> float:
    """us per item of ``map(kernel, items)`` on an engine of ``workers`` workers: the best of
    ``repeats`` maps after a warm-up one (steady state, not the engine's start)."""
    async with aioultra.Engine(workers_per_numa_node=workers, spin_us=0) as engine:
        await engine.map(kernel, items[:50])  # warm
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            await engine.map(kernel, items)
            best = min(best, time.perf_counter() - t0)
        return best * 1e6 / len(items)


def _eip1559(fields: dict[str, Any]) -> kernels.Eip1559Tx:
    return kernels.Eip1559Tx(
        chain_id=fields["chainId"],
        nonce=fields["nonce"],
        max_priority_fee=fields["maxPriorityFeePerGas"],
        max_fee=fields["maxFeePerGas"],
        gas_limit=fields["gas"],
        to=bytes.fromhex(fields["to"][2:]),
        value=fields["value"],
        data=fields["data"],
    )


@dataclass(frozen=True)
class _Inputs:
    """What every round times, made once (not timed)."""

    raws: list[bytes]  # signed transactions of every type
    recoveries: list[tuple[bytes, bytes]]  # (65-byte signature, signing hash) of each: coincurve's input
    to_sign: list[dict[str, Any]]  # EIP-1559 fields, as eth-account takes them
    txs: list[kernels.Eip1559Tx]  # the same, as a signer takes them
    key: bytes


async def _inputs(n: int) -> _Inputs:
    raws, sigs, to_sign, key = await asyncio.to_thread(_corpus, n, 21)
    async with aioultra.Engine() as engine:
        hashes = [s.signing_hash for s in await engine.map(kernels.tx_sender, raws)]
    return _Inputs(raws, list(zip(sigs, hashes, strict=True)), to_sign, [_eip1559(f) for f in to_sign], key)


async def _round(inputs: _Inputs) -> dict[str, float]:
    from coincurve import PrivateKey, PublicKey
    from eth_account import Account

    raws, n = inputs.raws, len(inputs.raws)
    out = {
        "recover_eth_account_us": _per_item_us(lambda: [Account.recover_transaction(r) for r in raws], n),
        "recover_coincurve_us": _per_item_us(
            lambda: [PublicKey.from_signature_and_message(s, m, hasher=None) for s, m in inputs.recoveries], n
        ),
        "tx_sender_1w_us": await _engine_us(1, kernels.tx_sender, raws),
        "tx_sender_2w_us": await _engine_us(2, kernels.tx_sender, raws),
    }
    key, m = inputs.key, len(inputs.to_sign)
    private = PrivateKey(key)
    hashes = [bytes([i % 256]) * 32 for i in range(m)]  # what is signed does not change the cost
    out["sign_eth_account_us"] = _per_item_us(lambda: [Account.sign_transaction(f, key) for f in inputs.to_sign], m)
    out["sign_coincurve_us"] = _per_item_us(lambda: [private.sign_recoverable(h, hasher=None) for h in hashes], m)
    out["sign_tx_1w_us"] = await _engine_us(1, kernels.signer(key), inputs.txs)
    return out


async def run_suite(counts: Counts, progress: Progress | None = None) -> dict[str, Any]:
    """The suite on the running loop: the best of ``counts.rounds`` for each figure."""
    inputs = await _inputs(counts.txs)
    if progress:
        progress.step("eth: corpus")
    rounds = [await _round(inputs) for _ in range(counts.rounds)]
    if progress:
        progress.step("eth: rounds")
    best = {key: min(r[key] for r in rounds) for key in rounds[0]}
    best["tx_sender_x_eth_account"] = best["recover_eth_account_us"] / best["tx_sender_1w_us"]
    best["tx_sender_2w_speedup"] = best["tx_sender_1w_us"] / best["tx_sender_2w_us"]
    best["tx_sender_x_floor"] = best["tx_sender_1w_us"] / best["recover_coincurve_us"]
    best["sign_x_eth_account"] = best["sign_eth_account_us"] / best["sign_tx_1w_us"]
    best["sign_x_floor"] = best["sign_tx_1w_us"] / best["sign_coincurve_us"]
    best["txs"], best["signs"], best["rounds"] = len(inputs.raws), len(inputs.to_sign), counts.rounds
    if progress:
        progress.step("eth: done")
    return best


def print_suite(s: dict[str, Any]) -> None:
    """The suite's table."""
    print(f"\n== signature kernels vs eth-account (us per transaction, best of {s['rounds']} rounds) ==")
    rows = [
        ("Account.recover_transaction", s["recover_eth_account_us"], ""),
        ("coincurve recover (floor)", s["recover_coincurve_us"], ""),
        ("map(tx_sender), 1 worker", s["tx_sender_1w_us"], f"{s['tx_sender_x_eth_account']:.1f}x eth-account's speed"),
        ("map(tx_sender), 2 workers", s["tx_sender_2w_us"], f"{s['tx_sender_2w_speedup']:.2f}x one worker"),
        ("Account.sign_transaction", s["sign_eth_account_us"], ""),
        ("coincurve sign_recoverable (floor)", s["sign_coincurve_us"], ""),
        ("map(signer), 1 worker", s["sign_tx_1w_us"], f"{s['sign_x_eth_account']:.1f}x eth-account's speed"),
    ]
    for name, us, note in rows:
        print(f"{name:36} {us:9.1f}  {note}")
    print(f"({s['txs']} transactions of every type, {s['signs']} EIP-1559 signatures per round)")
