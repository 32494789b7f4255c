"""EngineConfig: defaults, validation, replace(), from_env(), resolve_topology(), and how
Engine(config, **overrides) applies them."""

from __future__ import annotations

import dataclasses
import os
import threading

import pytest

import aioultra
from aioultra import EngineConfig, Topology, kernels

from .helpers import wait_for

# --- defaults ----------------------------------------------------------------------------


def test_defaults() -> None:
    c = EngineConfig()
    assert c.workers_per_numa_node is None
    assert c.queue_capacity == 8192
    assert c.enable_work_stealing is True
    assert c.enable_cpu_affinity is True
    assert c.load_balance_threshold == 0.25
    assert c.topology is None
    assert c.numa_enabled is True
    assert c.spin_us == 500.0
    assert c.wake_policy == "local" and c.adaptive_spin is True and c.max_searchers is None
    assert c == EngineConfig()
    assert hash(c) == hash(EngineConfig())


def test_frozen() -> None:
    c = EngineConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.queue_capacity = 16  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"queue_capacity": 2},
        {"queue_capacity": 1 << 24},
        {"queue_capacity": 1024},
        {"workers_per_numa_node": 1},
        {"workers_per_numa_node": 1024},
        {"load_balance_threshold": 0},
        {"load_balance_threshold": 0.0},
        {"load_balance_threshold": 1},
        {"load_balance_threshold": 1.0},
        {"spin_us": 0},
        {"spin_us": 1e6},
        {"topology": "0-3;4-7"},
        {"topology": Topology.from_spec("0;1")},
        {"numa_enabled": False, "enable_cpu_affinity": False, "enable_work_stealing": False},
    ],
)
def test_valid_values(kwargs: dict[str, object]) -> None:
    c = EngineConfig(**kwargs)  # type: ignore[arg-type]
    for name, value in kwargs.items():
        assert getattr(c, name) == value


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"queue_capacity": 0}, ValueError, r"must be a power of two between 2 and 2\*\*24, got 0"),
        ({"queue_capacity": 1}, ValueError, "queue_capacity must be a power of two.*got 1$"),
        ({"queue_capacity": 3}, ValueError, "queue_capacity must be a power of two.*got 3$"),
        ({"queue_capacity": 1000}, ValueError, "queue_capacity must be a power of two.*got 1000"),
        ({"queue_capacity": -8}, ValueError, "queue_capacity must be a power of two.*got -8"),
        ({"queue_capacity": 1 << 25}, ValueError, "queue_capacity must be a power of two"),
        ({"queue_capacity": True}, TypeError, "queue_capacity must be an int, got True"),
        ({"queue_capacity": 1024.0}, TypeError, "queue_capacity must be an int, got 1024.0"),
        ({"queue_capacity": "1024"}, TypeError, "queue_capacity must be an int"),
        ({"queue_capacity": None}, TypeError, "queue_capacity must be an int"),
        ({"workers_per_numa_node": 0}, ValueError, "workers_per_numa_node must be >= 1, got 0"),
        ({"workers_per_numa_node": -1}, ValueError, "workers_per_numa_node must be >= 1, got -1"),
        ({"workers_per_numa_node": 1025}, ValueError, "workers_per_numa_node must be <= 1024"),
        ({"workers_per_numa_node": "2"}, TypeError, "workers_per_numa_node must be an int or None, got '2'"),
        ({"workers_per_numa_node": 2.0}, TypeError, "workers_per_numa_node must be an int or None"),
        ({"workers_per_numa_node": True}, TypeError, "workers_per_numa_node must be an int or None"),
        ({"load_balance_threshold": -0.1}, ValueError, r"threshold must be between 0\.0 and 1\.0, got -0\.1"),
        ({"load_balance_threshold": 1.5}, ValueError, r"threshold must be between 0\.0 and 1\.0, got 1\.5"),
        ({"load_balance_threshold": float("nan")}, ValueError, "load_balance_threshold must be between"),
        ({"load_balance_threshold": "0.5"}, TypeError, "load_balance_threshold must be a number"),
        ({"load_balance_threshold": True}, TypeError, "load_balance_threshold must be a number"),
        ({"spin_us": -1}, ValueError, "spin_us must be a number between 0 and 1e6"),
        ({"spin_us": float("inf")}, ValueError, "spin_us must be a number between 0 and 1e6"),
        ({"spin_us": float("nan")}, ValueError, "spin_us must be a number between 0 and 1e6"),
        ({"spin_us": "50"}, TypeError, "spin_us must be a number, got '50'"),
        ({"spin_us": True}, TypeError, "spin_us must be a number, got True"),
        ({"wake_policy": "nearest"}, ValueError, "wake_policy must be one of local, any, got 'nearest'"),
        ({"wake_policy": 0}, TypeError, "wake_policy must be a str, got 0"),
        ({"adaptive_spin": 1}, TypeError, "adaptive_spin must be a bool, got 1"),
        ({"max_searchers": 0}, ValueError, "max_searchers must be between 1 and 1024, got 0"),
        ({"max_searchers": 2000}, ValueError, "max_searchers must be between 1 and 1024, got 2000"),
        ({"max_searchers": 1.5}, TypeError, "max_searchers must be an int or None, got 1.5"),
        ({"max_searchers": False}, TypeError, "max_searchers must be an int or None, got False"),
        ({"enable_work_stealing": 1}, TypeError, "enable_work_stealing must be a bool, got 1"),
        ({"enable_cpu_affinity": "yes"}, TypeError, "enable_cpu_affinity must be a bool"),
        ({"numa_enabled": None}, TypeError, "numa_enabled must be a bool"),
        ({"topology": 5}, TypeError, "topology must be a Topology, a spec string or None"),
        ({"topology": [[0], [1]]}, TypeError, "topology must be a Topology, a spec string or None"),
        ({"topology": ""}, ValueError, "empty topology spec"),
        ({"topology": "0-3;;4"}, ValueError, "node 1 of topology spec '0-3;;4' is empty"),
        ({"topology": "0;a"}, ValueError, "node 1 \\('a'\\) of topology spec '0;a'"),
        ({"topology": "3-1"}, ValueError, "range end 1 is below its start 3"),
        ({"topology": "0-1;1-2"}, ValueError, "CPU 1 is in both node 0 and node 1"),
    ],
)
def test_validation(kwargs: dict[str, object], exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        EngineConfig(**kwargs)  # type: ignore[arg-type]


def test_unknown_field_in_constructor() -> None:
    with pytest.raises(TypeError, match="bogus"):
        EngineConfig(bogus=1)  # type: ignore[call-arg]


# --- replace -----------------------------------------------------------------------------


def test_replace() -> None:
    c = EngineConfig()
    d = c.replace(queue_capacity=64, spin_us=0)
    assert (d.queue_capacity, d.spin_us) == (64, 0)
    assert c.queue_capacity == 8192 and c.spin_us == 500.0  # the original is unchanged
    assert d.replace() == d


def test_replace_unknown_field_names_it() -> None:
    with pytest.raises(TypeError, match=r"unknown EngineConfig field\(s\): bogus$"):
        EngineConfig().replace(bogus=1)
    with pytest.raises(TypeError, match="alpha, zeta"):
        EngineConfig().replace(zeta=1, alpha=2, queue_capacity=64)


def test_replace_validates() -> None:
    with pytest.raises(ValueError, match="queue_capacity must be a power of two"):
        EngineConfig().replace(queue_capacity=3)
    with pytest.raises(TypeError, match="workers_per_numa_node must be an int"):
        EngineConfig().replace(workers_per_numa_node="2")


# --- from_env ----------------------------------------------------------------------------


def test_from_env_empty_is_default() -> None:
    assert EngineConfig.from_env(env={}) == EngineConfig()
    blank = {name: "  " for name in ("AIOULTRA_NUMA_ENABLED", "AIOULTRA_QUEUE_CAPACITY", "AIOULTRA_TOPOLOGY")}
    assert EngineConfig.from_env(env=blank) == EngineConfig()


def test_from_env_reads_every_variable() -> None:
    c = EngineConfig.from_env(
        env={
            "AIOULTRA_NUMA_ENABLED": "0",
            "AIOULTRA_CPU_AFFINITY": "false",
            "AIOULTRA_WORK_STEALING": "off",
            "AIOULTRA_WORKERS_PER_NODE": "3",
            "AIOULTRA_QUEUE_CAPACITY": "1024",
            "AIOULTRA_TOPOLOGY": "0;1",
            "AIOULTRA_LOAD_BALANCE_THRESHOLD": "0.5",
            "AIOULTRA_SPIN_US": "7.5",
            "AIOULTRA_WAKE_POLICY": " Any ",
            "AIOULTRA_ADAPTIVE_SPIN": "off",
            "AIOULTRA_MAX_SEARCHERS": "2",
            "UNRELATED": "ignored",
        }
    )
    assert c == EngineConfig(
        numa_enabled=False,
        enable_cpu_affinity=False,
        enable_work_stealing=False,
        workers_per_numa_node=3,
        queue_capacity=1024,
        topology="0;1",
        load_balance_threshold=0.5,
        spin_us=7.5,
        wake_policy="any",
        adaptive_spin=False,
        max_searchers=2,
    )


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("OFF\n", False),
    ],
)
def test_from_env_booleans(raw: str, value: bool) -> None:
    pairs = (("AIOULTRA_NUMA_ENABLED", "numa_enabled"), ("AIOULTRA_CPU_AFFINITY", "enable_cpu_affinity"))
    for var, field in pairs:
        assert getattr(EngineConfig.from_env(env={var: raw}), field) is value


