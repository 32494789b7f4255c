"""The Ethereum kernels: rlp_tx, univ2_amount_out, univ2_amount_in, univ2_backrun (and keccak256
vectors incl. function selectors).

- Known answers from tests/data: keccak256.json, transactions.json (hash and fields of real
  mainnet transactions, one wrapped in an RLP string), uniswap_v2.json.
- Property tests against plain-Python references: random legacy / EIP-2930 / EIP-1559
  transactions built with the RLP encoder below; a step-by-step Python twin of
  csrc/kernels/rlp_tx.c (``ref_decode``) gives the exact record or error code for any bytes
  (random, mutated, structured garbage); the AMM kernels against ``univ2_*_py``.
- Malformed inputs (every truncation, trailing bytes, non-canonical encodings, wrong types and
  shapes) give the documented code through ``submit`` (KernelError.code) and ``map``
  (KernelError.index), and the engine keeps serving.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aioultra
from aioultra import _ffi, kernels
from aioultra.kernels import TxRecord, decode_u256, encode_u256

from .helpers import gather, wait_for

DATA = Path(__file__).resolve().parent / "data"
TX_DATA = json.loads((DATA / "transactions.json").read_text())["transactions"]
KECCAK_DATA = json.loads((DATA / "keccak256.json").read_text())["vectors"]
UNIV2_DATA = json.loads((DATA / "uniswap_v2.json").read_text())["cases"]

TRUNCATED, NONCANONICAL, TX_TYPE, TX_FIELD, TRAILING = -10, -11, -12, -13, -14
AMM_INPUT, AMM_LIQUIDITY, AMM_OVERFLOW = -20, -21, -22


BACKENDS = 3  # each async test runs on asyncio, uvloop and trio, each run drawing its own examples


def hyp(examples: int) -> settings:
    """Hypothesis settings for async tests sharing the (function-scoped) engine fixture:
    ``examples`` in all, spread over the backends' runs (each draws its own)."""
    return settings(
        max_examples=max(1, examples // BACKENDS),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


# --- plain-Python RLP encoder ------------------------------------------------------------

RlpItem = bytes | list[Any]


def int_bytes(n: int) -> bytes:
    """Canonical RLP integer payload: big-endian, no leading zeros (0 -> b"")."""
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def rlp_header(length: int, offset: int) -> bytes:
    if length <= 55:
        return bytes([offset + length])
    n = int_bytes(length)
    return bytes([offset + 55 + len(n)]) + n


def rlp_string(b: bytes) -> bytes:
    if len(b) == 1 and b[0] < 0x80:
        return b
    return rlp_header(len(b), 0x80) + b


def rlp_list_raw(encoded_items: list[bytes]) -> bytes:
    """A list from already-encoded items (so tests can put malformed items in)."""
    body = b"".join(encoded_items)
    return rlp_header(len(body), 0xC0) + body


def rlp_encode(item: RlpItem) -> bytes:
    if isinstance(item, bytes):
        return rlp_string(item)
    return rlp_list_raw([rlp_encode(x) for x in item])


def enc_int(n: int) -> bytes:
    return rlp_string(int_bytes(n))


AccessList = list[tuple[bytes, list[bytes]]]


def access_list_item(al: AccessList) -> list[Any]:
    return [[addr, list(keys)] for addr, keys in al]


def build_tx(
    tx_type: int,
    *,
    nonce: int = 0,
    gas_price: int = 0,
    max_fee: int = 0,
    max_prio: int = 0,
    gas: int = 21000,
    to: bytes | None = None,
    value: int = 0,
    data: bytes = b"",
    v: int = 27,
    chain_id: int = 1,
    access_list: AccessList | None = None,
    y_parity: int = 0,
    r: int = 1,
    s: int = 1,
    blob_fee: int = 0,
    blob_hashes: list[bytes] | None = None,
    authorizations: list[tuple[int, bytes, int, int, int, int]] | None = None,
) -> list[bytes]:
    """The encoded items of a transaction's field list, in order (see tx_bytes). Types 3 and 4
    need a ``to``; their lists default to one entry."""
    to_b = rlp_string(to or (b"\x55" * 20 if tx_type >= 3 else b""))
    al = rlp_encode(access_list_item(access_list or []))
    head = [enc_int(nonce)] if tx_type == 0 else [enc_int(chain_id), enc_int(nonce)]
    fees = [enc_int(max_prio), enc_int(max_fee)] if tx_type >= 2 else [enc_int(gas_price)]
    body = [enc_int(gas), to_b, enc_int(value), rlp_string(data)]
    if tx_type == 0:
        tail = [enc_int(v)]
    elif tx_type == 3:
        hashes = rlp_encode([h for h in (blob_hashes if blob_hashes is not None else [b"\x01" * 32])])
        tail = [al, enc_int(blob_fee), hashes, enc_int(y_parity)]
    elif tx_type == 4:
        auths = authorizations if authorizations is not None else [(1, b"\x66" * 20, 0, 0, 1, 1)]
        tail = [al, rlp_list_raw([auth_item(*a) for a in auths]), enc_int(y_parity)]
    else:
        tail = [al, enc_int(y_parity)]
    return [*head, *fees, *body, *tail, enc_int(r), enc_int(s)]


def auth_item(chain_id: int, address: bytes, nonce: int, y_parity: int, r: int, s: int) -> bytes:
    """One encoded EIP-7702 authorization tuple."""
    return rlp_list_raw(
        [enc_int(chain_id), rlp_string(address), enc_int(nonce), enc_int(y_parity), enc_int(r), enc_int(s)]
    )


def tx_bytes(tx_type: int, items: list[bytes], wrap: bool = False) -> bytes:
    """Raw transaction from encoded field items: legacy list, or type byte || list; ``wrap``
    puts a typed one in an RLP byte string."""
    payload = rlp_list_raw(items) if tx_type == 0 else bytes([tx_type]) + rlp_list_raw(items)
    return rlp_string(payload) if wrap else payload


# --- Python twin of csrc/kernels/rlp_tx.c (same steps, same error order) -------------------


class Reject(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def ref_item(buf: bytes, pos: int, end: int) -> tuple[int, int, int, bool]:
    """(payload offset, payload length, item end, is_list) of the item at buf[pos] within end."""
    if pos >= end:
        raise Reject(TRUNCATED)
    b = buf[pos]
    avail = end - pos - 1
    if b < 0x80:
        return pos, 1, pos + 1, False
    is_list = b >= 0xC0
    short = b - (0xC0 if is_list else 0x80)
    if short <= 55:
        hdr, length = 1, short
        if length > avail:
            raise Reject(TRUNCATED)
        if not is_list and length == 1 and buf[pos + 1] < 0x80:
            raise Reject(NONCANONICAL)
    else:
        lenlen = short - 55
        if lenlen > avail:
            raise Reject(TRUNCATED)
        if buf[pos + 1] == 0:
            raise Reject(NONCANONICAL)
        length = int.from_bytes(buf[pos + 1 : pos + 1 + lenlen], "big")
        if length < 56:
            raise Reject(NONCANONICAL)
        hdr = 1 + lenlen
        if length > avail - lenlen:
            raise Reject(TRUNCATED)
    return pos + hdr, length, pos + hdr + length, is_list


LEGACY_KINDS = ["u64:nonce", "u256:price", "u64:gas", "to", "u256:value", "bytes", "u256:v", "u256", "u256"]
EIP2930_KINDS = ["u64:chain", "u64:nonce", "u256:price", "u64:gas", "to", "u256:value", "bytes", "access"]
EIP2930_KINDS += ["parity", "u256", "u256"]
EIP1559_KINDS = ["u64:chain", "u64:nonce", "u256:prio", "u256:fee", "u64:gas", "to", "u256:value", "bytes"]
EIP1559_KINDS += ["access", "parity", "u256", "u256"]
EIP4844_KINDS = ["u64:chain", "u64:nonce", "u256:prio", "u256:fee", "u64:gas", "to20", "u256:value", "bytes"]
EIP4844_KINDS += ["access", "u256:blobfee", "blobs", "parity", "u256", "u256"]
EIP7702_KINDS = ["u64:chain", "u64:nonce", "u256:prio", "u256:fee", "u64:gas", "to20", "u256:value", "bytes"]
EIP7702_KINDS += ["access", "auth", "parity", "u256", "u256"]
KINDS = {0: LEGACY_KINDS, 1: EIP2930_KINDS, 2: EIP1559_KINDS, 3: EIP4844_KINDS, 4: EIP7702_KINDS}


def ref_int(buf: bytes, item: tuple[int, int, int, bool], max_len: int) -> int:
    off, length, _, is_list = item
    if is_list or length > max_len:
        raise Reject(TX_FIELD)
    if length > 0 and buf[off] == 0:
        raise Reject(NONCANONICAL)
    return int.from_bytes(buf[off : off + length], "big")


def ref_access_list(buf: bytes, item: tuple[int, int, int, bool]) -> None:
    off, _, end, is_list = item
    if not is_list:
        raise Reject(TX_FIELD)
    pos = off
    while pos < end:
        e_off, e_len, e_end, e_list = ref_item(buf, pos, end)
        if not e_list or e_len == 0:
            raise Reject(TX_FIELD)
        _, a_len, a_end, a_list = ref_item(buf, e_off, e_end)
        if a_list or a_len != 20 or a_end == e_end:
            raise Reject(TX_FIELD)
        k_off, _, k_end, k_list = ref_item(buf, a_end, e_end)
        if not k_list or k_end != e_end:
            raise Reject(TX_FIELD)
        kpos = k_off
        while kpos < k_end:
            _, key_len, kpos, key_list = ref_item(buf, kpos, k_end)
            if key_list or key_len != 32:
                raise Reject(TX_FIELD)
        pos = e_end


def ref_blobs(buf: bytes, item: tuple[int, int, int, bool]) -> None:
    off, length, end, is_list = item
    if not is_list or length == 0:
        raise Reject(TX_FIELD)
    pos = off
    while pos < end:
        _, h_len, pos, h_list = ref_item(buf, pos, end)
        if h_list or h_len != 32:
            raise Reject(TX_FIELD)


def ref_auths(buf: bytes, item: tuple[int, int, int, bool]) -> None:
    off, length, end, is_list = item
    if not is_list or length == 0:
        raise Reject(TX_FIELD)
    pos = off
    while pos < end:
        e_off, _, e_end, e_list = ref_item(buf, pos, end)
        if not e_list:
            raise Reject(TX_FIELD)
        n, ipos = 0, e_off
        while ipos < e_end:
            if n == 6:
                raise Reject(TX_FIELD)
            it = ref_item(buf, ipos, e_end)
            if n == 1:
                if it[3] or it[1] != 20:
                    raise Reject(TX_FIELD)
            else:
                ref_int(buf, it, (32, 20, 8, 1, 32, 32)[n])
            ipos, n = it[2], n + 1
        if n != 6:
            raise Reject(TX_FIELD)
        pos = e_end


def ref_decode(raw: bytes) -> bytes:
    """The record of rlp_tx for ``raw``, or Reject(code)."""
    if not raw:
        raise Reject(TRUNCATED)
    pstart, pend = 0, len(raw)
    if 0x80 <= raw[0] < 0xC0:
        w_off, w_len, w_end, _ = ref_item(raw, 0, len(raw))
        if w_end != len(raw):
            raise Reject(TRAILING)
        if w_len == 0 or raw[w_off] >= 0x80:
            raise Reject(TX_TYPE)
        pstart, pend = w_off, w_end
    if raw[pstart] >= 0xC0:
        tx_type, lstart = 0, pstart
    elif raw[pstart] in (1, 2, 3, 4):
        tx_type, lstart = raw[pstart], pstart + 1
    else:
        raise Reject(TX_TYPE)
    kinds = KINDS[tx_type]
    l_off, _, l_end, l_list = ref_item(raw, lstart, pend)
    if l_end != pend:
        raise Reject(TRAILING)
    if not l_list:
        raise Reject(TX_FIELD)
    items = []
    pos = l_off
    while pos < l_end:
        if len(items) == len(kinds):
            raise Reject(TX_FIELD)
        items.append(ref_item(raw, pos, l_end))
        pos = items[-1][2]
    if len(items) != len(kinds):
        raise Reject(TX_FIELD)
    got: dict[str, Any] = {}
    spans = {"access": (0, 0), "blobs": (0, 0), "auth": (0, 0)}
    for i, (kind, item) in enumerate(zip(kinds, items, strict=True)):
        base, _, name = kind.partition(":")
        start = l_off if i == 0 else items[i - 1][2]
        if base in spans:
            spans[base] = (start, item[2] - start)
        if base == "u64":
            got[name] = ref_int(raw, item, 8)
        elif base == "u256":
            got[name] = ref_int(raw, item, 32)
        elif base == "parity":
            if ref_int(raw, item, 1) > 1:
                raise Reject(TX_FIELD)
        elif base in ("to", "to20"):
            if item[3] or item[1] not in ((0, 20) if base == "to" else (20,)):
                raise Reject(TX_FIELD)
            got["to"] = raw[item[0] : item[0] + item[1]]
        elif base == "bytes":
            if item[3]:
                raise Reject(TX_FIELD)
            got["data"] = (item[0], item[1])
        elif base == "blobs":
            ref_blobs(raw, item)
        elif base == "auth":
            ref_auths(raw, item)
        else:
            ref_access_list(raw, item)
    if tx_type == 0:
        v = got["v"]
        chain = (v - 35) // 2 if v >= 35 else 0
        if chain >= 1 << 64:
            raise Reject(TX_FIELD)
    else:
        chain = got["chain"]
    fee, prio = (got["fee"], got["prio"]) if tx_type >= 2 else (got["price"], got["price"])
    return struct.pack(
        "<BB6xQQQ32s32s32s32s20sIIII4x32sIIIIII",
        tx_type,
        len(got["to"]) == 20,
        got["nonce"],
        got["gas"],
        chain,
        keccak256(raw[pstart:pend]),
        got["value"].to_bytes(32, "big"),
        fee.to_bytes(32, "big"),
        prio.to_bytes(32, "big"),
        got["to"].ljust(20, b"\0"),
        got["data"][0],
        got["data"][1],
        pstart,
        pend - pstart,
        got.get("blobfee", 0).to_bytes(32, "big"),
        *spans["access"],
        *spans["blobs"],
        *spans["auth"],
    )


def ref_result(raw: bytes) -> bytes | int:
    try:
        return ref_decode(raw)
    except Reject as exc:
        return exc.code


async def kernel_result(engine: aioultra.Engine, kernel: aioultra.Kernel, data: bytes) -> bytes | int:
    """The kernel's output, or its error code."""
    try:
        return bytes(await wait_for(engine.submit(kernel, data, raw=True)))
    except aioultra.KernelError as exc:
        return exc.code


# --- strategies --------------------------------------------------------------------------

U64 = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 300), st.sampled_from([127, 128, 255, 256, 2**64 - 1]))
U256 = st.one_of(
    st.integers(0, 2**256 - 1),
    st.integers(0, 300),
    st.sampled_from([0, 1, 127, 128, 255, 256, 2**64, 2**255, 2**256 - 1]),
)
ADDRESS = st.binary(min_size=20, max_size=20)
HASH = st.binary(min_size=32, max_size=32)
ACCESS_LIST = st.lists(st.tuples(ADDRESS, st.lists(HASH, max_size=3)), max_size=3)
AUTHORIZATION = st.tuples(U256, ADDRESS, U64, st.integers(0, 255), U256, U256)


@st.composite
def transactions(draw: st.DrawFn) -> tuple[bytes, TxRecord]:
    """A random valid transaction and the TxRecord it must decode to (built independently)."""
    tx_type = draw(st.sampled_from([0, 1, 2, 3, 4]))
    nonce, gas, chain_id = draw(U64), draw(U64), draw(U64)
    price, fee, prio, value = draw(U256), draw(U256), draw(U256), draw(U256)
    to = draw(ADDRESS if tx_type >= 3 else st.one_of(st.none(), ADDRESS))
    blob_fee, hashes = draw(U256), draw(st.lists(HASH, min_size=1, max_size=6))
    auths = draw(st.lists(AUTHORIZATION, min_size=1, max_size=3))
    al: list[tuple[bytes, list[bytes]]] = []
    data = draw(st.one_of(st.binary(max_size=80), st.binary(min_size=50, max_size=400)))
    v = draw(st.one_of(st.sampled_from([27, 28, 35, 36, 37, 38]), st.integers(0, 2**65 + 34)))
    fields = {"nonce": nonce, "gas": gas, "to": to, "value": value, "data": data}
    fields |= {"r": draw(U256), "s": draw(U256)}
    if tx_type == 0:
        items = build_tx(0, gas_price=price, v=v, **fields)
        chain_id = (v - 35) // 2 if v >= 35 else 0
    else:
        al = draw(ACCESS_LIST)
        parity = draw(st.sampled_from([0, 1]))
        items = build_tx(
            tx_type,
            gas_price=price,
            max_fee=fee,
            max_prio=prio,
            chain_id=chain_id,
            access_list=al,
            y_parity=parity,
            blob_fee=blob_fee,
            blob_hashes=hashes,
            authorizations=auths,
            **fields,
        )
    wrap = tx_type != 0 and draw(st.booleans())
    raw = tx_bytes(tx_type, items, wrap)
    payload = raw if not wrap else tx_bytes(tx_type, items)
    fee_market = tx_type >= 2
    auth_rlp = rlp_list_raw([auth_item(*a) for a in auths])
    expect = TxRecord(
        tx_type=tx_type,
        hash=keccak256(payload),
        nonce=nonce,
        gas_limit=gas,
        chain_id=chain_id,
        to=to,
        value=value,
        max_fee=fee if fee_market else price,
        max_priority_fee=prio if fee_market else price,
        data=data,
        payload=payload,
        max_fee_per_blob_gas=blob_fee if tx_type == 3 else None,
        blob_versioned_hashes=tuple(hashes) if tx_type == 3 else None,
        access_list_rlp=rlp_encode(access_list_item(al)) if tx_type else None,
        authorization_list_rlp=auth_rlp if tx_type == 4 else None,
    )
    assert expect.access_list == (tuple((a, tuple(k)) for a, k in al) if tx_type else None)
    if tx_type == 4:
        assert expect.authorization_list == tuple(kernels.Authorization(*a) for a in auths)
    return raw, expect


# --- keccak256 ---------------------------------------------------------------------------


async def test_keccak_vectors(engine: aioultra.Engine) -> None:
    inputs = [v["input_utf8"].encode() for v in KECCAK_DATA]
    digests = await wait_for(engine.map(kernels.keccak256, inputs))
    for vec, digest in zip(KECCAK_DATA, digests, strict=True):
        if "keccak256" in vec:
            assert digest.hex() == vec["keccak256"], vec["input_utf8"]
        else:
            assert digest.hex().startswith(vec["keccak256_prefix"]), vec["input_utf8"]  # a selector
        assert await wait_for(engine.submit(kernels.keccak256, vec["input_utf8"].encode())) == digest


# --- rlp_tx: known answers ---------------------------------------------------------------


async def test_mainnet_transactions(engine: aioultra.Engine) -> None:
    raws = [bytes.fromhex(t["raw"]) for t in TX_DATA]
    records = await wait_for(engine.map(kernels.rlp_tx, raws, raw=True))
    for t, raw, rec in zip(TX_DATA, raws, records, strict=True):
        assert len(rec) == kernels.TX_RECORD_SIZE
        assert rec == ref_decode(raw), t["note"]
        assert await wait_for(engine.submit(kernels.rlp_tx, raw, raw=True)) == rec
        tx = TxRecord.from_record(rec, raw)
        assert tx.hash.hex() == t["hash"], t["note"]
        assert keccak256(tx.payload) == tx.hash
        if raw[0] == 0xB8:  # the wrapped one: the payload is the string's content
            assert tx.payload == raw[2:] and tx.tx_type == 2 and tx.chain_id == 0x7B
        fields = t.get("fields")
        if fields:
            assert tx.nonce == fields["nonce"]
            assert tx.max_fee == tx.max_priority_fee == fields["gas_price"]
            assert tx.gas_limit == fields["gas"]
            assert tx.to is not None and tx.to.hex() == fields["to"]
            assert tx.value == fields["value"]
            assert tx.data.hex() == fields["data"]
            assert tx.chain_id == 0 and tx.tx_type == 0  # v = 28: pre-EIP-155


async def test_mainnet_transaction_details(engine: aioultra.Engine) -> None:
    by_note = {t["note"]: bytes.fromhex(t["raw"]) for t in TX_DATA}
    creation = next(raw for note, raw in by_note.items() if "access list, chain id 1" in note)
    tx = TxRecord.from_record(await wait_for(engine.submit(kernels.rlp_tx, creation, raw=True)), creation)
    assert (tx.tx_type, tx.to, tx.chain_id, tx.nonce, tx.gas_limit, tx.max_fee) == (1, None, 1, 499, 123457, 10)
    signed = next(raw for note, raw in by_note.items() if "chain id 1337" in note)
    tx = TxRecord.from_record(await wait_for(engine.submit(kernels.rlp_tx, signed, raw=True)), signed)
    assert (tx.tx_type, tx.chain_id, tx.nonce, tx.gas_limit, tx.data) == (2, 1337, 34, 100000, b"abcdef")
    assert (tx.max_priority_fee, tx.max_fee, tx.value) == (2_000_000_000, 2_000_000_000, 10**14)
    assert tx.to == bytes.fromhex("09616c3d61b3331fc4109a9e41a8bdb7d9776609")


# --- rlp_tx: random valid transactions ---------------------------------------------------


@hyp(400)
@given(tx=transactions())
async def test_random_transactions(engine: aioultra.Engine, tx: tuple[bytes, TxRecord]) -> None:
    raw, expect = tx
    rec = await wait_for(engine.submit(kernels.rlp_tx, raw, raw=True))
    assert TxRecord.from_record(rec, raw) == expect
    assert rec == ref_decode(raw)
    # zero-copy slices: the record points into the original input
    d_off, d_len, p_off, p_len = struct.unpack_from("<IIII", rec, 180)
    assert raw[d_off : d_off + d_len] == expect.data and raw[p_off : p_off + p_len] == expect.payload


@hyp(80)
@given(txs=st.lists(transactions(), min_size=1, max_size=30))
async def test_random_transactions_map(engine: aioultra.Engine, txs: list[tuple[bytes, TxRecord]]) -> None:
    records = await wait_for(engine.map(kernels.rlp_tx, [raw for raw, _ in txs], raw=True))
    assert [TxRecord.from_record(rec, raw) for rec, (raw, _) in zip(records, txs, strict=True)] == [e for _, e in txs]


# --- rlp_tx: malformed inputs -------------------------------------------------------------


async def test_every_truncation(engine: aioultra.Engine) -> None:
    raws = [bytes.fromhex(t["raw"]) for t in TX_DATA]
    raws.append(tx_bytes(2, build_tx(2, data=bytes(300), access_list=[(bytes(20), [bytes(32)] * 2)]), wrap=True))
    cuts = [raw[:n] for raw in raws for n in range(len(raw))]
    results = await wait_for(gather(*(kernel_result(engine, kernels.rlp_tx, c) for c in cuts)))
    assert results == [TRUNCATED] * len(cuts)
    assert [ref_result(c) for c in cuts] == results


async def test_malformed_through_map_has_index(engine: aioultra.Engine) -> None:
    good = bytes.fromhex(TX_DATA[0]["raw"])
    for bad, code in [(good[:-1], TRUNCATED), (good + b"\0", TRAILING), (b"\x05\xc0", TX_TYPE)]:
        with pytest.raises(aioultra.KernelError) as info:
            await wait_for(engine.map(kernels.rlp_tx, [good, good, bad, good], raw=True))
        assert info.value.code == code and info.value.index == 2
        assert kernels.describe_error(info.value.code) == kernels.ERROR_REASONS[code]
    # the engine keeps serving
    assert len(await wait_for(engine.map(kernels.rlp_tx, [good] * 100, raw=True))) == 100


LEGACY = dict(nonce=5, gas_price=7, gas=21000, to=b"\x11" * 20, value=9, data=b"\x01\x02", v=37)


def legacy_with(index: int, encoded: bytes) -> bytes:
    items = build_tx(0, **LEGACY)  # type: ignore[arg-type]
    items[index] = encoded
    return tx_bytes(0, items)


def eip1559_with(index: int, encoded: bytes, wrap: bool = False) -> bytes:
    items = build_tx(2, chain_id=1, to=b"\x22" * 20, access_list=[(b"\x33" * 20, [b"\x44" * 32])])
    items[index] = encoded
    return tx_bytes(2, items, wrap)


ADDR_OK = rlp_string(b"\x33" * 20)
KEY_OK = rlp_string(b"\x44" * 32)


def typed_with(tx_type: int, index: int, encoded: bytes) -> bytes:
    """A type 3 or 4 transaction with field ``index`` replaced."""
    items = build_tx(tx_type, chain_id=1)
    items[index] = encoded
    return tx_bytes(tx_type, items)


AUTH_OK = [enc_int(1), rlp_string(b"\x66" * 20), enc_int(0), enc_int(0), enc_int(1), enc_int(1)]


def auth_with(index: int, encoded: bytes | None) -> bytes:
    """A type-4 transaction whose one authorization has item ``index`` replaced (None: dropped)."""
    entry = list(AUTH_OK)
    if encoded is None:
        del entry[index]
    else:
        entry[index] = encoded
    return typed_with(4, 9, rlp_list_raw([rlp_list_raw(entry)]))


MALFORMED = {
    # truncation / trailing
    "empty": (b"", TRUNCATED),
    "type byte alone": (b"\x02", TRUNCATED),
    "long string past the input": (b"\xb8\x38", TRUNCATED),
    "2**64-1 list length": (b"\xff" * 9, TRUNCATED),
    "item past its list": (bytes.fromhex("c3830102"), TRUNCATED),
    "legacy + trailing byte": (legacy_with(0, enc_int(5)) + b"\x00", TRAILING),
    "typed + trailing byte": (eip1559_with(0, enc_int(1)) + b"\x80", TRAILING),
    "wrapped + trailing byte": (eip1559_with(0, enc_int(1), wrap=True) + b"\x01", TRAILING),
    # non-canonical
    "nonce 0 as 0x00": (legacy_with(0, b"\x00"), NONCANONICAL),
    "nonce with a leading zero": (legacy_with(0, b"\x82\x00\x05"), NONCANONICAL),
    "single byte wrapped": (legacy_with(1, b"\x81\x07"), NONCANONICAL),
    "long form for short data": (legacy_with(5, b"\xb8\x02\x01\x02"), NONCANONICAL),
    "length with a leading zero": (legacy_with(5, b"\xb9\x00\x02\x01\x02"), NONCANONICAL),
    "long form for a short list": (b"\xf8\x03" + rlp_encode([b"a", b"b", b"c"])[1:], NONCANONICAL),
    "r with a leading zero": (eip1559_with(10, b"\x82\x00\x01"), NONCANONICAL),
    "wrapper in long form, short": (b"\xb8\x03\x02\xc1\x80", NONCANONICAL),
    # types
    "type 0": (b"\x00\xc0", TX_TYPE),
    "type 5": (b"\x05\xc0", TX_TYPE),
    "type 3 empty list": (b"\x03\xc0", TX_FIELD),
    "type 4 empty list": (b"\x04\xc0", TX_FIELD),
    "type 0x7f": (b"\x7f", TX_TYPE),
    "empty wrapper": (b"\x80", TX_TYPE),
    "wrapped legacy": (rlp_string(legacy_with(0, enc_int(5))), TX_TYPE),
    "wrapped wrapper": (rlp_string(eip1559_with(0, enc_int(1), wrap=True)), TX_TYPE),
    # fields
    "typed string body": (b"\x02\x80", TX_FIELD),
    "typed empty list": (b"\x01\xc0", TX_FIELD),
    "legacy 8 fields": (rlp_list_raw(build_tx(0)[:8]), TX_FIELD),
    "legacy 10 fields": (rlp_list_raw([*build_tx(0), b"\x01"]), TX_FIELD),
    "1559 with 11 fields": (b"\x02" + rlp_list_raw(build_tx(2)[:11]), TX_FIELD),
    "2930 with 12 fields": (b"\x01" + rlp_list_raw(build_tx(2)), TX_FIELD),
    "19-byte to": (legacy_with(3, rlp_string(b"\x11" * 19)), TX_FIELD),
    "21-byte to": (legacy_with(3, rlp_string(b"\x11" * 21)), TX_FIELD),
    "to as a list": (legacy_with(3, b"\xc0"), TX_FIELD),
    "nonce of 9 bytes": (legacy_with(0, rlp_string(b"\x01" * 9)), TX_FIELD),
    "gas of 9 bytes": (legacy_with(2, rlp_string(b"\x01" * 9)), TX_FIELD),
    "value of 33 bytes": (legacy_with(4, rlp_string(b"\x01" * 33)), TX_FIELD),
    "value as a list": (legacy_with(4, b"\xc1\x01"), TX_FIELD),
    "data as a list": (legacy_with(5, b"\xc0"), TX_FIELD),
    "chain id from v over 64 bits": (legacy_with(6, enc_int(2**65 + 35)), TX_FIELD),
    "chain id of 9 bytes": (eip1559_with(0, rlp_string(b"\x01" * 9)), TX_FIELD),
    "yParity 2": (eip1559_with(9, enc_int(2)), TX_FIELD),
    "yParity of 2 bytes": (eip1559_with(9, enc_int(256)), TX_FIELD),
    "access list a string": (eip1559_with(8, b"\x80"), TX_FIELD),
    "access entry a string": (eip1559_with(8, rlp_list_raw([b"\x80"])), TX_FIELD),
    "access entry empty": (eip1559_with(8, rlp_list_raw([b"\xc0"])), TX_FIELD),
    "access entry without keys": (eip1559_with(8, rlp_list_raw([rlp_list_raw([ADDR_OK])])), TX_FIELD),
    "access entry 3 items": (eip1559_with(8, rlp_list_raw([rlp_list_raw([ADDR_OK, b"\xc0", b"\xc0"])])), TX_FIELD),
    "access address 19 bytes": (
        eip1559_with(8, rlp_list_raw([rlp_list_raw([rlp_string(b"\x33" * 19), b"\xc0"])])),
        TX_FIELD,
    ),
    "access address a list": (eip1559_with(8, rlp_list_raw([rlp_list_raw([b"\xc0", b"\xc0"])])), TX_FIELD),
    "access keys a string": (eip1559_with(8, rlp_list_raw([rlp_list_raw([ADDR_OK, b"\x80"])])), TX_FIELD),
    "access key 31 bytes": (
        eip1559_with(8, rlp_list_raw([rlp_list_raw([ADDR_OK, rlp_list_raw([rlp_string(b"\x44" * 31)])])])),
        TX_FIELD,
    ),
    "access key a list": (
        eip1559_with(8, rlp_list_raw([rlp_list_raw([ADDR_OK, rlp_list_raw([KEY_OK, b"\xc0"])])])),
        TX_FIELD,
    ),
    "access key past its list": (
        eip1559_with(8, rlp_list_raw([rlp_list_raw([ADDR_OK, b"\xc2\xa0\x44"])])),
        TRUNCATED,
    ),
    # type 3 (blob)
    "blob tx without to": (typed_with(3, 5, b"\x80"), TX_FIELD),
    "blob tx 13 fields": (b"\x03" + rlp_list_raw(build_tx(3)[:13]), TX_FIELD),
    "blob hashes empty": (typed_with(3, 10, b"\xc0"), TX_FIELD),
    "blob hashes a string": (typed_with(3, 10, rlp_string(b"\x01" * 32)), TX_FIELD),
    "blob hash 31 bytes": (typed_with(3, 10, rlp_list_raw([rlp_string(b"\x01" * 31)])), TX_FIELD),
    "blob hash a list": (typed_with(3, 10, rlp_list_raw([b"\xc0"])), TX_FIELD),
    "blob fee of 33 bytes": (typed_with(3, 9, rlp_string(b"\x01" * 33)), TX_FIELD),
    "blob fee with a leading zero": (typed_with(3, 9, b"\x82\x00\x01"), NONCANONICAL),
    "network-form blob tx": (b"\x03" + rlp_list_raw([rlp_list_raw(build_tx(3)), b"\xc0", b"\xc0", b"\xc0"]), TX_FIELD),
    # type 4 (set code)
    "set-code tx without to": (typed_with(4, 5, b"\x80"), TX_FIELD),
    "set-code tx 12 fields": (b"\x04" + rlp_list_raw(build_tx(4)[:12]), TX_FIELD),
    "authorizations empty": (typed_with(4, 9, b"\xc0"), TX_FIELD),
    "authorizations a string": (typed_with(4, 9, b"\x80"), TX_FIELD),
    "authorization a string": (typed_with(4, 9, rlp_list_raw([b"\x80"])), TX_FIELD),
    "authorization 5 items": (auth_with(5, None), TX_FIELD),
    "authorization 7 items": (typed_with(4, 9, rlp_list_raw([rlp_list_raw([*AUTH_OK, b"\x01"])])), TX_FIELD),
    "authorization address 19 bytes": (auth_with(1, rlp_string(b"\x66" * 19)), TX_FIELD),
    "authorization address a list": (auth_with(1, b"\xc0"), TX_FIELD),
    "authorization nonce 9 bytes": (auth_with(2, rlp_string(b"\x01" * 9)), TX_FIELD),
    "authorization yParity 2 bytes": (auth_with(3, enc_int(256)), TX_FIELD),
    "authorization chain id 33 bytes": (auth_with(0, rlp_string(b"\x01" * 33)), TX_FIELD),
    "authorization r with a leading zero": (auth_with(4, b"\x82\x00\x01"), NONCANONICAL),
    "authorization past its list": (typed_with(4, 9, rlp_list_raw([b"\xc3\x01\x02"])), TRUNCATED),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_malformed(engine: aioultra.Engine, case: str) -> None:
    raw, code = MALFORMED[case]
    assert ref_result(raw) == code  # the reference agrees with the expectation
    with pytest.raises(aioultra.KernelError) as info:
        await wait_for(engine.submit(kernels.rlp_tx, raw, raw=True))
    assert info.value.code == code
    assert info.value.kernel == "rlp_tx"
    good = bytes.fromhex(TX_DATA[0]["raw"])
    with pytest.raises(aioultra.KernelError) as info:
        await wait_for(engine.map(kernels.rlp_tx, [good, raw], raw=True))
    assert (info.value.code, info.value.index) == (code, 1)
    assert len(await wait_for(engine.submit(kernels.rlp_tx, good, raw=True))) == kernels.TX_RECORD_SIZE  # still serving


async def test_valid_edge_cases(engine: aioultra.Engine) -> None:
    cases = {
        "legacy v 2**64 + 35": (legacy_with(6, enc_int(2**64 + 35)), 2**63),
        "legacy v 27": (legacy_with(6, enc_int(27)), 0),
        "legacy v 0": (legacy_with(6, enc_int(0)), 0),
        "long data": (legacy_with(5, rlp_string(bytes(70_000))), 1),
    }
    for name, (raw, chain_id) in cases.items():
        rec = await wait_for(engine.submit(kernels.rlp_tx, raw, raw=True))
        assert rec == ref_decode(raw), name
        tx = TxRecord.from_record(rec, raw)
        assert tx.chain_id == chain_id, name
    assert tx.data == bytes(70_000) and tx.nonce == 5 and tx.to == b"\x11" * 20


async def test_output_too_small(engine: aioultra.Engine) -> None:
    small = aioultra.Kernel.from_pointer(_ffi.KERNEL_RLP_TX, name="rlp_tx_small", out_size=kernels.TX_RECORD_SIZE - 1)
    with pytest.raises(aioultra.KernelError) as info:
        await wait_for(engine.submit(small, bytes.fromhex(TX_DATA[0]["raw"]), raw=True))
    assert info.value.code == kernels.ERR_OUTCAP


@hyp(600)
@given(raw=st.binary(max_size=300))
async def test_random_bytes(engine: aioultra.Engine, raw: bytes) -> None:
    assert await kernel_result(engine, kernels.rlp_tx, raw) == ref_result(raw)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw, _ = draw(transactions())
    buf = bytearray(raw)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["set", "insert", "delete", "append", "cut"]))
        i = draw(st.integers(0, max(0, len(buf) - 1)))
        byte = draw(st.one_of(st.integers(0, 255), st.sampled_from([0, 0x80, 0x81, 0xB8, 0xC0, 0xF8, 0xFF])))
        if op == "set" and buf:
            buf[i] = byte
        elif op == "insert":
            buf.insert(i, byte)
        elif op == "delete" and buf:
            del buf[i]
        elif op == "append":
            buf.append(byte)
        else:
            del buf[i:]
    return bytes(buf)


