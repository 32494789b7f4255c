"""Builds the bundled fixture reproducibly: ``python -m examples.mempool_watcher.fixture``.

Writes data/pools.json (Uniswap V2-style pools on three DEXes with small price differences)
and data/pending.jsonl (pending transactions as a node would send them: hash, raw RLP, from,
nonce, to, type): real RLP encodings of legacy (EIP-155), EIP-2930 and EIP-1559 transactions
(some typed ones wrapped in an RLP string), each signed by one of SENDERS keys (RFC 6979, so
deterministic) with mostly consecutive nonces, some gaps and some replacements; a share of
Uniswap V2 router swaps with valid calldata, ordinary transfers and contract calls, a few
malformed ones (truncated, garbage, trailing bytes, unknown type, a high-s signature), and the
real mainnet transactions of tests/data/transactions.json. Same seed, same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from .ethcodec import ROUTER_V2, SECP256K1_N, SIGNATURES, encode_swap, keccak256, key_address, rlp_encode, sign_hash

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
VECTORS = HERE.parent.parent / "tests" / "data" / "transactions.json"
SEED = 20261126
TIMESTAMP = 1_764_115_200
ETHER = 10**18
WETH = bytes.fromhex("c02aaa39b223fe8d0a0e5c4f27ead9083c756cc2")
# token -> (price in ETH per whole token, decimals)
TOKENS = {
    "USDC": (1 / 3000, 6),
    "DAI": (1 / 3000, 18),
    "LINK": (1 / 200, 18),
    "UNI": (1 / 400, 18),
    "PEPE": (1 / 3e8, 18),
    "MKR": (0.6, 18),
}
SENDERS = 300
SENDER_KEYS = [keccak256(b"aioultra fixture sender %d" % i) for i in range(SENDERS)]
DEXES = ("uniswap_v2", "sushiswap", "shibaswap", "pancakeswap", "defiswap", "fraxswap", "elkswap", "radioshack")


def token_address(symbol: str) -> bytes:
    """A deterministic 20-byte address for a fixture token (WETH is the real one)."""
    return WETH if symbol == "WETH" else keccak256(b"aioultra fixture token " + symbol.encode())[:20]


def build_pools(rng: random.Random) -> dict[str, object]:
    """Pools: WETH/token on every DEX, with a few percent of price spread between them."""
    pools = []
    for symbol, (price, decimals) in TOKENS.items():
        token = token_address(symbol)
        for dex in DEXES:
            eth_reserve = rng.randint(200, 20_000) * ETHER // (1 if dex == "uniswap_v2" else 4)
            skew = 1 + rng.uniform(-0.03, 0.03)
            token_reserve = int(eth_reserve / ETHER / price * skew * 10**decimals)
            t0, t1, r0, r1 = (WETH, token, eth_reserve, token_reserve)
            if token < WETH:
                t0, t1, r0, r1 = token, WETH, token_reserve, eth_reserve
            address = keccak256(dex.encode() + t0 + t1)[12:]
            pools.append(
                {
                    "address": address.hex(),
                    "dex": dex,
                    "token0": t0.hex(),
                    "token1": t1.hex(),
                    "reserve0": str(r0),
                    "reserve1": str(r1),
                }
            )
    tokens = {"WETH": WETH.hex(), **{s: token_address(s).hex() for s in TOKENS}}
    return {"timestamp": TIMESTAMP, "tokens": tokens, "pools": pools}


def amount_out(amount_in: int, r_in: int, r_out: int) -> int:
    fee = amount_in * 997
    return fee * r_out // (r_in * 1000 + fee)


def encode_tx(
    rng: random.Random, tx_type: int, to: bytes, value: int, data: bytes, nonce: int, key: bytes, high_s: bool = False
) -> bytes:
    """A raw transaction of the given type on chain 1, signed with ``key`` (``high_s``: with the
    signature's s negated, which every node refuses)."""
    gas = rng.randint(21_000, 400_000)
    tip = rng.randint(1, 5) * 10**9
    fee = tip + rng.randint(10, 60) * 10**9
    if tx_type == 0:
        unsigned: list[object] = [nonce, fee, gas, to, value, data]
        parity, r, s = sign_hash(key, keccak256(rlp_encode([*unsigned, 1, 0, 0])))  # EIP-155, chain id 1
        if high_s:
            parity, s = parity ^ 1, SECP256K1_N - s
        return rlp_encode([*unsigned, 37 + parity, r, s])
    access = [
        [rng.randbytes(20), [rng.randbytes(32) for _ in range(rng.randint(0, 2))]] for _ in range(rng.randint(0, 2))
    ]
    if tx_type == 1:
        unsigned = [1, nonce, fee, gas, to, value, data, access]
    else:
        unsigned = [1, nonce, tip, fee, gas, to, value, data, access]
    prefix = bytes([tx_type])
    parity, r, s = sign_hash(key, keccak256(prefix + rlp_encode(unsigned)))
    if high_s:
        parity, s = parity ^ 1, SECP256K1_N - s
    return prefix + rlp_encode([*unsigned, parity, r, s])


def swap_tx(rng: random.Random, pools: list[dict[str, object]]) -> tuple[bytes, int]:
    """Calldata and value of a router swap against the fixture's Uniswap pools."""
    function = rng.choice(sorted(SIGNATURES))
    symbol = rng.choice(sorted(TOKENS))
    token = token_address(symbol)
    uni = next(p for p in pools if p["dex"] == "uniswap_v2" and token.hex() in (p["token0"], p["token1"]))
    eth_in = function in ("swapExactETHForTokens", "swapETHForExactTokens")
    eth_out = function in ("swapExactTokensForETH", "swapTokensForExactETH")
    if eth_in or eth_out or rng.random() < 0.5:
        path = [WETH, token] if (eth_in or (not eth_out and rng.random() < 0.5)) else [token, WETH]
    else:
        path = [WETH, token]
    if rng.random() < 0.08:  # a multi-hop path
        path = [*path, token_address(rng.choice(sorted(TOKENS)))]
    r0, r1 = int(uni["reserve0"]), int(uni["reserve1"])  # type: ignore[call-overload]
    r_in, r_out = (r0, r1) if uni["token0"] == path[0].hex() else (r1, r0)
    amount_in = max(1, int(r_in * rng.uniform(0.0005, 0.03)))
    out = amount_out(amount_in, r_in, r_out)
    slippage = rng.choice([0.005, 0.01, 0.03]) if rng.random() > 0.05 else -0.01  # 5% revert
    deadline = TIMESTAMP + rng.randint(60, 1200) if rng.random() > 0.1 else TIMESTAMP - rng.randint(1, 600)
    recipient = rng.randbytes(20)
    if function in ("swapExactTokensForTokens", "swapExactETHForTokens", "swapExactTokensForETH"):
        data = encode_swap(function, amount_in, int(out * (1 - slippage)), path, recipient, deadline)
        value = amount_in if eth_in else 0
    else:
        max_in = int(amount_in * (1 + slippage))
        data = encode_swap(function, out, max_in, path, recipient, deadline)
        value = max_in if eth_in else 0
    return data, value


class Nonces:
    """Each fixture sender's nonces: mostly the next one, sometimes a gap (1-3 skipped) or a
    replacement (the previous nonce again)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next = [rng.randint(0, 5000) for _ in range(SENDERS)]
        self.used: set[int] = set()

    def take(self, sender: int) -> int:
        roll = self.rng.random()
        if roll < 0.04 and sender in self.used:
            return self.next[sender] - 1  # a replacement
        nonce = self.next[sender] + (self.rng.randint(1, 3) if roll < 0.08 else 0)
        self.next[sender] = nonce + 1
        self.used.add(sender)
        return nonce


def build_txs(rng: random.Random, pools: list[dict[str, object]], count: int) -> list[dict[str, object]]:
    """Pending transaction objects: {hash, raw, from, nonce, to, type}."""
    out: list[dict[str, object]] = []
    nonces = Nonces(rng)
    addresses = [key_address(k) for k in SENDER_KEYS]
    for n in range(count):
        kind = rng.random()
        tx_type = rng.choices([0, 1, 2], weights=[3, 1, 6])[0]
        sender = rng.randrange(SENDERS)
        if kind < 0.35:
            data, value = swap_tx(rng, pools)
            to: bytes = ROUTER_V2
        elif kind < 0.65:
            to, data, value = rng.randbytes(20), b"", rng.randint(1, 50) * ETHER // 100
        elif kind < 0.97:
            to, data, value = rng.randbytes(20), rng.randbytes(4 + 32 * rng.randint(0, 6)), 0
            if rng.random() < 0.05:
                to = b""  # contract creation
        else:
            out.append(malformed(rng, n))
            continue
        nonce = nonces.take(sender)
        raw = encode_tx(rng, tx_type, to, value, data, nonce, SENDER_KEYS[sender])
        tx_hash = keccak256(raw)
        if tx_type and rng.random() < 0.2:
            raw = rlp_encode(raw)  # a typed tx wrapped in an RLP byte string, as some feeds send them
        out.append(
            {
                "hash": "0x" + tx_hash.hex(),
                "raw": "0x" + raw.hex(),
                "from": "0x" + addresses[sender].hex(),
                "nonce": hex(nonce),
                "to": "0x" + to.hex() if to else None,
                "type": hex(tx_type),
            }
        )
    for vector in json.loads(VECTORS.read_text())["transactions"]:
        out.insert(rng.randrange(len(out) + 1), {"hash": "0x" + vector["hash"], "raw": "0x" + vector["raw"]})
    return out


def malformed(rng: random.Random, n: int) -> dict[str, object]:
    """A transaction whose raw bytes are broken in one of several ways."""
    how = rng.choice(["truncated", "garbage", "trailing", "type", "signature"])
    good = encode_tx(rng, rng.choice([0, 2]), rng.randbytes(20), 1, b"", n, SENDER_KEYS[0], high_s=how == "signature")
    if how == "signature":  # well-formed, but a signature every node refuses
        raw = good
    elif how == "truncated":
        raw = good[: rng.randrange(1, len(good))]
    elif how == "garbage":
        raw = rng.randbytes(rng.randint(1, 120))
    elif how == "trailing":
        raw = good + b"\x00"
    else:
        raw = b"\x05" + good[1:]
    return {"hash": "0x" + keccak256(raw).hex(), "raw": "0x" + raw.hex(), "malformed": how}


def main(argv: list[str] | None = None) -> None:
    """Write data/pools.json and data/pending.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=4000, help="generated transactions (plus the vectors)")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    rng = random.Random(SEED)
    pools = build_pools(rng)
    txs = build_txs(rng, pools["pools"], args.count)  # type: ignore[arg-type]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pools.json").write_text(json.dumps(pools, indent=1) + "\n")
    (args.out / "pending.jsonl").write_text("".join(json.dumps(t, separators=(",", ":")) + "\n" for t in txs))
    print(f"wrote {len(pools['pools'])} pools and {len(txs)} transactions to {args.out}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
