"""The strategy: decode pending transactions and recover their senders (tracking each sender's
nonces), recognise Uniswap V2 router swaps, price the victim swap and the best backrun across
the pool set, and sign a backrun transaction for each opportunity (dry run).

The stages are shared; only the CPU-heavy steps have two implementations:

- :class:`EngineStrategy` runs decoding (RLP + keccak), sender recovery, all AMM math and the
  signing on an aioultra Engine, in batches (``engine.map``) on native kernels, without the GIL;
- :class:`PythonStrategy` does the same in Python (the reference: pycryptodome keccak, the
  plain-Python RLP decoder, coincurve for recovery and signing, Python-int AMM math), inline on
  the loop or in an executor.

Both produce the same opportunities and counts for the same input (tested).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import aioultra
from aioultra import kernels

from . import backrun
from .ethcodec import ROUTER_V2, RLPError, Swap, Tx, decode_swap, decode_tx, recover_sender
from .nonces import NonceBook
from .pools import VICTIM_DEX, Pool, PoolSet

Sender = tuple[bytes, int] | None  # (address, nonce) of a decoded transaction, when known


class BatchRunner(Protocol):
    """What the engine strategy runs its batches on: an ``aioultra.Engine``, or anything with
    the same ``map`` (e.g. an ``aioultra.cluster.Cluster`` with a batch size: examples.backtest)."""

    async def map(self, target: Any, items: Sequence[Any], /, **options: Any) -> list[Any]: ...


@dataclass
class Item:
    """One pending transaction on its way through the pipeline. ``origin_ns``: when the feed sent
    it (replay server) or when it was received (perf_counter_ns clock)."""

    origin_ns: int
    raw: bytes | None
    obj: dict[str, Any]
    tx: Tx | None = None
    decoded_ns: int = 0
    priced_ns: int = 0


@dataclass(frozen=True)
class Opportunity:
    """A profitable backrun of a victim swap."""

    tx_hash: str
    function: str
    victim_pool: str
    pool: str
    dex: str
    token: str
    size: int
    profit: int
    victim: Tx | None = field(default=None, compare=False, repr=False)
    victim_raw: bytes | None = field(default=None, compare=False, repr=False)
    calldata: bytes = field(default=b"", compare=False, repr=False)  # the backrun's call
    backrun_hash: bytes = field(default=b"", compare=False, repr=False)  # once signed
    backrun_raw: bytes = field(default=b"", compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (amounts as decimal strings: they exceed 2**53); with the signed
        backrun, ``bundle`` is [victim (raw, or its hash when the feed sent no raw), backrun raw]."""
        out: dict[str, Any] = {
            "tx": self.tx_hash,
            "function": self.function,
            "victim_pool": self.victim_pool,
            "pool": self.pool,
            "dex": self.dex,
            "token": self.token,
            "size": str(self.size),
            "profit": str(self.profit),
        }
        if self.backrun_raw:
            victim = "0x" + self.victim_raw.hex() if self.victim_raw else self.tx_hash
            out["bundle"] = [victim, "0x" + self.backrun_raw.hex()]
            out["backrun_tx"] = "0x" + self.backrun_hash.hex()
        return out


@dataclass(frozen=True)
class Plan:
    """A recognised victim swap on its Uniswap V2 pool."""

    item: Item
    swap: Swap
    victim: Pool
    token_in: bytes
    token_out: bytes
    r_in: int
    r_out: int


@dataclass
class Counters:
    """What happened to each transaction."""

    received: int = 0
    decoded: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    router_calls: int = 0
    swaps: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    opportunities: int = 0
    senders: int = 0  # distinct senders seen
    nonce_gaps: int = 0  # a sender's nonce jumped past the next expected one
    nonces_missing: int = 0  # nonces those jumps skipped
    replacements: int = 0  # a (sender, nonce) seen again
    backruns_signed: int = 0


def tx_from_json(obj: dict[str, Any]) -> Tx:
    """A Tx from a node's JSON transaction object (when it does not send the raw RLP)."""

    def num(key: str, default: str = "0x0") -> int:
        return int(obj.get(key) or default, 16)

    to = obj.get("to")
    price = num("maxFeePerGas", obj.get("gasPrice") or "0x0")
    return Tx(
        tx_type=num("type"),
        hash=bytes.fromhex(obj["hash"][2:]),
        nonce=num("nonce"),
        gas_limit=num("gas"),
        chain_id=num("chainId"),
        to=bytes.fromhex(to[2:]) if to else None,
        value=num("value"),
        max_fee=price,
        max_priority_fee=num("maxPriorityFeePerGas", obj.get("gasPrice") or "0x0"),
        data=bytes.fromhex((obj.get("input") or "0x")[2:]),
        payload=b"",  # not sent by the node
    )


