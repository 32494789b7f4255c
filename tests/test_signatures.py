"""The signature kernels on libsecp256k1 (from coincurve): tx_sender, ecrecover and signers.

- tx_sender against eth-account on 10,000 random transactions of every type (legacy with and
  without EIP-155, 2930, 1559, 4844 and 7702), each signed by its own random key: the same
  sender (the key's address), the same hash; and against the mainnet vectors' senders.
- Signers produce the same signed bytes as eth-account's ``sign_transaction`` (RFC 6979).
- Malformed signatures get their named codes, never a wrong address; bad input raises at the
  call and the engine keeps serving; the key never shows in a repr or an error.
"""

from __future__ import annotations

import functools
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

import aioultra
from aioultra import kernels

from .helpers import wait_for
from .test_eth_kernels import enc_int, rlp_list_raw, rlp_string, tx_bytes

DATA = Path(__file__).resolve().parent / "data"
TX_DATA = json.loads((DATA / "transactions.json").read_text())["transactions"]
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
P = 2**256 - 2**32 - 977  # the field prime


def random_key(rng: random.Random) -> bytes:
    return rng.randrange(1, N).to_bytes(32, "big")


def _u(rng: random.Random, bits: int) -> int:
    return rng.choice([0, 1, rng.getrandbits(8), rng.getrandbits(bits)])


def random_tx(rng: random.Random, tx_type: int, eip155: bool) -> dict[str, Any]:
    """Random fields eth-account signs, of one type (0 legacy, 1-4 typed)."""
    tx: dict[str, Any] = {
        "nonce": _u(rng, 63),
        "gas": rng.randrange(21000, 2**40),
        "value": _u(rng, 255),
        "data": rng.randbytes(rng.choice([0, 1, 4, 36, rng.randrange(300)])),
    }
    to = to_checksum_address(rng.randbytes(20))
    if tx_type < 3 and rng.random() < 0.2:
        tx["to"] = b""  # a contract creation
    else:
        tx["to"] = to
    if tx_type == 0:
        tx["gasPrice"] = _u(rng, 200)
        if eip155:
            tx["chainId"] = rng.choice([1, 5, 137, 0x7B, rng.getrandbits(40) + 1])
        return tx
    tx["type"] = tx_type
    tx["chainId"] = rng.choice([1, 10, 8453, rng.getrandbits(40) + 1])
    tx["accessList"] = [
        {
            "address": to_checksum_address(rng.randbytes(20)),
            "storageKeys": ["0x" + rng.randbytes(32).hex() for _ in range(k)],
        }
        for k in [rng.randrange(3) for _ in range(rng.choice([0, 0, 1, 2]))]
    ]
    if tx_type == 1:
        tx["gasPrice"] = _u(rng, 200)
        return tx
    tx["maxPriorityFeePerGas"] = _u(rng, 128)
    tx["maxFeePerGas"] = tx["maxPriorityFeePerGas"] + _u(rng, 128)
    if tx_type == 3:
        tx["maxFeePerBlobGas"] = _u(rng, 128)
        tx["blobVersionedHashes"] = [b"\x01" + rng.randbytes(31) for _ in range(rng.randrange(1, 7))]
    if tx_type == 4:
        signer = Account.from_key(random_key(rng))
        tx["authorizationList"] = [
            signer.sign_authorization(
                {
                    "chainId": rng.choice([0, tx["chainId"]]),
                    "address": to_checksum_address(rng.randbytes(20)),
                    "nonce": i,
                }
            )
            for i in range(rng.randrange(1, 3))
        ]
    return tx


KINDS = [(0, False), (0, True), (1, False), (2, False), (3, False), (4, False)]