@hyp(600)
@given(raw=mutated())
async def test_mutated_transactions(engine: aioultra.Engine, raw: bytes) -> None:
    assert await kernel_result(engine, kernels.rlp_tx, raw) == ref_result(raw)


RLP_TREES = st.recursive(
    st.one_of(st.binary(max_size=40), st.binary(min_size=20, max_size=20), st.binary(min_size=32, max_size=32)),
    lambda children: st.lists(children, max_size=13),
    max_leaves=40,
)


@hyp(600)
@given(tree=RLP_TREES, prefix=st.sampled_from([b"", b"\x01", b"\x02", b"\x03"]), wrap=st.booleans())
async def test_structured_garbage(engine: aioultra.Engine, tree: RlpItem, prefix: bytes, wrap: bool) -> None:
    raw = prefix + rlp_encode(tree)
    if wrap:
        raw = rlp_string(raw)
    assert await kernel_result(engine, kernels.rlp_tx, raw) == ref_result(raw)


# --- errors, records, u256 helpers -------------------------------------------------------


def test_describe_error() -> None:
    """Every AIO_KERR_* code of csrc/kernels/kernels.h has a reason, and only those."""
    header = (Path(__file__).resolve().parents[1] / "csrc" / "kernels" / "kernels.h").read_text()
    codes = [int(c) for c in re.findall(r"#define AIO_KERR_\w+\s+\((-\d+)\)", header)]
    assert len(codes) == 16
    assert sorted(kernels.ERROR_REASONS) == sorted(codes)
    for code in codes:
        assert kernels.describe_error(code) == kernels.ERROR_REASONS[code] and kernels.describe_error(code)
    assert "unknown" in kernels.describe_error(-999)
    assert kernels.describe_error(kernels.ERR_RLP_TRUNCATED).startswith("RLP truncated")