def plan(item: Item, pools: PoolSet, now: int, counters: Counters) -> Plan | None:
    """The victim swap in item's transaction, or None (counted as skipped with a reason)."""
    tx = item.tx
    if tx is None or tx.to != ROUTER_V2:
        return None
    counters.router_calls += 1
    try:
        swap = decode_swap(tx.data, tx.value)
    except ValueError:
        counters.skipped["malformed calldata"] += 1
        return None
    if swap is None:
        counters.skipped["router call that is not a swap"] += 1
        return None
    counters.swaps += 1
    if len(swap.path) != 2:
        counters.skipped["multi-hop path"] += 1
        return None
    if swap.deadline < now:
        counters.skipped["swap deadline passed"] += 1
        return None
    token_in, token_out = swap.path
    victims = [p for p in pools.on_pair(token_in, token_out) if p.dex == VICTIM_DEX]
    if not victims:
        counters.skipped["no pool for the pair"] += 1
        return None
    victim = victims[0]
    r_in, r_out = victim.reserves(token_in)
    return Plan(item, swap, victim, token_in, token_out, r_in, r_out)


def victim_request(p: Plan) -> tuple[int, int, int]:
    """(amount, reserve_in, reserve_out) for getAmountOut (exact in) or getAmountIn (exact out)."""
    return p.swap.amount, p.r_in, p.r_out


def backrun_requests(p: Plan, amount_in: int, amount_out: int, pools: PoolSet) -> list[tuple[Pool, tuple[int, ...]]]:
    """After the victim moved its pool, buy token_out on another pool and sell it into the
    victim's pool: (pool, (p_in, p_out, q_in, q_out, max_in)) per candidate pool."""
    post_in, post_out = p.r_in + amount_in, p.r_out - amount_out
    out: list[tuple[Pool, tuple[int, ...]]] = []
    for q in pools.on_pair(p.token_in, p.token_out):
        if q is p.victim:
            continue
        q_in, q_out = q.reserves(p.token_in)
        out.append((q, (q_in, q_out, post_out, post_in, q_in)))
    return out


def select(p: Plan, candidates: list[tuple[Pool, tuple[int, int]]], pools: PoolSet) -> Opportunity | None:
    """The most profitable backrun (ties: the first pool in file order)."""
    best: tuple[Pool, int, int] | None = None
    for pool, (size, profit) in candidates:
        if profit > 0 and (best is None or profit > best[2]):
            best = (pool, size, profit)
    if best is None:
        return None
    pool, size, profit = best
    tx = p.item.tx
    assert tx is not None
    # buy token_out on the backrun pool with token_in, sell it back into the victim's pool
    data = backrun.calldata(pool.address, p.victim.address, p.token_in, size, size + profit)
    return Opportunity(
        tx_hash="0x" + tx.hash.hex(),
        function=p.swap.function,
        victim_pool="0x" + p.victim.address.hex(),
        pool="0x" + pool.address.hex(),
        dex=pool.dex,
        token=pools.symbol(p.token_in),
        size=size,
        profit=profit,
        victim=tx,
        victim_raw=p.item.raw,
        calldata=data,
    )


def json_sender(obj: dict[str, Any]) -> Sender:
    """(from, nonce) of a node's JSON transaction object, when it has both."""
    try:
        return bytes.fromhex(obj["from"][2:]), int(obj["nonce"], 16)
    except (KeyError, TypeError, ValueError):
        return None


