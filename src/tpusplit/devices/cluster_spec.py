"""Cluster descriptions: hosts with their devices and the network links between them (JSON).

A pipeline that spans hosts pays, at every cut between stages on different hosts, for moving
the tensors crossing that cut over the link: ``latency_ms + bytes / bandwidth``. The
description is a small JSON file, written by hand or by ``tpusplit cluster probe``::

    {
      "hosts": [
        {"name": "pi-a", "devices": "usb3:1", "resources": {"pi-a": 1}},
        {"name": "pi-b", "devices": "usb3:1,cpu:1", "address": "10.0.0.12"}
      ],
      "links": [
        {"from": "pi-a", "to": "pi-b", "bandwidth_mb_s": 11.2, "latency_ms": 0.6}
      ]
    }

* ``hosts``: unique ``name``; ``devices`` in ``--devices`` syntax (what the host has for
  stages: Edge TPU kinds, ``cpu``); how Ray finds the host: ``node_id`` (a Ray node id), or
  ``resources`` (custom resources its Ray node was started with; by default
  ``{NAME: 0.001}``: start its node with ``--resources '{"NAME": 1}'``); ``address`` is
  informative.
* ``links``: a ``bandwidth_mb_s`` (MB/s, 10^6 bytes) and ``latency_ms`` between two hosts,
  both directions unless the reverse is given too; ``default_link`` (same fields) covers the
  pairs not listed. Every pair of hosts needs a link.

:func:`load_cluster` reports every mistake as one line naming the file and the problem.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from tpusplit.devices.kinds import DeviceKind, parse_devices
from tpusplit.errors import TpusplitError, read_json
from tpusplit.files import write_file

#: A byte count, or an array of them.
NBytes = TypeVar("NBytes", float, np.ndarray)


@dataclass(frozen=True)
class Link:
    """A network link: bandwidth (MB/s, 10^6 bytes per second) and latency (ms)."""

    bandwidth_mb_s: float
    latency_ms: float

    def transfer_ms(self, nbytes: NBytes) -> NBytes:
        """Time to move ``nbytes`` over the link: latency + bytes / bandwidth (elementwise on
        an array of byte counts)."""
        return self.latency_ms + nbytes / (self.bandwidth_mb_s * 1e3)

    def as_dict(self) -> dict[str, float]:
        """JSON fields."""
        return {"bandwidth_mb_s": self.bandwidth_mb_s, "latency_ms": self.latency_ms}


@dataclass(frozen=True)
class Host:
    """One host: its name, its devices (``--devices`` syntax) and how Ray finds it."""

    name: str
    devices: str
    kinds: tuple[DeviceKind, ...]
    node_id: str | None = None
    resources: Mapping[str, float] = field(default_factory=dict)
    address: str | None = None

    @property
    def ray_resources(self) -> dict[str, float]:
        """Resources an actor asks for to land on this host (its own, else ``{name: 0.001}``)."""
        if self.node_id:
            return {}
        return dict(self.resources) if self.resources else {self.name: 0.001}


@dataclass(frozen=True)
class Cluster:
    """Hosts and the links between them, read from ``source``."""

    hosts: tuple[Host, ...]
    links: Mapping[tuple[str, str], Link]
    source: str = "<cluster>"

    def host(self, name: str) -> Host:
        """The host called ``name``; a one-line error naming the file otherwise."""
        for h in self.hosts:
            if h.name == name:
                return h
        raise TpusplitError(f"{self.source}: no host named {name!r} (hosts: "
                            f"{', '.join(h.name for h in self.hosts)})")

    def link(self, a: str, b: str) -> Link:
        """The link from host ``a`` to host ``b`` (``a != b``)."""
        return self.links[(a, b)]

    def transfer_ms(self, a: str, b: str, nbytes: float) -> float:
        """Moving ``nbytes`` from host ``a`` to host ``b`` (0 on the same host)."""
        return 0.0 if a == b else self.link(a, b).transfer_ms(nbytes)

    def as_dict(self) -> dict[str, Any]:
        """The JSON description (every directed link written out)."""
        hosts = []
        for h in self.hosts:
            d: dict[str, Any] = {"name": h.name, "devices": h.devices}
            if h.node_id:
                d["node_id"] = h.node_id
            if h.resources:
                d["resources"] = dict(h.resources)
            if h.address:
                d["address"] = h.address
            hosts.append(d)
        links = [{"from": a, "to": b, **link.as_dict()} for (a, b), link in self.links.items()]
        return {"hosts": hosts, "links": links}

    def save(self, path: str | Path) -> None:
        """Write the description as JSON (what :func:`load_cluster` reads)."""
        write_file(Path(path), json.dumps(self.as_dict(), indent=1) + "\n", "cluster description")


def _number(value: Any, what: str, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{what} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


def _link(d: Any, where: str) -> Link:
    if not isinstance(d, dict):
        raise ValueError(f"{where} must be an object")
    for key in ("bandwidth_mb_s", "latency_ms"):
        if key not in d:
            raise ValueError(f"{where} has no {key!r}")
    return Link(_number(d["bandwidth_mb_s"], f"{where}: bandwidth_mb_s", True),
                _number(d["latency_ms"], f"{where}: latency_ms", False))


def _host(d: Any, i: int) -> Host:
    where = f"hosts[{i}]"
    if not isinstance(d, dict):
        raise ValueError(f"{where} must be an object")
    name = d.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where} has no name")
    where = f"host {name!r}"
    unknown = set(d) - {"name", "devices", "node_id", "resources", "address"}
    if unknown:
        raise ValueError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    devices = d.get("devices", "cpu:1")
    if not isinstance(devices, str):
        raise ValueError(f"{where}: devices must be a string like 'usb3:2,cpu:1'")
    try:
        kinds = tuple(parse_devices(devices))
    except TpusplitError as exc:
        raise ValueError(f"{where}: {str(exc).removeprefix('--devices: ')}") from None
    node_id = d.get("node_id")
    if node_id is not None and (not isinstance(node_id, str) or not node_id):
        raise ValueError(f"{where}: node_id must be a Ray node id (hex string)")
    resources = d.get("resources", {})
    if not isinstance(resources, dict):
        raise ValueError(f"{where}: resources must be an object like {{\"edgetpu\": 1}}")
    res = {str(k): _number(v, f"{where}: resource {k!r}", True) for k, v in resources.items()}
    address = d.get("address")
    if address is not None and not isinstance(address, str):
        raise ValueError(f"{where}: address must be a string")
    return Host(name, devices, kinds, node_id, res, address)


def parse_cluster(data: Any, source: str = "<cluster>") -> Cluster:
    """A :class:`Cluster` from the JSON object ``data``; one-line errors naming ``source``."""
    try:
        if not isinstance(data, dict):
            raise ValueError("a cluster description must be a JSON object with 'hosts' and "
                             "'links'")
        raw_hosts = data.get("hosts")
        if not isinstance(raw_hosts, list) or not raw_hosts:
            raise ValueError("'hosts' must be a non-empty list")
        hosts = tuple(_host(d, i) for i, d in enumerate(raw_hosts))
        names = [h.name for h in hosts]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise ValueError(f"host {dup!r} is listed twice")
        raw_links = data.get("links", [])
        if not isinstance(raw_links, list):
            raise ValueError("'links' must be a list")
        given: dict[tuple[str, str], Link] = {}
        for i, d in enumerate(raw_links):
            a, b = (d.get("from"), d.get("to")) if isinstance(d, dict) else (None, None)
            where = f"links[{i}]"
            if a not in names or b not in names:
                bad = a if a not in names else b
                raise ValueError(f"{where}: {bad!r} is not a host (hosts: {', '.join(names)})")
            if a == b:
                raise ValueError(f"{where}: a link from {a!r} to itself")
            if (a, b) in given:
                raise ValueError(f"{where}: the link {a} -> {b} is given twice")
            given[(a, b)] = _link(d, f"{where} ({a} -> {b})")
        default = (_link(data["default_link"], "default_link") if "default_link" in data
                   else None)
        links: dict[tuple[str, str], Link] = {}
        for a in names:
            for b in names:
                if a == b:
                    continue
                link = given.get((a, b)) or given.get((b, a)) or default
                if link is None:
                    raise ValueError(f"no link between {a!r} and {b!r} (add one to 'links' "
                                     "or a 'default_link')")
                links[(a, b)] = link
    except ValueError as exc:
        raise TpusplitError(f"{source}: {exc}") from None
    return Cluster(hosts, links, source)


def load_cluster(path: str | Path) -> Cluster:
    """Read a cluster description file (module docstring); one-line errors naming it."""
    return parse_cluster(read_json(path, "cluster description (JSON)"), str(path))