def test_tx_record_checks() -> None:
    raw = bytes.fromhex(TX_DATA[0]["raw"])
    with pytest.raises(ValueError, match=f"{kernels.TX_RECORD_SIZE} bytes"):
        TxRecord.from_record(b"\0" * 199, raw)
    rec = ref_decode(raw)
    with pytest.raises(ValueError, match="offsets"):
        TxRecord.from_record(rec, raw[:50])
    tx = TxRecord.from_record(memoryview(rec), memoryview(raw))
    assert isinstance(tx.data, bytes) and isinstance(tx.payload, bytes) and tx.payload == raw
    with pytest.raises(AttributeError):
        tx.nonce = 1  # type: ignore[misc]


def test_u256_helpers() -> None:
    for v in (0, 1, 255, 2**112 - 1, 2**256 - 1):
        assert decode_u256(encode_u256(v)) == v and len(encode_u256(v)) == 32
    assert encode_u256(1) == b"\0" * 31 + b"\x01"
    for bad in (-1, 2**256):
        with pytest.raises(ValueError):
            encode_u256(bad)
    with pytest.raises(TypeError):
        encode_u256(True)
    with pytest.raises(ValueError):
        decode_u256(b"\0" * 31)


# --- Uniswap V2 ----------------------------------------------------------------------------

