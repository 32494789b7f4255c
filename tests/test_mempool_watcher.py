"""The mempool-watcher example end to end: websocket feed -> engine strategy -> opportunities,
checked against a pure-Python run of the same strategy."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import pytest
from websockets.asyncio.server import ServerConnection, serve

import aioultra
from aioultra import kernels
from examples.mempool_watcher import backrun, fixture
from examples.mempool_watcher.collector import DONE, collect
from examples.mempool_watcher.nonces import NonceBook
from examples.mempool_watcher.pipeline import run
from examples.mempool_watcher.pools import PoolSet
from examples.mempool_watcher.server import load_replay, replay_server, serving
from examples.mempool_watcher.strategy import Item, PythonStrategy

from .helpers import to_thread, wait_for

pytestmark = pytest.mark.asyncio_only("the watcher example is an asyncio (uvloop, websockets) program")

DATA = Path(fixture.DATA)


def opportunity_keys(opportunities: list[Any]) -> set[tuple[str, str, int, int]]:
    return {(o.tx_hash, o.pool, o.size, o.profit) for o in opportunities}


KEY = bytes(range(100, 132))  # the tests' backrun key (the watcher makes a throwaway one)


def python_reference(
    pools: PoolSet, signer_key: bytes | None = None
) -> tuple[set[tuple[str, str, int, int]], PythonStrategy, list[Any]]:
    """The pure-Python strategy over the fixture, in batches of 100: (opportunity keys, the
    strategy with its counters, the opportunities)."""
    strategy = PythonStrategy(pools, signer_key=signer_key)
    found = []
    lines = load_replay(DATA / "pending.jsonl")
    for start in range(0, len(lines), 100):
        items = []
        for line in lines[start : start + 100]:
            obj = json.loads(line)
            items.append(Item(0, bytes.fromhex(obj["raw"][2:]), obj))
        found += strategy.run_batch(items)
    return opportunity_keys(found), strategy, found


async def test_pipeline_over_websocket_matches_pure_python(engine: aioultra.Engine) -> None:
    pools = PoolSet.load(DATA / "pools.json")
    expected, reference, _ = python_reference(pools)
    assert len(expected) > 100  # the fixture has plenty of opportunities
    with replay_server(DATA / "pending.jsonl") as url:
        summary = await wait_for(run(url, pools, "engine", engine=engine), 120)
    assert opportunity_keys(summary.opportunities) == expected
    c, r = summary.counters, reference.counters
    assert c.received == r.received == len(load_replay(DATA / "pending.jsonl"))
    assert c.swaps == r.swaps and c.router_calls == r.router_calls
    assert sum(c.malformed.values()) == sum(r.malformed.values()) > 0  # malformed txs counted and skipped
    assert c.skipped == r.skipped
    assert summary.stages()["total (sent -> batch done)"][0] > 0
    assert engine.stats().queue_size == 0


async def test_inline_and_executor_modes_agree(engine: aioultra.Engine) -> None:
    pools = PoolSet.load(DATA / "pools.json")
    expected, _, _ = python_reference(pools)
    for mode in ("inline", "executor"):
        with replay_server(DATA / "pending.jsonl") as url:
            summary = await wait_for(run(url, pools, mode, limit=4006), 120)
        assert opportunity_keys(summary.opportunities) == expected, mode


async def test_collector_reconnects_after_a_drop() -> None:
    lines = load_replay(DATA / "pending.jsonl")[:300]
    connections = 0

    async def flaky(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.recv()
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "result": "0x1"}))
        part = lines[:100] if connections == 1 else lines[100:]
        for line in part:
            await ws.send(
                '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":' + line + "}}"
            )
        if connections == 1:
            await ws.close()  # the node drops us mid-stream
            return
        await ws.send(json.dumps({"jsonrpc": "2.0", "method": "aioultra_replayDone", "params": {}}))

    async with serve(flaky, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        queue: asyncio.Queue[Any] = asyncio.Queue()
        received = await wait_for(collect(f"ws://127.0.0.1:{port}", queue, max_backoff=0.2), 60)
    assert received == 300 and connections == 2
    hashes = []
    while (entry := queue.get_nowait()) is not DONE:
        hashes.append(entry[1]["hash"])
    assert hashes == [json.loads(line)["hash"] for line in lines]


async def test_garbage_feed_is_counted_not_fatal(engine: aioultra.Engine) -> None:
    pools = PoolSet.load(DATA / "pools.json")
    txs = [json.dumps({"hash": "0x" + "11" * 32, "raw": "0x" + bytes([i % 256]).hex() * (i % 40)}) for i in range(300)]
    txs.append(json.dumps({"hash": "0x" + "22" * 32, "raw": "0xnothex"}))
    async with serving(txs) as url:
        summary = await wait_for(run(url, pools, "engine", engine=engine), 60)
    c = summary.counters
    assert c.received == 301
    assert sum(c.malformed.values()) + c.decoded == 301
    assert c.malformed["raw is not hex"] == 1
    assert not summary.opportunities
    assert await wait_for(engine.submit(aioultra.kernels.noop)) == b""


def test_fixture_is_reproducible(tmp_path: Path) -> None:
    fixture.main(["--out", str(tmp_path)])
    for name in ("pools.json", "pending.jsonl"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_bad_mode_rejected() -> None:
    pools = PoolSet.load(DATA / "pools.json")
    with pytest.raises(ValueError, match="mode must be one of"):
        asyncio.run(run("ws://127.0.0.1:9", pools, "gpu"))


async def test_pricing_past_its_deadline_is_dropped(engine: aioultra.Engine) -> None:
    pools = PoolSet.load(DATA / "pools.json")
    with replay_server(DATA / "pending.jsonl") as url:
        summary = await wait_for(run(url, pools, "engine", engine=engine, deadline_us=0), 120)
    dropped = summary.counters.skipped["pricing deadline passed (deadline_us)"]
    assert dropped > 0
    assert not summary.opportunities  # nothing priced late is reported
    assert engine.stats().tasks_expired > 0


async def test_watcher_serves_metrics_while_it_runs() -> None:
    """``--metrics-port``: the watcher (a child process) serves its engine's metrics; scraped
    while the feed holds after its first burst, parsed with prometheus_client's parser."""
    from prometheus_client.parser import text_string_to_metric_families

    lines = load_replay(DATA / "pending.jsonl")[:400]
    gate = asyncio.Event()
    root = Path(__file__).resolve().parent.parent
    async with serving(lines, burst=200, gate=gate) as url:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "examples.mempool_watcher", "--ws", url, "--quiet", "--metrics-port", "0",
            cwd=root, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            first = (await wait_for(proc.stdout.readline(), 60)).decode()
            while not first.startswith("# metrics: "):  # the engine's log lines come first
                assert first, "the watcher exited without serving metrics"
                first = (await wait_for(proc.stdout.readline(), 60)).decode()
            metrics_url = first.split(" ", 2)[2].strip()
            assert metrics_url.startswith("http://127.0.0.1:")
            submitted = 0.0
            for _ in range(600):  # the first burst's 200 transactions reach the engine (30 s at most)
                body = await to_thread(lambda: urllib.request.urlopen(metrics_url, timeout=10).read().decode())
                families = {f.name: f for f in text_string_to_metric_families(body)}
                submitted = families["aioultra_tasks_submitted"].samples[0].value
                if submitted >= 200:
                    break
                await anyio.sleep(0.05)  # polling another process: there is no event to wait on
            assert submitted >= 200
            kinds = {s.labels["kernel"] for s in families["aioultra_kernel_tasks"].samples}
            assert "rlp_tx" in kinds or "univ2_backrun" in kinds, kinds
            assert "aioultra_task_run_seconds" in families
        finally:
            gate.set()
            out, _ = await wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, out.decode()[-2000:]


