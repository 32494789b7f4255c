"""Plain-Python Ethereum codecs: RLP, typed transactions, the Uniswap V2 router ABI.

This is the reference the native kernels are checked against and the pure-Python strategy's
decoder; the fixture generator uses the encoders.
"""

from __future__ import annotations

from dataclasses import dataclass

from Crypto.Hash import keccak as _keccak

from aioultra.kernels import TxRecord

ROUTER_V2 = bytes.fromhex("7a250d5630b4cf539739df2c5dacb4c659f2488d")


def keccak256(data: bytes) -> bytes:
    """Ethereum's Keccak-256 (pycryptodome)."""
    return _keccak.new(digest_bits=256, data=data).digest()


# --- RLP -------------------------------------------------------------------------------------


def rlp_encode(item: bytes | int | list[object]) -> bytes:
    """RLP of bytes, a non-negative int (minimal big-endian) or a (nested) list."""
    if isinstance(item, int):
        item = item.to_bytes((item.bit_length() + 7) // 8, "big") if item else b""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_prefix(len(item), 0x80) + item
    body = b"".join(rlp_encode(x) for x in item)  # type: ignore[arg-type]
    return _length_prefix(len(body), 0xC0) + body


def _length_prefix(n: int, base: int) -> bytes:
    if n < 56:
        return bytes([base + n])
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([base + 55 + len(ln)]) + ln


class RLPError(ValueError):
    """Malformed RLP; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _item(data: bytes, pos: int, end: int) -> tuple[bool, int, int]:
    """(is_list, payload_start, payload_end) of the item at pos; strict (canonical) RLP."""
    if pos >= end:
        raise RLPError("truncated")
    b = data[pos]
    if b < 0x80:
        return False, pos, pos + 1
    if b < 0xB8:
        n = b - 0x80
        if pos + 1 + n > end:
            raise RLPError("truncated")
        if n == 1 and data[pos + 1] < 0x80:
            raise RLPError("non-canonical single byte")
        return False, pos + 1, pos + 1 + n
    if b < 0xC0:
        return (False, *_long(data, pos, end, b - 0xB7))
    if b < 0xF8:
        n = b - 0xC0
        if pos + 1 + n > end:
            raise RLPError("truncated")
        return True, pos + 1, pos + 1 + n
    return (True, *_long(data, pos, end, b - 0xF7))


def _long(data: bytes, pos: int, end: int, ll: int) -> tuple[int, int]:
    if pos + 1 + ll > end:
        raise RLPError("truncated")
    if data[pos + 1] == 0:
        raise RLPError("non-canonical length")
    n = int.from_bytes(data[pos + 1 : pos + 1 + ll], "big")
    if n < 56:
        raise RLPError("non-canonical length")
    start = pos + 1 + ll
    if start + n > end:
        raise RLPError("truncated")
    return start, start + n


def _list(data: bytes, start: int, end: int) -> list[tuple[bool, int, int]]:
    items = []
    pos = start
    while pos < end:
        is_list, s, e = _item(data, pos, end)
        items.append((is_list, s, e))
        pos = e
    return items


def _uint(data: bytes, item: tuple[bool, int, int], bits: int = 256) -> int:
    is_list, s, e = item
    if is_list or e - s > bits // 8:
        raise RLPError("bad field")
    if e - s > 0 and data[s] == 0:
        raise RLPError("non-canonical integer")
    return int.from_bytes(data[s:e], "big")


def _bytes(data: bytes, item: tuple[bool, int, int]) -> bytes:
    if item[0]:
        raise RLPError("bad field")
    return data[item[1] : item[2]]


Tx = TxRecord  # one transaction type for the kernel's and this decoder's results


def decode_tx(raw: bytes) -> Tx:
    """Decode a raw legacy / EIP-2930 / EIP-1559 transaction (typed ones may be wrapped in an
    RLP string) into the same record the ``rlp_tx`` kernel yields. Raises RLPError with a reason
    on malformed input."""
    if not raw:
        raise RLPError("truncated")
    if 0x80 <= raw[0] < 0xC0:  # a typed tx wrapped in an RLP byte string
        is_list, s, e = _item(raw, 0, len(raw))
        if e != len(raw):
            raise RLPError("trailing bytes")
        raw = raw[s:e]
        if not raw:
            raise RLPError("truncated")
    if raw[0] >= 0xC0:
        tx_type, body = 0, 0
    elif raw[0] in (1, 2):
        tx_type, body = raw[0], 1
    else:
        raise RLPError("unsupported transaction type")
    is_list, s, e = _item(raw, body, len(raw))
    if not is_list:
        raise RLPError("bad field")
    if e != len(raw):
        raise RLPError("trailing bytes")
    f = _list(raw, s, e)
    tx_hash = keccak256(raw)
    if tx_type == 0:
        if len(f) != 9:
            raise RLPError("bad field")
        nonce, price, gas = _uint(raw, f[0], 64), _uint(raw, f[1]), _uint(raw, f[2], 64)
        to, value, data, v = _bytes(raw, f[3]), _uint(raw, f[4]), _bytes(raw, f[5]), _uint(raw, f[6])
        _uint(raw, f[7]), _uint(raw, f[8])
        chain_id = (v - 35) // 2 if v >= 35 else 0
        tip = price
    else:
        if len(f) != (11 if tx_type == 1 else 12):
            raise RLPError("bad field")
        chain_id, nonce = _uint(raw, f[0], 64), _uint(raw, f[1], 64)
        if tx_type == 1:
            price = tip = _uint(raw, f[2])
            k = 3
        else:
            tip, price = _uint(raw, f[2]), _uint(raw, f[3])
            k = 4
        gas, to, value, data = _uint(raw, f[k], 64), _bytes(raw, f[k + 1]), _uint(raw, f[k + 2]), _bytes(raw, f[k + 3])
        _access_list(raw, f[k + 4])
        _uint(raw, f[k + 5]), _uint(raw, f[k + 6]), _uint(raw, f[k + 7])
    if len(to) not in (0, 20):
        raise RLPError("bad field")
    return Tx(tx_type, tx_hash, nonce, gas, chain_id, to or None, value, price, tip, data, raw)


def _access_list(raw: bytes, item: tuple[bool, int, int]) -> None:
    if not item[0]:
        raise RLPError("bad field")
    for entry in _list(raw, item[1], item[2]):
        if not entry[0]:
            raise RLPError("bad field")
        parts = _list(raw, entry[1], entry[2])
        if len(parts) != 2 or parts[0][0] or parts[0][2] - parts[0][1] != 20 or not parts[1][0]:
            raise RLPError("bad field")
        for key in _list(raw, parts[1][1], parts[1][2]):
            if key[0] or key[2] - key[1] != 32:
                raise RLPError("bad field")


# --- the Uniswap V2 router ABI ---------------------------------------------------------------

SIGNATURES = {
    "swapExactTokensForTokens": "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
    "swapExactETHForTokens": "swapExactETHForTokens(uint256,address[],address,uint256)",
    "swapExactTokensForETH": "swapExactTokensForETH(uint256,uint256,address[],address,uint256)",
    "swapETHForExactTokens": "swapETHForExactTokens(uint256,address[],address,uint256)",
    "swapTokensForExactTokens": "swapTokensForExactTokens(uint256,uint256,address[],address,uint256)",
    "swapTokensForExactETH": "swapTokensForExactETH(uint256,uint256,address[],address,uint256)",
}
SELECTORS = {keccak256(sig.encode())[:4]: name for name, sig in SIGNATURES.items()}
EXACT_IN = {"swapExactTokensForTokens", "swapExactETHForTokens", "swapExactTokensForETH"}


@dataclass(frozen=True)
class Swap:
    """A decoded router swap. For exact-in swaps ``amount`` is the input and ``limit`` the minimum
    output; for exact-out swaps ``amount`` is the output and ``limit`` the maximum input."""

    function: str
    amount: int
    limit: int
    path: tuple[bytes, ...]
    recipient: bytes
    deadline: int

    @property
    def exact_in(self) -> bool:
        """True for swapExact*For* (the input amount is fixed)."""
        return self.function in EXACT_IN


def encode_swap(function: str, amount: int, limit: int, path: list[bytes], recipient: bytes, deadline: int) -> bytes:
    """Calldata of a router swap. For the ETH-in functions ``amount`` is not encoded (it is
    tx.value for swapExactETHForTokens); ``limit`` is amountOutMin / amountOut."""
    words: list[int | list[bytes]]
    if function in ("swapExactETHForTokens", "swapETHForExactTokens"):
        words = [limit, path, int.from_bytes(recipient, "big"), deadline]
    else:
        words = [amount, limit, path, int.from_bytes(recipient, "big"), deadline]
    head, tail = b"", b""
    offset = 32 * len(words)
    for w in words:
        if isinstance(w, list):
            head += (offset + len(tail)).to_bytes(32, "big")
            tail += len(w).to_bytes(32, "big") + b"".join(a.rjust(32, b"\0") for a in w)
        else:
            head += w.to_bytes(32, "big")
    selector = next(sel for sel, name in SELECTORS.items() if name == function)
    return selector + head + tail


def decode_swap(data: bytes, value: int) -> Swap | None:
    """The router swap in ``data`` (calldata) or None when it is not one; raises ValueError on
    calldata that claims to be a swap but is malformed."""
    name = SELECTORS.get(data[:4])
    if name is None:
        return None
    args = data[4:]
    eth_in = name in ("swapExactETHForTokens", "swapETHForExactTokens")
    n_static = 4 if eth_in else 5

    def word(i: int) -> int:
        if len(args) < 32 * (i + 1):
            raise ValueError(f"{name}: calldata too short")
        return int.from_bytes(args[32 * i : 32 * i + 32], "big")

    words = [word(i) for i in range(n_static)]
    path_at = 1 if eth_in else 2
    off = words[path_at]
    if off % 32 or off + 32 > len(args):
        raise ValueError(f"{name}: bad path offset")
    n = int.from_bytes(args[off : off + 32], "big")
    if n < 2 or n > 8 or off + 32 + 32 * n > len(args):
        raise ValueError(f"{name}: bad path length")
    path = []
    for i in range(n):
        w = args[off + 32 + 32 * i : off + 64 + 32 * i]
        if any(w[:12]):
            raise ValueError(f"{name}: bad address in path")
        path.append(w[12:])
    recipient = words[path_at + 1].to_bytes(32, "big")[12:]
    deadline = words[path_at + 2]
    if eth_in:
        amount, limit = (value, words[0]) if name == "swapExactETHForTokens" else (words[0], value)
    else:
        amount, limit = words[0], words[1]
    return Swap(name, amount, limit, tuple(path), recipient, deadline)


# --- signatures (the reference for the tx_sender and sign_tx kernels; coincurve's libsecp256k1) --

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def address_of(public_key: bytes) -> bytes:
    """The address of a 65-byte uncompressed public key."""
    return keccak256(public_key[1:])[12:]


def key_address(key: bytes) -> bytes:
    """The address of a 32-byte private key."""
    from coincurve import PrivateKey

    return address_of(PrivateKey(key).public_key.format(compressed=False))


def sign_hash(key: bytes, digest: bytes) -> tuple[int, int, int]:
    """(yParity, r, s) of an RFC 6979 signature of ``digest`` (low s)."""
    from coincurve import PrivateKey

    sig = PrivateKey(key).sign_recoverable(digest, hasher=None)
    return sig[64], int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")


def recover_sender(raw: bytes) -> bytes:
    """The sender of a raw transaction that decode_tx accepts (legacy, 2930 or 1559); raises
    RLPError("bad signature") for a signature a node would refuse (r or s out of range, high s,
    a bad v, or no key recovering)."""
    from coincurve import PublicKey

    if 0x80 <= raw[0] < 0xC0:
        _, s, e = _item(raw, 0, len(raw))
        raw = raw[s:e]
    typed = raw[0] < 0xC0
    _, s, e = _item(raw, 1 if typed else 0, len(raw))
    items = _list(raw, s, e)
    v, r, sig_s = (_uint(raw, it) for it in items[-3:])
    if typed:
        body = raw[s : items[-4][2]]
        payload, recid = raw[:1] + _length_prefix(len(body), 0xC0) + body, v
    else:
        body = raw[s : items[5][2]]
        if v in (27, 28):
            recid = v - 27
        elif v >= 35:
            chain = (v - 35) // 2
            recid = v - 35 - 2 * chain
            body += rlp_encode(chain) + b"\x80\x80"  # EIP-155: chainId, 0, 0
        else:
            raise RLPError("bad signature")
        payload = _length_prefix(len(body), 0xC0) + body
    if not (0 < r < SECP256K1_N and 0 < sig_s <= SECP256K1_N // 2) or recid not in (0, 1):
        raise RLPError("bad signature")
    signature = r.to_bytes(32, "big") + sig_s.to_bytes(32, "big") + bytes([recid])
    try:
        public = PublicKey.from_signature_and_message(signature, keccak256(payload), hasher=None)
    except ValueError:
        raise RLPError("bad signature") from None
    return address_of(public.format(compressed=False))
