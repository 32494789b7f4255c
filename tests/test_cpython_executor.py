"""CPython's own generic executor tests run against aioultra.Executor: the ExecutorTest,
WaitTests, AsCompletedTests and ExecutorShutdownTest mixins of the standard library's
``test.test_concurrent_futures`` (and its FutureTests), with the executor type swapped, as
CPython runs them for ThreadPoolExecutor. The stdlib test package ships with the pyenv 3.13
install on these machines (the test command runs this module there, in scripts/test-pythons.sh);
where it is missing the module is skipped.

Skipped cases, and why:
- ExecutorShutdownTest.test_interpreter_shutdown, .test_submit_after_interpreter_shutdown and
  .test_hang_gh83386 run a child interpreter that does ``from concurrent.futures import
  <executor type name>``, which cannot name an executor from another package.
- FutureTests.test_done_callback_raises and .test_done_callback_raises_already_succeeded (they
  involve no executor) read stderr for what logging's last-resort handler prints, and pytest's
  log capture takes those records instead.
"""

from __future__ import annotations

import unittest

import pytest

util = pytest.importorskip("test.test_concurrent_futures.util", reason="no stdlib test package here")

from test.test_concurrent_futures import executor, test_as_completed, test_future, test_shutdown, test_wait  # noqa: E402

import aioultra  # noqa: E402

NOT_APPLICABLE = "the child interpreter imports the executor type from concurrent.futures"
LOG_CAPTURE = "reads logging's last-resort output on stderr, which pytest's log capture takes"


class AioultraMixin(util.ExecutorMixin):  # type: ignore[name-defined,misc]
    executor_type = aioultra.Executor


class AioultraExecutorTest(executor.ExecutorTest, AioultraMixin, util.BaseTestCase):  # type: ignore[misc]
    pass


class AioultraWaitTest(test_wait.WaitTests, AioultraMixin, util.BaseTestCase):  # type: ignore[misc]
    pass


class AioultraAsCompletedTest(test_as_completed.AsCompletedTests, AioultraMixin, util.BaseTestCase):  # type: ignore[misc]
    pass


class AioultraShutdownTest(test_shutdown.ExecutorShutdownTest, AioultraMixin, util.BaseTestCase):  # type: ignore[misc]
    @unittest.skip(NOT_APPLICABLE)
    def test_interpreter_shutdown(self) -> None: ...

    @unittest.skip(NOT_APPLICABLE)
    def test_submit_after_interpreter_shutdown(self) -> None: ...

    @unittest.skip(NOT_APPLICABLE)
    def test_hang_gh83386(self) -> None: ...


class AioultraFutureTest(test_future.FutureTests):  # type: ignore[misc]
    @unittest.skip(LOG_CAPTURE)
    def test_done_callback_raises(self) -> None: ...

    @unittest.skip(LOG_CAPTURE)
    def test_done_callback_raises_already_succeeded(self) -> None: ...