AMM_KERNELS = {
    "getAmountOut": (kernels.univ2_amount_out, kernels.univ2_amount_out_py),
    "getAmountIn": (kernels.univ2_amount_in, kernels.univ2_amount_in_py),
}


def amm_input(*values: int) -> bytes:
    return b"".join(encode_u256(v) for v in values)


def py_result(fn: Any, *args: int) -> int | tuple[int, int]:
    try:
        result: int | tuple[int, int] = fn(*args)
    except aioultra.KernelError as exc:
        return exc.code
    return result


async def test_univ2_known_answers(engine: aioultra.Engine) -> None:
    for case in UNIV2_DATA:
        kernel, ref = AMM_KERNELS[case["fn"]]
        args = (case["amount"], case["reserve_in"], case["reserve_out"])
        assert ref(*args) == case["expect"]
        assert decode_u256(await wait_for(engine.submit(kernel, amm_input(*args), raw=True))) == case["expect"]
    # round trip of the data set: getAmountIn then getAmountOut gives at least the amount out
    amount_in = kernels.univ2_amount_in_py(10**17, 10**18, 2 * 10**18)
    assert kernels.univ2_amount_out_py(amount_in, 10**18, 2 * 10**18) >= 10**17


async def test_univ2_errors(engine: aioultra.Engine) -> None:
    cases = [
        (kernels.univ2_amount_out, amm_input(0, 1, 1), AMM_INPUT),
        (kernels.univ2_amount_out, amm_input(1, 0, 1), AMM_LIQUIDITY),
        (kernels.univ2_amount_out, amm_input(1, 1, 0), AMM_LIQUIDITY),
        (kernels.univ2_amount_out, amm_input(1, 2**112, 1), AMM_OVERFLOW),
        (kernels.univ2_amount_out, amm_input(2**128, 1, 1), AMM_OVERFLOW),
        (kernels.univ2_amount_out, amm_input(0, 0, 2**112), AMM_OVERFLOW),
        (kernels.univ2_amount_out, amm_input(1, 1, 1)[:-1], kernels.ERR_INPUT),
        (kernels.univ2_amount_out, amm_input(1, 1, 1, 1), kernels.ERR_INPUT),
        (kernels.univ2_amount_in, amm_input(5, 10, 5), AMM_LIQUIDITY),
        (kernels.univ2_amount_in, amm_input(6, 10, 5), AMM_LIQUIDITY),
        (kernels.univ2_amount_in, amm_input(0, 10, 5), AMM_INPUT),
        (kernels.univ2_amount_in, b"", kernels.ERR_INPUT),
        (kernels.univ2_backrun, amm_input(1, 1, 1, 1, 0), AMM_INPUT),
        (kernels.univ2_backrun, amm_input(1, 0, 1, 1, 1), AMM_LIQUIDITY),
        (kernels.univ2_backrun, amm_input(1, 1, 1, 2**112, 1), AMM_OVERFLOW),
        (kernels.univ2_backrun, amm_input(1, 1, 1, 1, 2**128), AMM_OVERFLOW),
        (kernels.univ2_backrun, amm_input(1, 1, 1, 1), kernels.ERR_INPUT),
    ]
    for kernel, data, code in cases:
        if code == kernels.ERR_INPUT:  # a wrong input length: the encoder rejects it at the call
            with pytest.raises(aioultra.InvalidTask, match="takes"):
                engine.submit(kernel, data)
            with pytest.raises(aioultra.InvalidTask, match="item 0"):
                await wait_for(engine.map(kernel, [data]))
            continue
        assert await kernel_result(engine, kernel, data) == code, (kernel, data.hex())
        with pytest.raises(aioultra.KernelError) as info:
            await wait_for(engine.map(kernel, [data], raw=True))
        assert (info.value.code, info.value.index) == (code, 0)
    with pytest.raises(aioultra.KernelError) as info:
        kernels.univ2_amount_in_py(5, 10, 5)
    assert info.value.code == AMM_LIQUIDITY
    with pytest.raises(TypeError):
        kernels.univ2_amount_out_py(1.0, 1, 1)  # type: ignore[arg-type]
    assert decode_u256(await wait_for(engine.submit(kernels.univ2_amount_out, amm_input(1, 1, 1), raw=True))) == 0


