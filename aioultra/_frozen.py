"""Fast construction of the frozen statistics dataclasses.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (about 0.1 us a
field here); a snapshot builds some twenty of them, which was most of what ``stats()`` cost.
``make`` fills the instance's ``__dict__`` in one call instead. The result is the same object
``cls(**fields)`` builds (equality, repr, hashing and ``dataclasses.replace`` read the fields),
as long as every field is given: checked by count on each call.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

_new = object.__new__


def make(cls: type[T], **fields: Any) -> T:
    """An instance of the frozen dataclass ``cls`` with exactly ``fields`` (all of them)."""
    if len(fields) != len(cls.__dataclass_fields__):  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__} needs all of its fields, got {sorted(fields)}")
    obj = _new(cls)
    obj.__dict__.update(fields)
    return obj
