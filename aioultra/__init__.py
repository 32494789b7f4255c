"""aioultra: run CPU work off the asyncio event loop on native, work-stealing worker threads.

Layers, one direction of dependency (see docs/design.md):
  Engine (public API)            aioultra/_engine.py
  completion bridge              aioultra/_bridge.py  (eventfd reader, batch drain)
  binding layer                  aioultra/_ffi.py     (the only user of cffi's lib)
  C core                         csrc/                (deque, injector, completion, pool, worker, engine)

The names below are the public API; tests/test_exports.py keeps them a contract.
"""

from . import kernels
from ._bridge import TaskFuture
from ._config import EngineConfig
from ._engine import Engine
from ._errors import DeadlineExceeded, EngineClosed, InvalidTask, KernelError, QueueFull, UltraEngineError
from ._rates import Rates
from ._stats import EngineStats, KernelStats, LaneStats, LatencyStats, NodeStats, StageLatency, WorkerStats
from ._task import Task
from ._topology import Topology
from .executor import Executor
from .kernels import Kernel

__all__ = [
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
]

__version__ = "0.1.0"