AMOUNTS = st.one_of(
    st.integers(0, 2**128 + 5),
    st.integers(0, 10**6),
    st.integers(0, 2**256 - 1),
    st.sampled_from([0, 1, 2**112 - 1, 2**112, 2**128 - 1, 2**128]),
)
RESERVES = st.one_of(
    st.integers(0, 2**112 + 5),
    st.integers(1, 10**30),
    st.integers(2**112 - 1000, 2**112 - 1),
    st.sampled_from([0, 1, 2**111, 2**112 - 1, 2**112, 2**256 - 1]),
)


@hyp(200)
@given(cases=st.lists(st.tuples(AMOUNTS, RESERVES, RESERVES), min_size=1, max_size=40))
async def test_univ2_random(engine: aioultra.Engine, cases: list[tuple[int, int, int]]) -> None:
    for kernel, ref in AMM_KERNELS.values():
        got = await wait_for(gather(*(kernel_result(engine, kernel, amm_input(*c)) for c in cases)))
        want = [py_result(ref, *c) for c in cases]
        assert [g if isinstance(g, int) else decode_u256(g) for g in got] == want
        ok = [c for c, w in zip(cases, want, strict=True) if w >= 0]
        if ok:  # map, all valid items at once
            outs = await wait_for(engine.map(kernel, [amm_input(*c) for c in ok], raw=True))
            assert [decode_u256(o) for o in outs] == [ref(*c) for c in ok]