@functools.cache
def signed_corpus(n: int, seed: int) -> list[tuple[bytes, bytes, bytes, int]]:
    """(raw, sender address, hash, type) of n transactions signed by eth-account, all kinds."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        tx_type, eip155 = KINDS[i % len(KINDS)]
        key = random_key(rng)
        signed = Account.sign_transaction(random_tx(rng, tx_type, eip155), key)
        out.append(
            (
                bytes(signed.raw_transaction),
                bytes.fromhex(Account.from_key(key).address[2:]),
                bytes(signed.hash),
                tx_type,
            )
        )
    return out


async def test_tx_sender_matches_eth_account(engine: aioultra.Engine) -> None:
    corpus = signed_corpus(10_000, seed=12)
    results = await wait_for(engine.map(kernels.tx_sender, [raw for raw, *_ in corpus]), timeout=120)
    for (raw, sender, tx_hash, tx_type), got in zip(corpus, results, strict=True):
        assert (got.sender, got.hash, got.tx_type) == (sender, tx_hash, tx_type), raw.hex()
    for raw, sender, *_ in corpus[::50]:  # eth-account's own recovery agrees with its signing key
        assert bytes.fromhex(Account.recover_transaction(raw)[2:]) == sender
    # the record of every type carries what its type carries
    for raw, _, tx_hash, tx_type in corpus[:12]:
        rec = await wait_for(engine.submit(kernels.rlp_tx, raw))
        assert rec.hash == tx_hash and rec.tx_type == tx_type
        assert (rec.access_list is None) == (tx_type == 0)
        assert (rec.blob_versioned_hashes is not None) == (tx_type == 3) == (rec.max_fee_per_blob_gas is not None)
        assert (rec.authorization_list is not None) == (tx_type == 4)
        assert (rec.gas_price is not None) == (tx_type in (0, 1))
        assert set(kernels.TxRecord.FIELDS[tx_type]) <= {f for f in dir(rec) if not f.startswith("_")}


async def test_tx_sender_details_of_each_type(engine: aioultra.Engine) -> None:
    rng = random.Random(3)
    key = random_key(rng)
    for tx_type, eip155 in KINDS:
        fields = random_tx(rng, tx_type, eip155)
        signed = Account.sign_transaction(fields, key)
        got = await wait_for(engine.submit(kernels.tx_sender, bytes(signed.raw_transaction)))
        assert got.chain_id == fields.get("chainId", 0)
        # the signing hash: what eth-account signed, recovered from it by ecrecover too
        if tx_type != 0:
            recid = signed.v
        else:
            recid = signed.v - 27 if signed.v in (27, 28) else signed.v - 35 - 2 * got.chain_id
        sig = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([recid])
        assert await wait_for(engine.submit(kernels.ecrecover, got.signing_hash, sig)) == got.sender
        if tx_type == 4:
            rec = await wait_for(engine.submit(kernels.rlp_tx, bytes(signed.raw_transaction)))
            assert rec.authorization_list is not None
            want = [(a.chain_id, bytes(a.address), a.nonce, a.y_parity, a.r, a.s) for a in fields["authorizationList"]]
            assert [(a.chain_id, a.address, a.nonce, a.y_parity, a.r, a.s) for a in rec.authorization_list] == want
        if tx_type == 3:
            rec = await wait_for(engine.submit(kernels.rlp_tx, bytes(signed.raw_transaction)))
            assert rec.blob_versioned_hashes == tuple(fields["blobVersionedHashes"])
            assert rec.max_fee_per_blob_gas == fields["maxFeePerBlobGas"]


async def test_mainnet_senders(engine: aioultra.Engine) -> None:
    raws = [bytes.fromhex(t["raw"]) for t in TX_DATA]
    got = await wait_for(engine.map(kernels.tx_sender, raws))
    for t, s in zip(TX_DATA, got, strict=True):
        assert (s.sender.hex(), s.hash.hex()) == (t["sender"], t["hash"]), t["note"]


async def test_signer_matches_eth_account(engine: aioultra.Engine) -> None:
    rng = random.Random(7)
    cases = []
    for _ in range(2_000):
        key = random_key(rng)
        fields = random_tx(rng, 2, False)
        to = None if fields["to"] == b"" else bytes.fromhex(fields["to"][2:])
        access = [
            (bytes.fromhex(e["address"][2:]), [bytes.fromhex(k[2:]) for k in e["storageKeys"]])
            for e in fields["accessList"]
        ]
        tx = kernels.Eip1559Tx(
            chain_id=fields["chainId"],
            nonce=fields["nonce"],
            max_priority_fee=fields["maxPriorityFeePerGas"],
            max_fee=fields["maxFeePerGas"],
            gas_limit=fields["gas"],
            to=to,
            value=fields["value"],
            data=fields["data"],
            access_list=access,
        )
        cases.append((kernels.signer(key), tx, Account.sign_transaction(fields, key)))
    for signer, tx, want in cases:
        got = await wait_for(engine.submit(signer, tx))
        assert (got.raw, got.hash) == (bytes(want.raw_transaction), bytes(want.hash))
    signer, tx, want = cases[0]
    senders = await wait_for(engine.map(kernels.tx_sender, [bytes(w.raw_transaction) for _, _, w in cases[:200]]))
    assert [s.sender for s in senders] == [c[0].address for c in cases[:200]]
    many = await wait_for(engine.map(signer, [tx] * 50))
    assert {m.raw for m in many} == {bytes(want.raw_transaction)}  # deterministic nonces


def _resigned(raw_tx: dict[str, Any], key: bytes, **fields: int) -> bytes:
    """A legacy transaction signed by eth-account, re-encoded with v, r, s replaced."""
    signed = Account.sign_transaction(raw_tx, key)
    v, r, s = fields.get("v", signed.v), fields.get("r", signed.r), fields.get("s", signed.s)
    body = [
        enc_int(raw_tx["nonce"]),
        enc_int(raw_tx["gasPrice"]),
        enc_int(raw_tx["gas"]),
        rlp_string(bytes.fromhex(raw_tx["to"][2:])),
        enc_int(raw_tx["value"]),
        rlp_string(raw_tx["data"]),
    ]
    return tx_bytes(0, [*body, enc_int(v), enc_int(r), enc_int(s)])


def _not_on_curve_x() -> int:
    x = 5
    while pow(x**3 + 7, (P - 1) // 2, P) == 1:  # x^3 + 7 a square: a point exists
        x += 1
    return x


async def test_malformed_signatures(engine: aioultra.Engine) -> None:
    key = bytes(31) + b"\x07"
    base = {"nonce": 3, "gasPrice": 10, "gas": 21000, "to": "0x" + "11" * 20, "value": 1, "data": b"", "chainId": 1}
    base["to"] = to_checksum_address(base["to"])
    good = Account.sign_transaction(base, key)
    assert (await wait_for(engine.submit(kernels.tx_sender, _resigned(base, key)))).sender == bytes.fromhex(
        Account.from_key(key).address[2:]
    )
    high_v = 37 if good.v == 38 else 38  # negating s flips the recovery id
    cases = {
        "r = 0": (_resigned(base, key, r=0), kernels.ERR_SIG_RANGE),
        "s = 0": (_resigned(base, key, s=0), kernels.ERR_SIG_RANGE),
        "r = n": (_resigned(base, key, r=N), kernels.ERR_SIG_RANGE),
        "s = n + 1": (_resigned(base, key, s=N + 1), kernels.ERR_SIG_RANGE),
        "high s": (_resigned(base, key, s=N - good.s, v=high_v), kernels.ERR_SIG_HIGH_S),
        "v = 29": (_resigned(base, key, v=29), kernels.ERR_SIG_V),
        "v = 0": (_resigned(base, key, v=0), kernels.ERR_SIG_V),
        "v = 34": (_resigned(base, key, v=34), kernels.ERR_SIG_V),
        "r not on the curve": (_resigned(base, key, r=_not_on_curve_x()), kernels.ERR_SIG_RECOVER),
    }
    for name, (raw, code) in cases.items():
        with pytest.raises(aioultra.KernelError) as info:
            await wait_for(engine.submit(kernels.tx_sender, raw))
        assert info.value.code == code, name
        assert kernels.describe_error(code).startswith("bad signature"), name
    raws = [raw for raw, _ in cases.values()]
    with pytest.raises(aioultra.KernelError) as info:
        await wait_for(engine.map(kernels.tx_sender, [bytes(good.raw_transaction), raws[4]]))
    assert (info.value.code, info.value.index) == (kernels.ERR_SIG_HIGH_S, 1)
    # a wrong chain id in v recovers a different address, never the signer's: not an error
    other = await wait_for(engine.submit(kernels.tx_sender, _resigned(base, key, v=good.v + 2)))
    assert other.sender != bytes.fromhex(Account.from_key(key).address[2:]) and other.chain_id == 2
    # typed: yParity 2 is a decoding error (rlp_tx's rules)
    with pytest.raises(aioultra.KernelError) as info:
        await wait_for(
            engine.submit(kernels.tx_sender, b"\x02" + rlp_list_raw([b"\x01"] * 9 + [b"\x02", b"\x01", b"\x01"]))
        )
    assert info.value.code == kernels.ERR_TX_FIELD
    assert len(await wait_for(engine.map(kernels.tx_sender, [bytes(good.raw_transaction)] * 10))) == 10  # serving


async def test_ecrecover(engine: aioultra.Engine) -> None:
    acct = Account.from_key(bytes(31) + b"\x09")
    msg = acct.sign_message(encode_defunct(text="aioultra"))
    h, r, s = bytes(msg.message_hash), msg.r.to_bytes(32, "big"), msg.s.to_bytes(32, "big")
    address = bytes.fromhex(acct.address[2:])
    for v in (msg.v, msg.v - 27):
        assert await wait_for(engine.submit(kernels.ecrecover, h, r + s + bytes([v]))) == address
    assert await wait_for(engine.submit(kernels.ecrecover, h + r + s + bytes([msg.v]))) == address  # one 97-byte input
    # high s is accepted, as by the EVM's ecrecover: the same key with the other recovery id
    flipped = bytes([(msg.v - 27) ^ 1])
    assert await wait_for(engine.submit(kernels.ecrecover, h, r + (N - msg.s).to_bytes(32, "big") + flipped)) == address
    got = await wait_for(engine.map(kernels.ecrecover, [(h, r + s + bytes([msg.v]))] * 20))
    assert got == [address] * 20
    for sig, code in [
        (r + s + b"\x02", kernels.ERR_SIG_V),
        (bytes(32) + s + b"\x00", kernels.ERR_SIG_RANGE),
        (r + N.to_bytes(32, "big") + b"\x00", kernels.ERR_SIG_RANGE),
        (_not_on_curve_x().to_bytes(32, "big") + s + b"\x00", kernels.ERR_SIG_RECOVER),
    ]:
        with pytest.raises(aioultra.KernelError) as info:
            await wait_for(engine.submit(kernels.ecrecover, h, sig))
        assert info.value.code == code
    for bad in [(h, r + s), (h[:31], r + s + b"\x1b"), ("hash", r + s + b"\x1b"), (h,)]:
        with pytest.raises(aioultra.InvalidTask, match="ecrecover"):
            engine.submit(kernels.ecrecover, *bad)
    with pytest.raises(aioultra.InvalidTask, match="item 1: ecrecover"):
        engine.submit_many(kernels.ecrecover, [(h, r + s + b"\x1b"), (h, b"short")])
    assert await wait_for(engine.submit(kernels.ecrecover, h, r + s + bytes([msg.v]))) == address  # serving


async def test_signer_keys_and_inputs(engine: aioultra.Engine) -> None:
    key = bytes(range(1, 33))
    signer = kernels.signer(key)
    assert signer.address == bytes.fromhex(Account.from_key(key).address[2:])
    assert key.hex() not in repr(signer) and signer.address.hex() in repr(signer)
    assert kernels.signer(int.from_bytes(key, "big")).address == signer.address
    for bad, exc in [(0, ValueError), (N, ValueError), (bytes(32), ValueError), (b"\x01" * 31, ValueError)]:
        with pytest.raises(exc) as info:
            kernels.signer(bad)
        assert "private key" in str(info.value)
    for bad_type in ["00" * 32, 1.5, None, True]:
        with pytest.raises(TypeError):
            kernels.signer(bad_type)  # type: ignore[arg-type]
    secret = (N - 1).to_bytes(32, "big")
    with pytest.raises(ValueError) as info:
        kernels.signer(N + 5)
    assert str(N + 5) not in str(info.value) and secret.hex() not in str(info.value)
    tx = kernels.Eip1559Tx(chain_id=1, nonce=0, max_priority_fee=1, max_fee=2, gas_limit=21000, to=b"\x11" * 20)
    bad_fields: list[tuple[dict[str, Any], str]] = [
        ({"chain_id": -1}, "chain_id"),
        ({"nonce": 2**64}, "nonce"),
        ({"max_fee": 2**256}, "max_fee"),
        ({"gas_limit": "21000"}, "gas_limit"),
        ({"to": b"\x11" * 19}, "to"),
        ({"data": "calldata"}, "data"),
        ({"data": bytes(kernels.SIGN_TX_MAX_DATA + 1)}, "at most"),
        ({"access_list": [(b"\x11" * 20,)]}, r"access_list\[0\]"),
        ({"access_list": [(b"\x11" * 20, [b"\x00" * 31])]}, "storage key"),
    ]
    for change, match in bad_fields:
        with pytest.raises(aioultra.InvalidTask, match=match):
            engine.submit(signer, _replace(tx, change))
    with pytest.raises(aioultra.InvalidTask, match="Eip1559Tx"):
        engine.submit(signer, {"nonce": 1})
    signed = await wait_for(engine.submit(signer, tx))
    assert (await wait_for(engine.submit(kernels.tx_sender, signed.raw))).sender == signer.address
    created = await wait_for(engine.submit(signer, _replace(tx, {"to": None, "data": b"\x60\x00"})))
    rec = await wait_for(engine.submit(kernels.rlp_tx, created.raw))
    assert rec.to is None and rec.data == b"\x60\x00" and rec.hash == created.hash


def _replace(tx: kernels.Eip1559Tx, change: dict[str, Any]) -> kernels.Eip1559Tx:
    fields = {name: getattr(tx, name) for name in tx.__dataclass_fields__}
    return kernels.Eip1559Tx(**{**fields, **change})


def test_without_coincurve_the_error_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['coincurve'] = None\n"
        "from aioultra import kernels\n"
        "try:\n    kernels.tx_sender\nexcept ImportError as e:\n    print('ERR', e)\n"
        "print(kernels.rlp_tx.name)\n"  # the other kernels still work
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "aioultra[eth]" in out and "ERR" in out and out.strip().endswith("rlp_tx")


ETH_TESTS = json.loads((DATA / "ethereum_transaction_tests.json").read_text())["tests"]
# ethereum/tests exceptions that are not about the bytes or the signature (gas, limits, the
# chain the test runs on): a decoder with sender recovery accepts these transactions.
SEMANTIC = {
    "INTRINSIC_GAS_TOO_LOW",
    "GASLIMIT_PRICE_PRODUCT_OVERFLOW",
    "INITCODE_SIZE_EXCEEDED",
    "NONCE_TOO_BIG",
    "PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS_2",
    "INVALID_CHAINID",
}


async def test_ethereum_tests_transaction_tests(engine: aioultra.Engine) -> None:
    """ethereum/tests' TransactionTests (tests/data/ethereum_transaction_tests.json, made by
    scripts/extract_txtests.py): every valid transaction gives its sender and hash; every one
    rejected for its encoding or its signature is rejected (with a decoding or signature code)."""
    valid = [t for t in ETH_TESTS if "sender" in t["result"]]
    assert len(valid) >= 50
    got = await wait_for(engine.map(kernels.tx_sender, [bytes.fromhex(t["txbytes"]) for t in valid]))
    for t, s in zip(valid, got, strict=True):
        assert (s.sender.hex(), s.hash.hex()) == (t["result"]["sender"], t["result"]["hash"]), t["name"]
    rejected = 0
    for t in ETH_TESTS:
        if "exception" not in t["result"]:
            continue
        reason = t["result"]["exception"].split(".")[-1]
        try:
            await wait_for(engine.submit(kernels.tx_sender, bytes.fromhex(t["txbytes"])))
        except aioultra.KernelError as exc:
            assert -14 <= exc.code <= -10 or -33 <= exc.code <= -30, (t["name"], exc.code)
            rejected += 1
        else:
            assert reason in SEMANTIC, f"{t['file']}: {t['name']} ({reason}) was accepted"
    assert rejected >= 100
