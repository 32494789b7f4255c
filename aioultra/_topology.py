"""CPU / NUMA topology description and detection.

This module is self-contained (standard library, plus :mod:`psutil` as an
optional fallback) so that it can be imported and tested without the rest of
:mod:`aioultra` or its C core.

It provides:

* :func:`parse_cpulist` / :func:`format_cpulist` -- conversion between the
  Linux kernel *cpulist* syntax (``"0-3,8,10-11"``) and lists of CPU ids.
* :class:`Topology` -- an immutable, hashable description of which CPUs belong
  to which NUMA node.

Guarantees made by every :class:`Topology`, however it was built:

* it has at least one node, and every node holds at least one CPU;
* each node's CPU ids are sorted, unique and non-negative, and no CPU id
  appears in more than one node;
* ``node_ids`` has one unique, non-negative entry per node;
* instances compare and hash by value.

:meth:`Topology.detect` reads Linux sysfs and never raises because sysfs is
missing, incomplete or malformed: it falls back to a single node holding
every allowed CPU.  Its result only ever contains CPUs the process may run on
(the affinity mask, or the ``allowed_cpus`` argument), restricted to online
CPUs when that information is available.  :meth:`Topology.from_spec` builds an
explicit topology from a string and does *not* consult the running machine.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MAX_CPU_ID", "Topology", "format_cpulist", "parse_cpulist"]

#: Largest CPU id accepted by :func:`parse_cpulist` and :class:`Topology`.
#: Linux caps ``NR_CPUS`` at 8192; the generous bound only exists so that a
#: malformed range such as ``"0-999999999999"`` fails fast instead of
#: exhausting memory.
MAX_CPU_ID = 65535

_NUMBER = re.compile(r"[0-9]+", re.ASCII)
_NODE_DIR = re.compile(r"node([0-9]+)", re.ASCII)


def _parse_cpu_id(token: str, part: str, text: str) -> int:
    """Parse one decimal CPU id of ``part`` (an element of cpulist ``text``)."""
    token = token.strip()
    if not _NUMBER.fullmatch(token):
        raise ValueError(f"invalid cpulist element {part!r} in {text!r}: {token!r} is not a CPU number")
    value = int(token)
    if value > MAX_CPU_ID:
        raise ValueError(f"invalid cpulist element {part!r} in {text!r}: CPU {value} exceeds the maximum {MAX_CPU_ID}")
    return value


def _parse_group(spec: str, part: str, text: str) -> tuple[int, int]:
    """Parse the ``used/group`` suffix of a kernel ``a-b:used/group`` range."""
    used_text, sep, group_text = spec.partition("/")
    if not sep:
        raise ValueError(f"invalid cpulist element {part!r} in {text!r}: expected 'used/group' after ':'")
    used = _parse_cpu_id(used_text, part, text)
    group = _parse_cpu_id(group_text, part, text)
    if group == 0 or used > group:
        raise ValueError(f"invalid cpulist element {part!r} in {text!r}: need 0 < group and used <= group")
    return used, group


def parse_cpulist(text: str) -> list[int]:
    """Parse a Linux kernel *cpulist* into a sorted list of unique CPU ids.

    Accepted syntax is a comma separated list of elements, each either a CPU
    number (``"8"``), an inclusive range (``"0-3"``), or a strided range in the
    kernel's ``"a-b:used/group"`` form (``"0-9:2/5"`` is CPUs 0, 1, 5, 6).
    Whitespace around elements and a trailing newline (as found in sysfs
    files) are ignored.  An empty or all-whitespace string yields ``[]``.

    Raises:
        ValueError: on malformed input (``"3-1"``, ``"a"``, ``"1,,2"``,
            ``"-1"``, ...); the message quotes the offending element.
    """
    stripped = text.strip()
    if not stripped:
        return []
    cpus: set[int] = set()
    for index, raw in enumerate(stripped.split(",")):
        part = raw.strip()
        if not part:
            raise ValueError(f"empty element at position {index} in cpulist {text!r}")
        range_text, colon, group_text = part.partition(":")
        first_text, dash, last_text = range_text.partition("-")
        first = _parse_cpu_id(first_text, part, text)
        last = _parse_cpu_id(last_text, part, text) if dash else first
        if last < first:
            raise ValueError(
                f"invalid cpulist element {part!r} in {text!r}: range end {last} is below its start {first}"
            )
        if colon:
            if not dash:
                raise ValueError(f"invalid cpulist element {part!r} in {text!r}: ':used/group' requires a range")
            used, group = _parse_group(group_text, part, text)
            cpus.update(cpu for cpu in range(first, last + 1) if (cpu - first) % group < used)
        else:
            cpus.update(range(first, last + 1))
    return sorted(cpus)


def format_cpulist(cpus: Iterable[int]) -> str:
    """Format CPU ids as a kernel *cpulist*, compressing consecutive runs.

    Duplicates are ignored and order does not matter:
    ``format_cpulist([8, 0, 1, 2, 3])`` is ``"0-3,8"``.  Runs of two or more
    CPUs are written as ranges, as the kernel does (``"0-1"``).  The result
    round-trips through :func:`parse_cpulist`.

    Raises:
        ValueError: if a CPU id is negative.
    """
    ordered = sorted(set(cpus))
    if ordered and ordered[0] < 0:
        raise ValueError(f"negative CPU id {ordered[0]} cannot be formatted as a cpulist")
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        start = ordered[index]
        end = start
        while index + 1 < len(ordered) and ordered[index + 1] == end + 1:
            index += 1
            end = ordered[index]
        parts.append(str(start) if start == end else f"{start}-{end}")
        index += 1
    return ",".join(parts)


def _read_cpulist_file(path: Path) -> list[int] | None:
    """Return the cpulist stored in ``path``, or ``None`` if unreadable or malformed."""
    try:
        return parse_cpulist(path.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _default_allowed_cpus() -> set[int]:
    """CPUs this process may run on: affinity mask, else psutil, else all CPUs."""
    sched_getaffinity = getattr(os, "sched_getaffinity", None)
    if sched_getaffinity is not None:
        try:
            return {int(cpu) for cpu in sched_getaffinity(0)}
        except OSError:
            pass
    affinity: Iterable[int] = ()
    try:
        # Imported dynamically: psutil is optional and ships without type stubs.
        psutil = importlib.import_module("psutil")
        affinity = psutil.Process().cpu_affinity()
    except Exception:
        affinity = ()
    cpus = {int(cpu) for cpu in affinity}
    return cpus or set(range(os.cpu_count() or 1))


@dataclass(frozen=True)
class Topology:
    """Immutable assignment of CPU ids to NUMA nodes.

    ``node_cpus[i]`` holds the CPU ids of the *i*-th node and ``node_ids[i]``
    the number under which the system knows it (the ``N`` of sysfs
    ``nodeN``).  Node *indices* (positions, ``0 .. node_count - 1``) are what
    the rest of the API uses; ``node_ids`` is informational and may have gaps,
    e.g. ``(0, 2)`` when node 1 has no usable CPUs.

    The constructor normalises its arguments (each node sorted and
    deduplicated, plain tuples) and validates the invariants listed in the
    module docstring, raising :class:`ValueError` if they do not hold.
    ``node_ids`` defaults to ``0 .. n-1``.  Instances compare and hash by
    value.

    Build one with :meth:`detect` (from the running Linux system),
    :meth:`from_spec` (from a string such as ``"0-3;4-7"``), or directly.
    """

    node_cpus: tuple[tuple[int, ...], ...]
    node_ids: tuple[int, ...] = ()
    _cpu_to_node: Mapping[int, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        nodes = tuple(tuple(sorted(set(node))) for node in self.node_cpus)
        node_ids = tuple(self.node_ids) if self.node_ids else tuple(range(len(nodes)))
        if not nodes:
            raise ValueError("a topology needs at least one node")
        if len(node_ids) != len(nodes):
            raise ValueError(f"{len(node_ids)} node ids given for {len(nodes)} nodes")
        if len(set(node_ids)) != len(node_ids) or min(node_ids) < 0:
            raise ValueError(f"node ids must be unique and non-negative, got {node_ids}")
        cpu_to_node: dict[int, int] = {}
        for index, node in enumerate(nodes):
            if not node:
                raise ValueError(f"node {node_ids[index]} has no CPUs")
            for cpu in node:
                if not 0 <= cpu <= MAX_CPU_ID:
                    raise ValueError(f"CPU id {cpu} of node {node_ids[index]} is outside 0..{MAX_CPU_ID}")
                previous = cpu_to_node.setdefault(cpu, index)
                if previous != index:
                    raise ValueError(f"CPU {cpu} appears in node {node_ids[previous]} and node {node_ids[index]}")
        object.__setattr__(self, "node_cpus", nodes)
        object.__setattr__(self, "node_ids", node_ids)
        object.__setattr__(self, "_cpu_to_node", cpu_to_node)

    # -- derived views -----------------------------------------------------

    @property
    def node_count(self) -> int:
        """Number of NUMA nodes (always at least 1)."""
        return len(self.node_cpus)

    @property
    def nodes(self) -> list[list[int]]:
        """CPU ids of each node, in node order (a fresh list on every access)."""
        return [list(node) for node in self.node_cpus]

    @property
    def cpu_lists(self) -> list[list[int]]:
        """Alias of :attr:`nodes`."""
        return self.nodes

    @property
    def cpus_per_node(self) -> list[int]:
        """Number of CPUs in each node, in node order."""
        return [len(node) for node in self.node_cpus]

    @property
    def cpu_count(self) -> int:
        """Total number of CPUs over all nodes."""
        return len(self._cpu_to_node)

    @property
    def cpus(self) -> list[int]:
        """Every CPU id of the topology, sorted."""
        return sorted(self._cpu_to_node)

    def node_of_cpu(self, cpu: int) -> int:
        """Return the index (into :attr:`nodes`) of the node holding ``cpu``.

        Raises:
            ValueError: if ``cpu`` is not part of this topology.
        """
        try:
            return self._cpu_to_node[cpu]
        except KeyError:
            raise ValueError(f"CPU {cpu} is not part of the topology ({self})") from None

    def collapsed(self) -> Topology:
        """Return a single-node topology (node id 0) holding every CPU.

        Used when NUMA awareness is disabled.
        """
        return Topology((tuple(self.cpus),), (0,))

    def __str__(self) -> str:
        """Readable summary, e.g. ``"2 NUMA nodes, 8 CPUs: node0=0-3 node1=4-7"``."""
        nodes = f"{self.node_count} NUMA node{'s' if self.node_count != 1 else ''}"
        cpus = f"{self.cpu_count} CPU{'s' if self.cpu_count != 1 else ''}"
        detail = " ".join(
            f"node{node_id}={format_cpulist(node)}" for node_id, node in zip(self.node_ids, self.node_cpus, strict=True)
        )
        return f"{nodes}, {cpus}: {detail}"

    # -- constructors --------------------------------------------------------

    @classmethod
    def detect(
        cls,
        sysfs_root: str | os.PathLike[str] = "/sys",
        allowed_cpus: Iterable[int] | None = None,
    ) -> Topology:
        """Detect the NUMA topology of the running Linux system from sysfs.

        Node ids come from ``<root>/devices/system/node/online`` (or, if that
        file is missing or malformed, the ``node<N>`` directories) and each
        node's CPUs from ``node<N>/cpulist``.  Every node is intersected with
        the allowed CPUs -- ``allowed_cpus`` if given, else the process
        affinity mask (:func:`os.sched_getaffinity`, falling back to
        :mod:`psutil`, then to all of :func:`os.cpu_count`) -- and with
        ``<root>/devices/system/cpu/online`` when that file exists.  Nodes
        left without CPUs (memory-only nodes, nodes outside the affinity mask)
        are dropped; ``node_ids`` keeps the sysfs numbers of the rest.

        When sysfs has no NUMA information, or no node keeps a CPU, the result
        is a single node (id 0) of all allowed, online CPUs.  Unreadable or
        malformed sysfs files are treated as absent; this never raises
        because of sysfs.

        Raises:
            ValueError: if there are no allowed CPUs at all, or an
                ``allowed_cpus`` id lies outside ``0..MAX_CPU_ID``.
        """
        allowed = set(allowed_cpus) if allowed_cpus is not None else _default_allowed_cpus()
        if not allowed:
            raise ValueError("no allowed CPUs: cannot build a topology")
        invalid = sorted(cpu for cpu in allowed if not 0 <= cpu <= MAX_CPU_ID)
        if invalid:
            raise ValueError(f"allowed CPU ids must lie in 0..{MAX_CPU_ID}, got {invalid}")

        system = Path(sysfs_root) / "devices" / "system"
        online_cpus = _read_cpulist_file(system / "cpu" / "online")
        if online_cpus is not None and not allowed.isdisjoint(online_cpus):
            # An online file that excludes every allowed CPU is inconsistent
            # with the process running at all; ignore it rather than fail.
            allowed.intersection_update(online_cpus)

        node_dir = system / "node"
        node_numbers = _read_cpulist_file(node_dir / "online")
        if node_numbers is None:
            node_numbers = _list_node_dirs(node_dir)

        node_cpus: list[tuple[int, ...]] = []
        node_ids: list[int] = []
        claimed: set[int] = set()
        for number in node_numbers:
            cpus = _read_cpulist_file(node_dir / f"node{number}" / "cpulist")
            if not cpus:
                continue
            # ``claimed`` guards against a corrupt sysfs listing a CPU twice.
            kept = tuple(cpu for cpu in cpus if cpu in allowed and cpu not in claimed)
            if kept:
                claimed.update(kept)
                node_cpus.append(kept)
                node_ids.append(number)

        if not node_cpus:
            return cls((tuple(sorted(allowed)),), (0,))
        return cls(tuple(node_cpus), tuple(node_ids))

    @classmethod
    def from_spec(cls, spec: str) -> Topology:
        """Build an explicit topology from ``spec``.

        Nodes are separated by ``";"`` and each node is a cpulist (see
        :func:`parse_cpulist`): ``"0-3;4-7"`` is two nodes of four CPUs,
        ``"0;1"`` two nodes of one CPU.  Node ids are ``0 .. n-1``.  The
        result is *not* intersected with the CPUs of the running machine.

        Raises:
            ValueError: on an empty spec, an empty node (``"0-3;;4"``), a
                malformed cpulist, or a CPU listed in two nodes; the message
                names the offending part and quotes the spec.
        """
        if not isinstance(spec, str):
            raise TypeError(f"topology spec must be a str such as '0-3;4-7', got {type(spec).__name__}")
        if not spec.strip():
            raise ValueError(f"empty topology spec {spec!r}")
        node_cpus: list[tuple[int, ...]] = []
        owner: dict[int, int] = {}
        for index, part in enumerate(spec.split(";")):
            try:
                cpus = parse_cpulist(part)
            except ValueError as exc:
                raise ValueError(f"node {index} ({part.strip()!r}) of topology spec {spec!r}: {exc}") from None
            if not cpus:
                raise ValueError(f"node {index} of topology spec {spec!r} is empty")
            for cpu in cpus:
                previous = owner.setdefault(cpu, index)
                if previous != index:
                    raise ValueError(f"CPU {cpu} is in both node {previous} and node {index} of topology spec {spec!r}")
            node_cpus.append(tuple(cpus))
        return cls(tuple(node_cpus))


def _list_node_dirs(node_dir: Path) -> list[int]:
    """Sorted numbers ``N`` of the ``nodeN`` directories in ``node_dir`` (``[]`` if none)."""
    try:
        entries = list(node_dir.iterdir())
    except OSError:
        return []
    numbers = set()
    for entry in entries:
        match = _NODE_DIR.fullmatch(entry.name)
        if match is not None and entry.is_dir():
            numbers.add(int(match.group(1)))
    return sorted(numbers)
