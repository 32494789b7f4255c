"""Tests for aioultra._topology: cpulist parsing, Topology, sysfs detection."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioultra._topology import Topology, format_cpulist, parse_cpulist

# -- fake sysfs helpers ------------------------------------------------------


def make_sysfs(
    root: Path,
    nodes: dict[int, str] | None,
    *,
    node_online: str | None = None,
    cpu_online: str | None = None,
) -> Path:
    """Write a fake ``<root>/devices/system`` tree and return ``root``.

    ``nodes`` maps sysfs node number -> contents of ``node<N>/cpulist``;
    ``None`` creates no ``node`` directory at all.  ``node_online`` /
    ``cpu_online`` write the corresponding ``online`` files when given.
    """
    system = root / "devices" / "system"
    (system / "cpu").mkdir(parents=True)
    if cpu_online is not None:
        (system / "cpu" / "online").write_text(cpu_online + "\n")
    if nodes is not None:
        node_dir = system / "node"
        node_dir.mkdir()
        for number, cpulist in nodes.items():
            (node_dir / f"node{number}").mkdir()
            (node_dir / f"node{number}" / "cpulist").write_text(cpulist + "\n")
        # Distractors that must not be mistaken for node directories.
        (node_dir / "possible").write_text("0-7\n")
        (node_dir / "has_cpu").write_text("0\n")
        if node_online is not None:
            (node_dir / "online").write_text(node_online + "\n")
    return root


# -- parse_cpulist / format_cpulist -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("   \n", []),
        ("0", [0]),
        ("0\n", [0]),
        ("0-3", [0, 1, 2, 3]),
        ("0-3,8,10-11", [0, 1, 2, 3, 8, 10, 11]),
        (" 0-1 , 4 \n", [0, 1, 4]),
        ("8,0-2,1", [0, 1, 2, 8]),
        ("5-5", [5]),
        ("0-9:2/5", [0, 1, 5, 6]),
        ("0-7:1/2", [0, 2, 4, 6]),
    ],
)
def test_parse_cpulist(text: str, expected: list[int]) -> None:
    assert parse_cpulist(text) == expected


@pytest.mark.parametrize(
    ("text", "bad_part"),
    [
        ("3-1", "3-1"),
        ("a", "a"),
        ("0,a", "a"),
        ("1,,2", "position 1"),
        ("-1", "-1"),
        ("1-", "1-"),
        ("0-3,", "position 1"),
        ("1-2-3", "1-2-3"),
        ("+1", "+1"),
        ("0x1", "0x1"),
        ("0-9:3/2", "0-9:3/2"),
        ("0-9:1/0", "0-9:1/0"),
        ("5:1/2", "5:1/2"),
        ("0-999999999", "0-999999999"),
    ],
)
def test_parse_cpulist_rejects(text: str, bad_part: str) -> None:
    with pytest.raises(ValueError, match="cpulist") as info:
        parse_cpulist(text)
    assert bad_part in str(info.value)


@pytest.mark.parametrize(
    ("cpus", "expected"),
    [
        ([], ""),
        ([0], "0"),
        ([0, 1], "0-1"),
        ([0, 1, 2, 3, 8], "0-3,8"),
        ([8, 3, 2, 1, 0, 0], "0-3,8"),
        ([0, 2, 4], "0,2,4"),
        ([0, 1, 2, 3, 8, 10, 11], "0-3,8,10-11"),
    ],
)
def test_format_cpulist(cpus: list[int], expected: str) -> None:
    assert format_cpulist(cpus) == expected


def test_format_cpulist_rejects_negative() -> None:
    with pytest.raises(ValueError, match="-1"):
        format_cpulist([-1, 0])


@given(st.sets(st.integers(min_value=0, max_value=300)))
def test_cpulist_round_trip(cpus: set[int]) -> None:
    text = format_cpulist(cpus)
    assert parse_cpulist(text) == sorted(cpus)
    assert format_cpulist(parse_cpulist(text)) == text


# -- Topology basics -----------------------------------------------------------


def test_topology_properties() -> None:
    topo = Topology(((0, 1, 2, 3), (4, 5, 6, 7)))
    assert topo.node_count == 2
    assert topo.nodes == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert topo.cpu_lists == topo.nodes
    assert topo.cpus_per_node == [4, 4]
    assert topo.cpu_count == 8
    assert topo.cpus == list(range(8))
    assert topo.node_ids == (0, 1)
    # nodes returns a fresh copy: mutating it does not affect the topology.
    topo.nodes[0].append(99)
    assert topo.nodes[0] == [0, 1, 2, 3]


def test_topology_value_semantics() -> None:
    a = Topology(((3, 1, 2, 0), (4,)))
    b = Topology(((0, 1, 2, 3), (4,)), (0, 1))
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != Topology(((0, 1, 2, 3), (4,)), (0, 2))
    assert pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(AttributeError):
        a.node_ids = (5, 6)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("node_cpus", "node_ids", "message"),
    [
        ((), (), "at least one node"),
        (((0,), ()), (), "no CPUs"),
        (((0, 1), (1, 2)), (), "CPU 1"),
        (((0,), (1,)), (0,), "node ids"),
        (((0,), (1,)), (3, 3), "unique"),
        (((-1,),), (), "-1"),
    ],
)
def test_topology_validates(node_cpus: tuple[tuple[int, ...], ...], node_ids: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Topology(node_cpus, node_ids)


def test_node_of_cpu() -> None:
    topo = Topology.from_spec("0-3;4-7")
    assert [topo.node_of_cpu(cpu) for cpu in range(8)] == [0] * 4 + [1] * 4
    with pytest.raises(ValueError, match="CPU 8"):
        topo.node_of_cpu(8)


def test_node_of_cpu_is_index_not_sysfs_id(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-1", 4: "2-3"}, node_online="0,4")
    topo = Topology.detect(root, allowed_cpus=range(4))
    assert topo.node_ids == (0, 4)
    assert topo.node_of_cpu(3) == 1


def test_collapsed() -> None:
    topo = Topology(((4, 5), (0, 1)), (2, 7))
    flat = topo.collapsed()
    assert flat.node_count == 1
    assert flat.nodes == [[0, 1, 4, 5]]
    assert flat.node_ids == (0,)
    assert flat.cpu_count == topo.cpu_count
    assert flat.collapsed() == flat


def test_str() -> None:
    assert str(Topology.from_spec("0-3;4-7")) == ("2 NUMA nodes, 8 CPUs: node0=0-3 node1=4-7")
    assert str(Topology(((0,),), (3,))) == "1 NUMA node, 1 CPU: node3=0"
    assert str(Topology(((0, 2, 3),))) == "1 NUMA node, 3 CPUs: node0=0,2-3"


# -- from_spec ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "nodes"),
    [
        ("0-3;4-7", [[0, 1, 2, 3], [4, 5, 6, 7]]),
        ("0;1", [[0], [1]]),
        ("0-1", [[0, 1]]),
        (" 0-1 ; 2,3\n", [[0, 1], [2, 3]]),
        ("4-7;0-3", [[4, 5, 6, 7], [0, 1, 2, 3]]),
        ("100-101;200", [[100, 101], [200]]),  # not limited to this machine
    ],
)
def test_from_spec(spec: str, nodes: list[list[int]]) -> None:
    topo = Topology.from_spec(spec)
    assert topo.nodes == nodes
    assert topo.node_ids == tuple(range(len(nodes)))


@pytest.mark.parametrize(
    ("spec", "bad_part"),
    [
        ("", "empty topology spec"),
        ("  ", "empty topology spec"),
        ("0-3;;4", "node 1"),
        ("0-3;", "node 1"),
        (";0", "node 0"),
        ("0-3;3-5", "CPU 3"),
        ("0-3;x", "'x'"),
        ("0-3;5-4", "5-4"),
        ("1,,2", "position 1"),
    ],
)
def test_from_spec_rejects(spec: str, bad_part: str) -> None:
    with pytest.raises(ValueError) as info:
        Topology.from_spec(spec)
    message = str(info.value)
    assert bad_part in message
    assert repr(spec) in message


# -- detect() on fake sysfs trees ----------------------------------------------


def test_detect_two_sockets(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-3", 1: "4-7"}, node_online="0-1", cpu_online="0-7")
    topo = Topology.detect(root, allowed_cpus=range(8))
    assert topo.nodes == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert topo.node_ids == (0, 1)
    assert topo.cpus_per_node == [4, 4]
    assert str(topo) == "2 NUMA nodes, 8 CPUs: node0=0-3 node1=4-7"


def test_detect_accepts_str_root(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-3", 1: "4-7"}, node_online="0-1")
    assert Topology.detect(str(root), allowed_cpus=range(8)).node_count == 2


def test_detect_node_ids_with_gaps(tmp_path: Path) -> None:
    root = make_sysfs(
        tmp_path,
        {0: "0-1", 1: "2-3", 4: "4-5", 5: "6-7"},
        node_online="0-1,4-5",
    )
    topo = Topology.detect(root, allowed_cpus=range(8))
    assert topo.node_ids == (0, 1, 4, 5)
    assert topo.nodes == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_detect_without_online_file_globs_node_dirs(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-1", 1: "2-3", 4: "4-5", 10: "6-7"})
    topo = Topology.detect(root, allowed_cpus=range(8))
    assert topo.node_ids == (0, 1, 4, 10)  # numeric, not lexicographic, order
    assert topo.nodes == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_detect_only_online_nodes(tmp_path: Path) -> None:
    # node1 has a directory but is not listed as online.
    root = make_sysfs(tmp_path, {0: "0-3", 1: "4-7"}, node_online="0")
    topo = Topology.detect(root, allowed_cpus=range(8))
    assert topo.node_ids == (0,)
    assert topo.nodes == [[0, 1, 2, 3]]


def test_detect_drops_offline_cpus(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-3", 1: "4-7"}, node_online="0-1", cpu_online="0-2,4-7")
    topo = Topology.detect(root, allowed_cpus=range(8))
    assert topo.nodes == [[0, 1, 2], [4, 5, 6, 7]]
    assert topo.cpu_count == 7


def test_detect_drops_memory_only_node(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-3", 1: "", 2: "4-7"}, node_online="0-2", cpu_online="0-7")
    topo = Topology.detect(root, allowed_cpus=range(8))
    assert topo.node_ids == (0, 2)
    assert topo.nodes == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_detect_affinity_excludes_whole_node(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-3", 1: "4-7", 2: "8-11"}, node_online="0-2")
    topo = Topology.detect(root, allowed_cpus=[0, 1, 8, 9, 10, 11])
    assert topo.node_ids == (0, 2)
    assert topo.nodes == [[0, 1], [8, 9, 10, 11]]
    assert topo.node_of_cpu(9) == 1


def test_detect_without_node_dir(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, None, cpu_online="0-3")
    topo = Topology.detect(root, allowed_cpus=[0, 1, 2, 3, 4, 5])
    assert topo.nodes == [[0, 1, 2, 3]]  # CPUs 4-5 are offline
    assert topo.node_ids == (0,)


def test_detect_without_any_sysfs(tmp_path: Path) -> None:
    topo = Topology.detect(tmp_path / "does-not-exist", allowed_cpus=[2, 0, 1])
    assert topo.nodes == [[0, 1, 2]]
    assert topo.node_ids == (0,)


def test_detect_falls_back_when_no_node_keeps_a_cpu(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-3"}, node_online="0")
    topo = Topology.detect(root, allowed_cpus=[6, 7])
    assert topo.nodes == [[6, 7]]
    assert topo.node_ids == (0,)


def test_detect_ignores_malformed_sysfs(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-3", 1: "garbage"}, node_online="?", cpu_online="nonsense")
    topo = Topology.detect(root, allowed_cpus=range(8))
    # Malformed node/online -> node dirs are globbed; node1's malformed
    # cpulist drops that node; malformed cpu/online is ignored.
    assert topo.node_ids == (0,)
    assert topo.nodes == [[0, 1, 2, 3]]


def test_detect_online_file_listing_missing_node_dir(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-3"}, node_online="0-1")
    topo = Topology.detect(root, allowed_cpus=range(4))
    assert topo.nodes == [[0, 1, 2, 3]]


def test_detect_cpu_online_disjoint_from_allowed_is_ignored(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, None, cpu_online="0-1")
    topo = Topology.detect(root, allowed_cpus=[4, 5])
    assert topo.nodes == [[4, 5]]


def test_detect_no_allowed_cpus(tmp_path: Path) -> None:
    root = make_sysfs(tmp_path, {0: "0-3"}, node_online="0")
    with pytest.raises(ValueError, match="no allowed CPUs"):
        Topology.detect(root, allowed_cpus=[])


def test_detect_real_system() -> None:
    topo = Topology.detect()
    assert topo.node_count >= 1
    assert topo.cpu_count >= 1
    assert sum(topo.cpus_per_node) == topo.cpu_count
    if hasattr(os, "sched_getaffinity"):
        assert set(topo.cpus) <= os.sched_getaffinity(0)
    for index, node in enumerate(topo.nodes):
        for cpu in node:
            assert topo.node_of_cpu(cpu) == index


def test_detect_rejects_out_of_range_allowed_cpus(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"allowed CPU ids .*\[-1, 70000\]"):
        Topology.detect(tmp_path, allowed_cpus=[0, -1, 70000])
