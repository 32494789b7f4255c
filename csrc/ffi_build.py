"""cffi build script for ``aioultra._core`` (API mode, out of line).

``setup.py`` names ``csrc/ffi_build.py:ffibuilder``; ``pip install .`` compiles the C core
with -O2. ``AIOULTRA_SANITIZE=thread`` or ``=address,undefined`` builds an instrumented core
(used by the sanitizer tests, which load it with LD_PRELOAD of the runtime).
``AIOULTRA_SEED_BUG`` injects a known bug (see csrc/deque.c) for the seeded-bug checks.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
# setuptools wants sources relative to setup.py, which sits one level above csrc/.
REL = Path(os.path.relpath(HERE, Path.cwd())) if Path.cwd() != HERE else Path(".")

SOURCES = [
    "ring.c",
    "deque.c",
    "pool.c",
    "injector.c",
    "completion.c",
    "topology.c",
    "worker.c",
    "engine.c",
    "histogram.c",
    "bench.c",
    "floor.c",
    "kernels/basic.c",
    "kernels/keccak256.c",
    "kernels/tx_decode.c",
    "kernels/rlp_tx.c",
    "kernels/secp256k1.c",
    "kernels/sender.c",
    "kernels/sign_tx.c",
    "kernels/univ2.c",
]


def compile_args() -> list[str]:
    """Compiler flags: -O2 always; sanitizer flags when AIOULTRA_SANITIZE is set."""
    args = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"]
    sanitize = os.environ.get("AIOULTRA_SANITIZE", "")
    if sanitize:
        args += [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-g"]
        if "undefined" in sanitize:
            args.append("-fno-sanitize-recover=all")
    return args


def link_args() -> list[str]:
    """Linker flags matching compile_args()."""
    args = ["-pthread"]
    sanitize = os.environ.get("AIOULTRA_SANITIZE", "")
    if sanitize:
        args.append(f"-fsanitize={sanitize}")
    return args


def make_builder(src: Path) -> FFI:
    """An FFI builder for the C sources under ``src`` (relative to the cwd, or absolute)."""
    builder = FFI()
    builder.cdef((HERE / "cdef.h").read_text())
    builder.set_source(
        "aioultra._core",
        '#include "aioultra.h"\n#include "kernels.h"\n#include "secp256k1.h"\n',
        sources=[str(src / s) for s in SOURCES],
        include_dirs=[str(src), str(src / "kernels")],
        extra_compile_args=compile_args(),
        extra_link_args=link_args(),
    )
    return builder


ffibuilder = make_builder(REL)

if __name__ == "__main__":
    # Standalone build: python csrc/ffi_build.py OUTDIR  ->  OUTDIR/aioultra/_core*.so
    out = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else HERE.parent
    make_builder(HERE).compile(tmpdir=str(out), verbose=False)  # absolute paths: compile() chdirs
