"""EngineConfig: the engine's settings, validated when the engine is built."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ._topology import Topology

WAKE_POLICIES = ("local", "any")
ON_FULL_POLICIES = ("raise", "wait")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _env_str(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    return raw.strip().lower()


def _env_bool(env: Mapping[str, str], name: str) -> bool | None:
    value = _env_str(env, name)
    if value is None:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={env[name]!r}: expected one of 1/0/true/false/yes/no/on/off")


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw.strip(), 10)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected an integer") from None


def _env_float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return float(raw.strip())
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number") from None


@dataclass(frozen=True)
class EngineConfig:
    """Settings of an :class:`aioultra.Engine`.

    Attributes:
        workers_per_numa_node: worker threads per NUMA node; None means one per allowed CPU
            of the node.
        queue_capacity: maximum tasks in flight (submitted, not yet delivered); a power of
            two >= 2. ``submit`` raises QueueFull when it is reached.
        enable_work_stealing: idle workers steal from peers (and, past the threshold, from
            other nodes). False disables all stealing.
        enable_cpu_affinity: pin each worker to one CPU of its node.
        load_balance_threshold: fraction of ``queue_capacity`` (0.0-1.0) by which a node's
            load must exceed another's before submissions move off it or its work is stolen
            across nodes.
        topology: a Topology, a spec string such as ``"0-3;4-7"``, or None to detect.
        numa_enabled: False collapses every node into one.
        spin_us: the longest an idle worker searches (spins) for work before parking on its
            futex; with ``adaptive_spin`` it spins only while its recent idle gaps were shorter.
        wake_policy: which parked worker a submission wakes when no worker is searching:
            ``"local"`` the worker pinned to the submitting thread's CPU first (a same-CPU
            wake-up is 5-10x cheaper than waking another vCPU in a VM), then any; ``"any"``
            any parked worker of the node (round robin). See docs/scheduling.md.
        adaptive_spin: spin only while arrivals are dense (recent idle gaps < ``spin_us``);
            False spins ``spin_us`` after every task.
        max_searchers: cap on a node's workers searching at once; None means half of the
            node's workers (at least one).
        on_full: what ``submit`` and ``submit_many`` do when ``queue_capacity`` tasks are in
            flight: ``"raise"`` QueueFull at the call (nothing queued), or ``"wait"``: the
            future waits, in order and cancellable, for a free slot. Each call may override
            it (``on_full=``). ``map`` always waits.
        latency_histograms: record each task's queue wait (submit to start), run time (start
            to end) and delivery (end to its loop draining it) in native histograms, read by
            ``stats().latency`` (a clock read at submit and one per drained batch besides the
            worker's own; False turns them off).
    """

    workers_per_numa_node: int | None = None
    queue_capacity: int = 8192
    enable_work_stealing: bool = True
    enable_cpu_affinity: bool = True
    load_balance_threshold: float = 0.25
    topology: Topology | str | None = None
    numa_enabled: bool = True
    spin_us: float = 500.0
    wake_policy: str = "local"
    adaptive_spin: bool = True
    max_searchers: int | None = None
    on_full: str = "raise"
    latency_histograms: bool = True

    def __post_init__(self) -> None:
        w = self.workers_per_numa_node
        if w is not None and (not isinstance(w, int) or isinstance(w, bool)):
            raise TypeError(f"workers_per_numa_node must be an int or None, got {w!r}")
        if w is not None and w < 1:
            raise ValueError(f"workers_per_numa_node must be >= 1, got {w}")
        if w is not None and w > 1024:
            raise ValueError(f"workers_per_numa_node must be <= 1024, got {w}")
        q = self.queue_capacity
        if not isinstance(q, int) or isinstance(q, bool):
            raise TypeError(f"queue_capacity must be an int, got {q!r}")
        if q < 2 or q & (q - 1) != 0 or q > 1 << 24:
            raise ValueError(f"queue_capacity must be a power of two between 2 and 2**24, got {q}")
        t = self.load_balance_threshold
        if not isinstance(t, int | float) or isinstance(t, bool):
            raise TypeError(f"load_balance_threshold must be a number, got {t!r}")
        if not 0.0 <= t <= 1.0 or t != t:  # compares ints exactly (no float overflow); t != t: NaN
            raise ValueError(f"load_balance_threshold must be between 0.0 and 1.0, got {t}")
        s = self.spin_us
        if not isinstance(s, int | float) or isinstance(s, bool):
            raise TypeError(f"spin_us must be a number, got {s!r}")
        if not 0.0 <= s <= 1e6 or s != s:
            raise ValueError(f"spin_us must be a number between 0 and 1e6, got {s!r}")
        if not isinstance(self.wake_policy, str):
            raise TypeError(f"wake_policy must be a str, got {self.wake_policy!r}")
        if self.wake_policy not in WAKE_POLICIES:
            raise ValueError(f"wake_policy must be one of {', '.join(WAKE_POLICIES)}, got {self.wake_policy!r}")
        if not isinstance(self.on_full, str):
            raise TypeError(f"on_full must be a str, got {self.on_full!r}")
        if self.on_full not in ON_FULL_POLICIES:
            raise ValueError(f"on_full must be one of {', '.join(ON_FULL_POLICIES)}, got {self.on_full!r}")
        m = self.max_searchers
        if m is not None and (not isinstance(m, int) or isinstance(m, bool)):
            raise TypeError(f"max_searchers must be an int or None, got {m!r}")
        if m is not None and not 1 <= m <= 1024:
            raise ValueError(f"max_searchers must be between 1 and 1024, got {m}")
        for name in (
            "enable_work_stealing",
            "enable_cpu_affinity",
            "numa_enabled",
            "adaptive_spin",
            "latency_histograms",
        ):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.topology is not None and not isinstance(self.topology, Topology | str):
            raise TypeError(f"topology must be a Topology, a spec string or None, got {self.topology!r}")
        if isinstance(self.topology, str):
            Topology.from_spec(self.topology)  # raises ValueError naming the bad part

    def replace(self, **overrides: object) -> EngineConfig:
        """A copy with some fields replaced (validated); unknown names raise TypeError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"unknown EngineConfig field(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **overrides)  # type: ignore[arg-type]

    def resolve_topology(self) -> Topology:
        """The topology the engine will use: explicit, spec or detected; collapsed if NUMA is off."""
        if isinstance(self.topology, Topology):
            topo = self.topology
        elif isinstance(self.topology, str):
            topo = Topology.from_spec(self.topology)
        else:
            topo = Topology.detect()
        return topo if self.numa_enabled else topo.collapsed()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> EngineConfig:
        """Settings from the environment, then ``overrides``.

        Reads AIOULTRA_NUMA_ENABLED, AIOULTRA_CPU_AFFINITY, AIOULTRA_WORKERS_PER_NODE,
        AIOULTRA_QUEUE_CAPACITY, AIOULTRA_TOPOLOGY, AIOULTRA_WORK_STEALING,
        AIOULTRA_LOAD_BALANCE_THRESHOLD, AIOULTRA_SPIN_US, AIOULTRA_WAKE_POLICY,
        AIOULTRA_ADAPTIVE_SPIN, AIOULTRA_MAX_SEARCHERS, AIOULTRA_ON_FULL and
        AIOULTRA_LATENCY_HISTOGRAMS. A malformed value raises
        ValueError naming the variable.
        """
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        readers = {
            "numa_enabled": (_env_bool, "AIOULTRA_NUMA_ENABLED"),
            "enable_cpu_affinity": (_env_bool, "AIOULTRA_CPU_AFFINITY"),
            "enable_work_stealing": (_env_bool, "AIOULTRA_WORK_STEALING"),
            "workers_per_numa_node": (_env_int, "AIOULTRA_WORKERS_PER_NODE"),
            "queue_capacity": (_env_int, "AIOULTRA_QUEUE_CAPACITY"),
            "load_balance_threshold": (_env_float, "AIOULTRA_LOAD_BALANCE_THRESHOLD"),
            "spin_us": (_env_float, "AIOULTRA_SPIN_US"),
            "wake_policy": (_env_str, "AIOULTRA_WAKE_POLICY"),
            "adaptive_spin": (_env_bool, "AIOULTRA_ADAPTIVE_SPIN"),
            "max_searchers": (_env_int, "AIOULTRA_MAX_SEARCHERS"),
            "on_full": (_env_str, "AIOULTRA_ON_FULL"),
            "latency_histograms": (_env_bool, "AIOULTRA_LATENCY_HISTOGRAMS"),
        }
        for field, (read, name) in readers.items():
            value = read(env, name)
            if value is not None:
                try:
                    EngineConfig().replace(**{field: value})
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{name}={env[name]!r}: {exc}") from None
                values[field] = value
        spec = env.get("AIOULTRA_TOPOLOGY", "").strip()
        if spec:
            try:
                Topology.from_spec(spec)
            except ValueError as exc:
                raise ValueError(f"AIOULTRA_TOPOLOGY: {exc}") from None
            values["topology"] = spec
        values.update(overrides)
        try:
            return cls().replace(**values)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{exc} (from the environment or overrides)") from None
