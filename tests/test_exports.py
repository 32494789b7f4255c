"""The public surface is a contract: these names exist and nothing else leaks into __all__."""

import aioultra

EXPECTED = {
    "DeadlineExceeded",
    "Engine",
    "EngineClosed",
    "EngineConfig",
    "EngineStats",
    "Executor",
    "InvalidTask",
    "Kernel",
    "KernelError",
    "KernelStats",
    "LaneStats",
    "LatencyStats",
    "NodeStats",
    "QueueFull",
    "Rates",
    "StageLatency",
    "Task",
    "TaskFuture",
    "Topology",
    "UltraEngineError",
    "WorkerStats",
    "kernels",
}


def test_all_is_the_contract() -> None:
    assert set(aioultra.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(aioultra, name), name


def test_error_hierarchy() -> None:
    for exc in (
        aioultra.QueueFull,
        aioultra.EngineClosed,
        aioultra.DeadlineExceeded,
        aioultra.InvalidTask,
        aioultra.KernelError,
    ):
        assert issubclass(exc, aioultra.UltraEngineError)
    assert issubclass(aioultra.InvalidTask, TypeError)
    assert issubclass(aioultra.InvalidTask, ValueError)


def test_metrics_module() -> None:
    """aioultra.metrics is imported on demand (it needs prometheus_client); it documents itself."""
    from aioultra import metrics

    assert set(metrics.__all__) == {"BUCKETS_S", "EngineCollector", "serve"}
    assert metrics.EngineCollector.__doc__ and metrics.serve.__doc__


def test_kernels_module() -> None:
    for name in ("noop", "spin", "keccak256"):
        assert isinstance(getattr(aioultra.kernels, name), aioultra.Kernel)
    assert aioultra.kernels.keccak256.out_size == 32


def test_public_objects_have_docstrings() -> None:
    for name in EXPECTED:
        obj = getattr(aioultra, name)
        assert obj.__doc__, f"{name} has no docstring"
