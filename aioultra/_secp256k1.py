"""libsecp256k1 for the signature kernels, taken from coincurve.

coincurve (PyPI) bundles libsecp256k1 in its own compiled cffi module. The kernels call the
library through function pointers: this module reads the addresses of the functions they need
(``_ffi.SECP_FUNCTIONS``) and of coincurve's global context from that module, once per
process, and hands them to the core (``_ffi.secp_provider``). Nothing is vendored and no system
library is needed. The context is used only through functions that take it ``const``, which
libsecp256k1 documents as safe from many threads at once.
"""

from __future__ import annotations

import threading
from typing import Any

from . import _ffi

# aio_secp256k1 field -> libsecp256k1 function
_NAMES = {
    "recsig_parse_compact": "secp256k1_ecdsa_recoverable_signature_parse_compact",
    "recsig_serialize_compact": "secp256k1_ecdsa_recoverable_signature_serialize_compact",
    "recover": "secp256k1_ecdsa_recover",
    "sign_recoverable": "secp256k1_ecdsa_sign_recoverable",
    "pubkey_create": "secp256k1_ec_pubkey_create",
    "pubkey_serialize": "secp256k1_ec_pubkey_serialize",
}

_lock = threading.Lock()
_provider: tuple[Any, object] | None = None  # (the aio_secp256k1 cdata, what keeps its library alive)


class Secp256k1Unavailable(ImportError):
    """coincurve (libsecp256k1) is not installed: ``pip install aioultra[eth]``."""


def provider() -> Any:
    """The process's aio_secp256k1 (a cdata pointer), built on first use."""
    global _provider
    with _lock:
        if _provider is None:
            _provider = _load()
        return _provider[0]


def _load() -> tuple[Any, object]:
    try:
        from coincurve import _libsecp256k1
        from coincurve.context import GLOBAL_CONTEXT
    except ImportError as exc:
        raise Secp256k1Unavailable(
            "the signature kernels need libsecp256k1 from coincurve: pip install 'aioultra[eth]' (or coincurve)"
        ) from exc
    cc_ffi, cc_lib = _libsecp256k1.ffi, _libsecp256k1.lib
    functions = {field: int(cc_ffi.cast("uintptr_t", cc_ffi.addressof(cc_lib, name))) for field, name in _NAMES.items()}
    ctx = int(cc_ffi.cast("uintptr_t", GLOBAL_CONTEXT.ctx))
    # coincurve's module and its context object stay referenced as long as the process runs
    return _ffi.secp_provider(ctx, functions), (cc_lib, GLOBAL_CONTEXT)