def fixture_nonces() -> NonceBook:
    """The fixture's own record of who sent what (its "from" and "nonce" fields), for the
    transactions with a valid signature, in feed order."""
    book = NonceBook()
    for line in load_replay(DATA / "pending.jsonl"):
        obj = json.loads(line)
        if "from" in obj:
            book.observe(bytes.fromhex(obj["from"][2:]), int(obj["nonce"], 16))
    return book


async def test_senders_nonces_and_signed_backruns(engine: aioultra.Engine) -> None:
    """The engine recovers every sender the fixture signed with (its nonce gaps and replacements
    counted as the fixture made them), signs one backrun per opportunity, and agrees with the
    Python reference (coincurve) on all of it."""
    pools = PoolSet.load(DATA / "pools.json")
    expected, reference, py_found = python_reference(pools, KEY)
    with replay_server(DATA / "pending.jsonl") as url:
        summary = await wait_for(run(url, pools, "engine", engine=engine, signer_key=KEY), 120)
    c, r, truth = summary.counters, reference.counters, fixture_nonces()
    assert opportunity_keys(summary.opportunities) == expected
    assert (c.senders, c.nonce_gaps, c.nonces_missing, c.replacements) == (
        r.senders, r.nonce_gaps, r.nonces_missing, r.replacements,
    )  # fmt: skip
    # the fixture's senders plus the mainnet vectors' (one sender each); its gaps and replacements
    assert truth.senders < c.senders <= truth.senders + 6
    assert (c.nonce_gaps, c.replacements) == (truth.gaps, truth.replacements) and truth.gaps > 50 < truth.replacements
    assert c.malformed["bad signature: s is above half the curve order, which transactions forbid (EIP-2)"] > 0
    assert sum(c.malformed.values()) == sum(r.malformed.values())
    assert c.backruns_signed == len(summary.opportunities) == r.backruns_signed
    signer = kernels.signer(KEY)
    raws = [o.backrun_raw for o in summary.opportunities]
    senders = await wait_for(engine.map(kernels.tx_sender, raws))
    records = await wait_for(engine.map(kernels.rlp_tx, raws))
    assert {s.sender for s in senders} == {signer.address}
    assert sorted(rec.nonce for rec in records) == list(range(len(raws)))  # each nonce once
    by_victim = {o.tx_hash: o for o in summary.opportunities}
    for o, rec, s in zip(summary.opportunities, records, senders, strict=True):
        assert rec.to == backrun.EXECUTOR and rec.tx_type == 2 and s.hash == o.backrun_hash == rec.hash
        assert rec.data == backrun.calldata(
            bytes.fromhex(o.pool[2:]), bytes.fromhex(o.victim_pool[2:]), rec.data[80:100], o.size, o.size + o.profit
        )
        line = o.as_dict()
        assert line["bundle"][1] == "0x" + o.backrun_raw.hex() and line["backrun_tx"] == "0x" + o.backrun_hash.hex()
        assert o.victim_raw is not None and line["bundle"][0] == "0x" + o.victim_raw.hex()
    # the Python reference signs the same calls (its nonces follow its own order)
    assert {o.tx_hash: o.calldata for o in py_found} == {h: o.calldata for h, o in by_victim.items()}


