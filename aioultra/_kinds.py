"""Names of the per-kind counters: the process-wide table from a kind slot to a name.

The core keeps per-kind counters in ``AIO_KINDS`` slots. A kernel takes the slot of its name
(the first kernel of a name claims the next free one); Python callables share the slot
``"python"``; once every slot is taken, further names count in slot 0, ``"other"``. So the
number of distinct kinds (and of metric labels) is bounded whatever a program submits.
"""

from __future__ import annotations

import threading

from . import _ffi

OTHER = "other"
PYTHON = "python"

_names: list[str] = [OTHER, PYTHON]
_slots: dict[str, int] = {OTHER: 0, PYTHON: 1}
PYTHON_SLOT = 1
_lock = threading.Lock()


def slot(name: str) -> int:
    """The kind slot for ``name`` (claimed on first use; 0 when all are taken)."""
    found = _slots.get(name)
    if found is not None:
        return found
    with _lock:
        found = _slots.get(name)
        if found is not None:
            return found
        if len(_names) >= _ffi.KINDS:
            return 0
        _slots[name] = len(_names)
        _names.append(name)
        return _slots[name]


def names() -> tuple[str, ...]:
    """The names of the slots claimed so far, by slot."""
    return tuple(_names)