class _Base:
    """The state both strategies share. ``senders``: recover each sender and track its nonces;
    ``signer_key``: sign a backrun per opportunity with it (None: no signing)."""

    def __init__(
        self, pools: PoolSet, now: int | None = None, *, senders: bool = True, signer_key: bytes | None = None
    ) -> None:
        self.pools = pools
        self.now = pools.timestamp if now is None else now
        self.counters = Counters()
        self.senders = senders
        self.signer_key = signer_key
        self.nonces = NonceBook()
        self._backrun_nonce = 0
        self._batches = 0  # batches started (their sequence numbers, in feed order)
        self._applied = 0  # batches whose senders the nonce book has seen
        self._ready: dict[int, Sequence[Sender]] = {}

    def _start(self, items: Sequence[Item]) -> int:
        """Count a batch in (before its first await: batches start in feed order); its number."""
        self.counters.received += len(items)
        self._batches += 1
        return self._batches - 1

    def _decoded(self, items: Sequence[Item], results: Sequence[Tx | str | None]) -> None:
        """Record decoding results: a Tx, None (decoded, of no interest), or why it is malformed."""
        now = time.perf_counter_ns()
        for item, r in zip(items, results, strict=True):
            item.decoded_ns = now
            if isinstance(r, str):
                self.counters.malformed[r] += 1
            else:
                item.tx = r
                self.counters.decoded += 1

    def _observe(self, batch: int, senders: Sequence[Sender]) -> None:
        """Give the nonce book a batch's (sender, nonce) pairs in feed order: a batch decoded
        before an earlier one (the engine runs several at once) waits for it."""
        self._ready[batch] = senders
        while self._applied in self._ready:
            for sender in self._ready.pop(self._applied):
                if sender is not None:
                    self.nonces.observe(*sender)
            self._applied += 1
        c, book = self.counters, self.nonces
        c.senders, c.nonce_gaps, c.nonces_missing = book.senders, book.gaps, book.missing
        c.replacements = book.replacements

    def _backruns(self, found: Sequence[Opportunity]) -> list[Any]:
        """The backrun transactions to sign, one per opportunity, with our next nonces."""
        txs = []
        for o in found:
            assert o.victim is not None
            txs.append(backrun.transaction(o.victim, self._backrun_nonce, o.calldata))
            self._backrun_nonce += 1
        return txs

    def _signed(self, found: Sequence[Opportunity], signed: Sequence[tuple[bytes, bytes]]) -> list[Opportunity]:
        self.counters.backruns_signed += len(signed)
        return [replace(o, backrun_hash=h, backrun_raw=raw) for o, (h, raw) in zip(found, signed, strict=True)]

    def _priced(self, plans: Sequence[Plan], outcomes: Sequence[Opportunity | str | None]) -> list[Opportunity]:
        now = time.perf_counter_ns()
        found = []
        for p, o in zip(plans, outcomes, strict=True):
            p.item.priced_ns = now
            if isinstance(o, str):
                self.counters.skipped[o] += 1
            elif o is not None:
                found.append(o)
        self.counters.opportunities += len(found)
        return found

    def _victim_outcome(self, p: Plan, result: int | str) -> tuple[int, int] | str:
        """(amount_in, amount_out) of the victim, or why it is skipped."""
        if isinstance(result, str):
            return result
        if p.swap.exact_in:
            return (p.swap.amount, result) if result >= p.swap.limit else "victim would revert (slippage)"
        return (result, p.swap.amount) if result <= p.swap.limit else "victim would revert (slippage)"


class PythonStrategy(_Base):
    """The reference strategy in plain Python (synchronous: run it inline or in an executor)."""

    def decode(self, items: Sequence[Item]) -> list[Sender]:
        """RLP-decode and hash each item's raw transaction and recover its sender (or read its
        JSON fields); the senders (None for the malformed)."""
        results: list[Tx | str | None] = []
        senders: list[Sender] = []
        for item in items:
            if item.raw is None:
                results.append(tx_from_json(item.obj))
                senders.append(json_sender(item.obj) if self.senders else None)
                continue
            try:
                tx = decode_tx(item.raw)
                senders.append((recover_sender(item.raw), tx.nonce) if self.senders else None)
                results.append(tx)
            except RLPError as exc:
                results.append(exc.reason)
                senders.append(None)
        self._decoded(items, results)
        return senders

    def run_batch(self, items: Sequence[Item]) -> list[Opportunity]:
        """All stages for one batch; returns the opportunities found."""
        batch = self._start(items)
        senders: list[Sender] = []
        try:
            senders = self.decode(items)
        finally:
            self._observe(batch, senders)
        plans = [p for item in items if (p := plan(item, self.pools, self.now, self.counters)) is not None]
        outcomes: list[Opportunity | str | None] = []
        for p in plans:
            fn = kernels.univ2_amount_out_py if p.swap.exact_in else kernels.univ2_amount_in_py
            try:
                amount: int | str = fn(*victim_request(p))
            except aioultra.KernelError:
                amount = "victim would revert (pool math)"
            victim = self._victim_outcome(p, amount)
            if isinstance(victim, str):
                outcomes.append(victim)
                continue
            candidates = [(q, kernels.univ2_backrun_py(*req)) for q, req in backrun_requests(p, *victim, self.pools)]
            outcomes.append(select(p, candidates, self.pools))
        found = self._priced(plans, outcomes)
        if self.signer_key is None or not found:
            return found
        key = self.signer_key
        return self._signed(found, [backrun.sign_py(key, tx) for tx in self._backruns(found)])