@st.composite
def pools(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    """Two pools trading A/B (P: A -> B, Q: B -> A) with a price gap, plus max_in."""
    if draw(st.booleans()):
        p_in, p_out, q_in, q_out = (draw(RESERVES) for _ in range(4))
    else:
        base = draw(st.integers(10**3, 2**100))
        price_num = draw(st.integers(1, 10**6))
        price_den = draw(st.integers(1, 10**6))
        gap = draw(st.integers(900, 1200))
        p_in = base
        p_out = max(1, base * price_num // price_den)
        q_in = max(1, draw(st.integers(10**3, 2**100)))
        q_out = max(1, q_in * price_den * gap // (price_num * 1000))
        p_in, p_out, q_in, q_out = (min(v, 2**112 - 1) for v in (p_in, p_out, q_in, q_out))
    max_in = draw(st.one_of(st.integers(0, 2**128 + 1), st.integers(1, 1000), st.just(2**128 - 1)))
    return p_in, p_out, q_in, q_out, max_in


@hyp(300)
@given(pool=pools())
async def test_univ2_backrun_matches_python(engine: aioultra.Engine, pool: tuple[int, int, int, int, int]) -> None:
    got = await kernel_result(engine, kernels.univ2_backrun, amm_input(*pool))
    want = py_result(kernels.univ2_backrun_py, *pool)
    if isinstance(want, int):
        assert got == want
        return
    assert isinstance(got, bytes) and len(got) == 64
    x, profit = decode_u256(got[:32]), decode_u256(got[32:])
    assert (x, profit) == want
    if x:
        p_in, p_out, q_in, q_out, max_in = pool
        assert 1 <= x <= max_in
        y = kernels._out(x, p_in, p_out)
        assert kernels._out(y, q_in, q_out) - x == profit > 0


@hyp(120)
@given(
    reserves=st.tuples(*(st.integers(1, 10**7) for _ in range(4))),
    max_in=st.integers(1, 1500),
)
async def test_univ2_backrun_near_brute_force(
    engine: aioultra.Engine, reserves: tuple[int, int, int, int], max_in: int
) -> None:
    """The documented bound: within one output step of pool Q (0.997 q_out / q_in + 1) of the
    best floored profit over the whole domain."""
    p_in, p_out, q_in, q_out = reserves
    out = await wait_for(engine.submit(kernels.univ2_backrun, amm_input(*reserves, max_in), raw=True))
    x, profit = decode_u256(out[:32]), decode_u256(out[32:])
    best = max(0, *(kernels._out(kernels._out(v, p_in, p_out), q_in, q_out) - v for v in range(1, max_in + 1)))
    assert profit <= best
    assert best - profit <= 0.997 * q_out / q_in + 1
    assert (x, profit) == kernels.univ2_backrun_py(*reserves, max_in)


async def test_univ2_backrun_known(engine: aioultra.Engine) -> None:
    eth = 10**18
    pool = (1000 * eth, 2_000_000 * eth, 1_900_000 * eth, 1000 * eth, 10**30)
    x, profit = kernels.univ2_backrun_py(*pool)
    out = await wait_for(engine.submit(kernels.univ2_backrun, amm_input(*pool), raw=True))
    assert (decode_u256(out[:32]), decode_u256(out[32:])) == (x, profit)
    assert 0 < x < 100 * eth and profit > 0
    # the search lands at the optimum of the smooth profit, up to flooring
    f = lambda v: kernels._out(kernels._out(v, pool[0], pool[1]), pool[2], pool[3]) - v  # noqa: E731
    assert all(f(x) >= f(x + d) - 2 for d in (-(10**12), -1000, -1, 1, 1000, 10**12))
    # no arbitrage between equal pools: zeros
    same = (10**21, 10**21, 10**21, 10**21, 10**24)
    assert await wait_for(engine.submit(kernels.univ2_backrun, amm_input(*same), raw=True)) == bytes(64)
    assert kernels.univ2_backrun_py(*same) == (0, 0)
    # max_in caps the input
    capped = await wait_for(engine.submit(kernels.univ2_backrun, amm_input(*pool[:4], 10**15), raw=True))
    assert decode_u256(capped[:32]) == kernels.univ2_backrun_py(*pool[:4], 10**15)[0] <= 10**15