async def test_python_signing_matches_the_kernel(engine: aioultra.Engine) -> None:
    pools = PoolSet.load(DATA / "pools.json")
    _, reference, _ = python_reference(pools)
    signer = kernels.signer(KEY)
    victim = kernels.TxRecord(2, bytes(32), 5, 21000, 1, backrun.EXECUTOR, 0, 30 * 10**9, 2 * 10**9, b"", b"")
    for nonce, data in [(0, b""), (7, backrun.calldata(b"\x01" * 20, b"\x02" * 20, b"\x03" * 20, 10**18, 10**18 + 5))]:
        tx = backrun.transaction(victim, nonce, data)
        signed = await wait_for(engine.submit(signer, tx))
        assert backrun.sign_py(KEY, tx) == (signed.hash, signed.raw)
    assert reference.counters.backruns_signed == 0  # no key, no signing


async def test_without_senders_nothing_is_recovered_or_signed(engine: aioultra.Engine) -> None:
    pools = PoolSet.load(DATA / "pools.json")
    with replay_server(DATA / "pending.jsonl") as url:
        summary = await wait_for(run(url, pools, "engine", engine=engine, senders=False), 120)
    c = summary.counters
    assert (c.senders, c.nonce_gaps, c.replacements, c.backruns_signed) == (0, 0, 0, 0)
    assert not any(o.backrun_raw for o in summary.opportunities) and summary.opportunities
    assert "bad signature" not in " ".join(c.malformed)  # signatures are not checked then


def test_nonce_book() -> None:
    book = NonceBook()
    a, b = b"a" * 20, b"b" * 20
    for sender, nonce in [(a, 5), (a, 6), (a, 9), (a, 9), (a, 7), (b, 0), (a, 6), (b, 3), (a, 10)]:
        book.observe(sender, nonce)
    assert (book.senders, book.gaps, book.missing, book.replacements) == (2, 2, 4, 2)


async def test_watcher_prints_signed_bundles(engine: aioultra.Engine) -> None:
    """The watcher (a child process) prints one bundle line per opportunity: the victim's raw
    transaction and a backrun signed by the throwaway account it announced."""
    root = Path(__file__).resolve().parent.parent
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "examples.mempool_watcher", "--limit", "600",
        cwd=root, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await wait_for(proc.communicate(), 120)
    assert proc.returncode == 0
    lines = out.decode().splitlines()
    account = next(x for x in lines if x.startswith("# backruns signed by the throwaway account "))
    address = bytes.fromhex(account.rsplit("0x", 1)[1])
    bundles = [json.loads(x) for x in lines if x.startswith("{")]
    assert bundles and all(len(b["bundle"]) == 2 for b in bundles)
    backruns = [bytes.fromhex(b["bundle"][1][2:]) for b in bundles]
    senders = await wait_for(engine.map(kernels.tx_sender, backruns))
    assert {s.sender for s in senders} == {address}
    assert [s.hash.hex() for s in senders] == [b["backrun_tx"][2:] for b in bundles]
    victims = await wait_for(engine.map(kernels.rlp_tx, [bytes.fromhex(b["bundle"][0][2:]) for b in bundles]))
    assert [v.hash.hex() for v in victims] == [b["tx"][2:] for b in bundles]
    assert any(x.startswith("# senders ") for x in lines)