def test_from_env_ints_and_topology() -> None:
    c = EngineConfig.from_env(env={"AIOULTRA_WORKERS_PER_NODE": " 2 ", "AIOULTRA_QUEUE_CAPACITY": "16"})
    assert (c.workers_per_numa_node, c.queue_capacity) == (2, 16)
    c = EngineConfig.from_env(env={"AIOULTRA_TOPOLOGY": " 0-1;2-3 "})
    assert c.topology == "0-1;2-3"
    assert c.resolve_topology().nodes == [[0, 1], [2, 3]]


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"AIOULTRA_NUMA_ENABLED": "maybe"}, "AIOULTRA_NUMA_ENABLED='maybe': expected one of"),
        ({"AIOULTRA_CPU_AFFINITY": "2"}, "AIOULTRA_CPU_AFFINITY='2'"),
        ({"AIOULTRA_WORK_STEALING": "enabled"}, "AIOULTRA_WORK_STEALING"),
        ({"AIOULTRA_WORKERS_PER_NODE": "two"}, "AIOULTRA_WORKERS_PER_NODE='two': expected an integer"),
        ({"AIOULTRA_WORKERS_PER_NODE": "1.5"}, "AIOULTRA_WORKERS_PER_NODE='1.5': expected an integer"),
        ({"AIOULTRA_QUEUE_CAPACITY": "0x100"}, "AIOULTRA_QUEUE_CAPACITY='0x100': expected an integer"),
        ({"AIOULTRA_QUEUE_CAPACITY": "lots"}, "AIOULTRA_QUEUE_CAPACITY"),
        ({"AIOULTRA_LOAD_BALANCE_THRESHOLD": "half"}, "THRESHOLD='half': expected a number"),
        ({"AIOULTRA_SPIN_US": "fast"}, "AIOULTRA_SPIN_US"),
        ({"AIOULTRA_WAKE_POLICY": "nearest"}, "AIOULTRA_WAKE_POLICY='nearest': wake_policy must be one of local, any"),
        ({"AIOULTRA_ADAPTIVE_SPIN": "maybe"}, "AIOULTRA_ADAPTIVE_SPIN='maybe': expected one of"),
        ({"AIOULTRA_MAX_SEARCHERS": "0"}, "AIOULTRA_MAX_SEARCHERS='0': max_searchers must be between 1 and 1024"),
        ({"AIOULTRA_TOPOLOGY": "0;;1"}, "AIOULTRA_TOPOLOGY: node 1 of topology spec '0;;1' is empty"),
        ({"AIOULTRA_TOPOLOGY": "0;x"}, "AIOULTRA_TOPOLOGY: node 1"),
        ({"AIOULTRA_TOPOLOGY": "0-1;1"}, "AIOULTRA_TOPOLOGY: CPU 1 is in both"),
    ],
)
def test_from_env_malformed_names_the_variable(env: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EngineConfig.from_env(env=env)


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"AIOULTRA_QUEUE_CAPACITY": "1000"}, "queue_capacity must be a power of two.*got 1000"),
        ({"AIOULTRA_QUEUE_CAPACITY": "1"}, "queue_capacity must be a power of two"),
        ({"AIOULTRA_WORKERS_PER_NODE": "0"}, "workers_per_numa_node must be >= 1"),
        ({"AIOULTRA_LOAD_BALANCE_THRESHOLD": "1.5"}, "load_balance_threshold must be between"),
    ],
)
def test_from_env_out_of_range(env: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        EngineConfig.from_env(env=env)
    assert str(info.value).startswith(next(iter(env)) + "="), info.value  # names the variable


def test_from_env_overrides_win() -> None:
    env = {"AIOULTRA_QUEUE_CAPACITY": "1024", "AIOULTRA_NUMA_ENABLED": "no"}
    c = EngineConfig.from_env(env=env, queue_capacity=64)
    assert (c.queue_capacity, c.numa_enabled) == (64, False)
    with pytest.raises(TypeError, match="bogus"):
        EngineConfig.from_env(env={}, bogus=1)
    with pytest.raises(ValueError, match="queue_capacity must be a power of two"):
        EngineConfig.from_env(env=env, queue_capacity=3)


def test_from_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AIOULTRA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AIOULTRA_QUEUE_CAPACITY", "256")
    monkeypatch.setenv("AIOULTRA_CPU_AFFINITY", "0")
    c = EngineConfig.from_env()
    assert (c.queue_capacity, c.enable_cpu_affinity) == (256, False)


# --- resolve_topology --------------------------------------------------------------------


def test_resolve_topology_spec_and_collapse() -> None:
    assert EngineConfig(topology="0;1").resolve_topology().nodes == [[0], [1]]
    collapsed = EngineConfig(topology="0;1", numa_enabled=False).resolve_topology()
    assert collapsed.node_count == 1
    assert collapsed.nodes == [[0, 1]]
    assert EngineConfig(topology="0-1;2-3", numa_enabled=False).resolve_topology().nodes == [[0, 1, 2, 3]]


def test_resolve_topology_object_and_detect() -> None:
    topo = Topology.from_spec("0-1;2-3")
    assert EngineConfig(topology=topo).resolve_topology() == topo
    assert EngineConfig(topology=topo, numa_enabled=False).resolve_topology().nodes == [[0, 1, 2, 3]]
    detected = EngineConfig().resolve_topology()
    assert detected.node_count >= 1
    assert set(detected.cpus) <= os.sched_getaffinity(0)
    flat = EngineConfig(numa_enabled=False).resolve_topology()
    assert flat.node_count == 1
    assert flat.cpus == detected.cpus


# --- Engine(config, **overrides) ---------------------------------------------------------


def test_engine_rejects_bad_settings_before_starting() -> None:
    threads = threading.active_count()
    with pytest.raises(ValueError, match=r"queue_capacity must be a power of two.*got 3"):
        aioultra.Engine(queue_capacity=3)
    with pytest.raises(TypeError, match=r"unknown EngineConfig field\(s\): bogus"):
        aioultra.Engine(bogus=1)
    with pytest.raises(TypeError, match="config must be an EngineConfig or None, got dict"):
        aioultra.Engine({"queue_capacity": 64})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workers_per_numa_node must be >= 1"):
        aioultra.Engine(EngineConfig(queue_capacity=64), workers_per_numa_node=0)
    assert threading.active_count() == threads  # no worker was started


def test_engine_not_started_has_config_but_no_work() -> None:
    engine = aioultra.Engine(EngineConfig(queue_capacity=64), spin_us=0)
    assert engine.config == EngineConfig(queue_capacity=64, spin_us=0)
    assert not engine.running
    with pytest.raises(aioultra.EngineClosed, match="not started"):
        engine.stats()


async def test_config_with_override() -> None:
    config = EngineConfig(queue_capacity=1024, enable_cpu_affinity=False)
    engine = aioultra.Engine(config, spin_us=0)
    assert engine.config.spin_us == 0
    assert engine.config.queue_capacity == 1024
    assert engine.config.enable_cpu_affinity is False
    assert config.spin_us == 500.0  # the passed config is not modified
    async with engine:
        assert engine.running
        assert await wait_for(engine.submit(lambda: "spin 0")) == "spin 0"
        assert await wait_for(engine.map(kernels.noop, [b""] * 100)) == [b""] * 100
        stats = engine.stats()
        assert stats.queue_capacity == 1024
        assert all(w.planned_cpu == -1 and not w.pinned for w in stats.workers)
    assert not engine.running


async def test_engine_uses_config_object_unchanged() -> None:
    config = EngineConfig(queue_capacity=128)
    async with aioultra.Engine(config) as engine:
        assert engine.config is config
        assert engine.stats().queue_capacity == 128


async def test_three_workers_per_node_on_explicit_topology() -> None:
    """More workers than CPUs on a two-node spec topology (this machine may have only 2 CPUs)."""
    engine = aioultra.Engine(workers_per_numa_node=3, topology="0;1", spin_us=20)
    async with engine:
        assert engine.topology.nodes == [[0], [1]]
        stats = engine.stats()
        assert len(stats.workers) == 6
        assert [w.node for w in stats.workers] == [0, 0, 0, 1, 1, 1]
        assert [w.index for w in stats.workers] == list(range(6))
        assert [n.workers for n in stats.nodes] == [3, 3]
        assert [n.cpus for n in stats.nodes] == [(0,), (1,)]
        allowed = os.sched_getaffinity(0)
        for w in stats.workers:
            cpu = w.node  # node n holds only CPU n
            assert w.planned_cpu == (cpu if cpu in allowed else -1)
        # it runs work
        assert await wait_for(engine.submit(lambda: 6 * 7)) == 42
        assert await wait_for(engine.map(lambda x: x * 2, range(1000))) == [x * 2 for x in range(1000)]
        digests = await wait_for(engine.map(kernels.keccak256, [b"%d" % i for i in range(600)]))
        assert len(digests) == 600 and all(len(d) == 32 for d in digests)
        after = engine.stats()
        assert sum(w.executed for w in after.workers) >= 3
        assert after.tasks_failed == 0
    assert not engine.running
    with pytest.raises(aioultra.EngineClosed):
        await wait_for(engine.submit(lambda: 1))


async def test_numa_disabled_collapses_workers_into_one_node() -> None:
    engine = aioultra.Engine(workers_per_numa_node=3, topology="0;1", numa_enabled=False, spin_us=20)
    async with engine:
        stats = engine.stats()
        assert [w.node for w in stats.workers] == [0, 0, 0]
        assert len(stats.nodes) == 1
        assert stats.nodes[0].cpus == (0, 1)
        assert await wait_for(engine.submit(lambda: "one node")) == "one node"