class EngineStrategy(_Base):
    """The strategy on an aioultra Engine: every CPU-heavy step is a native kernel run in batches."""

    def __init__(
        self,
        engine: aioultra.Engine | BatchRunner,
        pools: PoolSet,
        now: int | None = None,
        deadline_us: float | None = None,
        *,
        senders: bool = True,
        signer_key: bytes | None = None,
    ) -> None:
        super().__init__(pools, now, senders=senders, signer_key=signer_key)
        self.engine = engine
        self.deadline_us = deadline_us
        self.signer = kernels.signer(signer_key) if signer_key is not None else None

    async def decode(self, items: Sequence[Item]) -> list[Sender]:
        """Decode the raw transactions with the rlp_tx kernel (RLP + keccak) and recover their
        senders with tx_sender, one batch each, side by side; the senders (None for the
        malformed)."""
        raw_items = [i for i in items if i.raw is not None]
        raws = [i.raw for i in raw_items]
        # raw=True: the records, so only router calls pay for a full TxRecord
        decoding = self.engine.map(kernels.rlp_tx, raws, return_exceptions=True, raw=True)
        if self.senders:
            recovering = self.engine.map(kernels.tx_sender, raws, return_exceptions=True, raw=True)
            records, recovered = await asyncio.gather(decoding, recovering)
        else:
            records, recovered = await decoding, [None] * len(raws)
        by_item: dict[int, tuple[Tx | str | None, Sender]] = {}
        for item, rec, snd in zip(raw_items, records, recovered, strict=True):
            if isinstance(rec, aioultra.KernelError):
                by_item[id(item)] = kernels.describe_error(rec.code), None
                continue
            if isinstance(snd, aioultra.KernelError):  # well-formed, but a signature no node accepts
                by_item[id(item)] = kernels.describe_error(snd.code), None
                continue
            sender = (bytes(snd[72:92]), int.from_bytes(rec[8:16], "little")) if snd is not None else None
            if rec[1] and rec[160:180] == ROUTER_V2:  # has_to and to: only router calls need every field
                assert item.raw is not None
                by_item[id(item)] = kernels.TxRecord.from_record(rec, item.raw), sender
            else:
                by_item[id(item)] = None, sender  # decoded and checked by the kernel; not for this strategy
        results: list[Tx | str | None] = []
        senders: list[Sender] = []
        for i in items:
            if i.raw is not None:
                result, sender = by_item[id(i)]
            else:
                result, sender = tx_from_json(i.obj), json_sender(i.obj) if self.senders else None
            results.append(result)
            senders.append(sender if not isinstance(result, str) else None)
        self._decoded(items, results)
        return senders

    async def _amm(self, kernel: aioultra.Kernel[Any], requests: list[tuple[int, ...]]) -> list[Any]:
        if not requests:
            return []
        # each request is the kernel's argument tuple; results come back decoded (ints)
        return await self.engine.map(kernel, requests, return_exceptions=True, deadline_us=self.deadline_us)

    async def run_batch(self, items: Sequence[Item]) -> list[Opportunity]:
        """All stages for one batch; returns the opportunities found. If the engine cannot start
        the pricing within ``deadline_us`` the batch's swaps are dropped (counted)."""
        batch = self._start(items)
        senders: list[Sender] = []
        try:
            senders = await self.decode(items)
        finally:
            self._observe(batch, senders)
        plans = [p for item in items if (p := plan(item, self.pools, self.now, self.counters)) is not None]
        try:
            found = await self._price(plans)
        except aioultra.DeadlineExceeded:
            return self._priced(plans, ["pricing deadline passed (deadline_us)"] * len(plans))
        if self.signer is None or not found:
            return found
        signed = await self.engine.map(self.signer, self._backruns(found))
        return self._signed(found, [(s.hash, s.raw) for s in signed])

    async def _price(self, plans: list[Plan]) -> list[Opportunity]:
        exact_in = [p for p in plans if p.swap.exact_in]
        exact_out = [p for p in plans if not p.swap.exact_in]
        outs, ins = await asyncio.gather(
            self._amm(kernels.univ2_amount_out, [victim_request(p) for p in exact_in]),
            self._amm(kernels.univ2_amount_in, [victim_request(p) for p in exact_out]),
        )
        victims: dict[int, tuple[int, int] | str] = {}
        for group, results in ((exact_in, outs), (exact_out, ins)):
            for p, r in zip(group, results, strict=True):
                amount = "victim would revert (pool math)" if isinstance(r, Exception) else r
                victims[id(p)] = self._victim_outcome(p, amount)
        requests: list[tuple[int, ...]] = []
        owners: list[tuple[Plan, Pool]] = []
        for p in plans:
            v = victims[id(p)]
            if isinstance(v, str):
                continue
            for q, req in backrun_requests(p, *v, self.pools):
                requests.append(req)
                owners.append((p, q))
        results = await self._amm(kernels.univ2_backrun, requests)
        candidates: dict[int, list[tuple[Pool, tuple[int, int]]]] = {id(p): [] for p in plans}
        for (p, q), r in zip(owners, results, strict=True):
            if not isinstance(r, Exception):
                candidates[id(p)].append((q, r))
        outcomes: list[Opportunity | str | None] = []
        for p in plans:
            v = victims[id(p)]
            outcomes.append(v if isinstance(v, str) else select(p, candidates[id(p)], self.pools))
        return self._priced(plans, outcomes)
