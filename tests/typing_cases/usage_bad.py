"""Misuses of the submission API that ``mypy --strict`` must reject: every line marked
``# E`` gets an error (tests/test_typing.py checks it), and no other line does."""

from __future__ import annotations

import aioultra


def add(a: int, b: int) -> int:
    return a + b


class Square(aioultra.Task[int]):
    def execute(self) -> int:
        return 4


async def main(engine: aioultra.Engine) -> None:
    engine.submit(add, 1)  # E: too few arguments
    engine.submit(add, 1, 2, 3)  # E: too many arguments
    engine.submit(add, "1", 2)  # E: a str for an int
    engine.submit(add, 1, c=2)  # E: unknown keyword
    engine.submit(Square(), 5)  # E: arguments to a Task
    engine.submit(aioultra.kernels.noop, on_full="block")  # E: not a policy
    _text: str = await engine.submit(add, 1, 2)  # E: int is not str
    engine.submit_many(add, [1])  # E: add takes two arguments
    await engine.map(len, [1, 2])  # E: len of an int
