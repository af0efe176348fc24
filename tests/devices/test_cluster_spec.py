"""Cluster descriptions: parsing, defaults, and one-line errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tpusplit.devices.cluster_spec import Link, load_cluster, parse_cluster
from tpusplit.errors import TpusplitError

GOOD: dict[str, Any] = {
    "hosts": [{"name": "pi-a", "devices": "usb3:1", "resources": {"pi-a": 1}},
              {"name": "pi-b", "devices": "usb3:1,cpu:1", "address": "10.0.0.12"},
              {"name": "pi-c", "node_id": "abc123"}],
    "links": [{"from": "pi-a", "to": "pi-b", "bandwidth_mb_s": 10, "latency_ms": 0.5},
              {"from": "pi-b", "to": "pi-a", "bandwidth_mb_s": 20, "latency_ms": 0.5}],
    "default_link": {"bandwidth_mb_s": 100, "latency_ms": 1},
}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "cluster.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_a_good_description(tmp_path: Path) -> None:
    c = load_cluster(write(tmp_path, GOOD))
    assert [h.name for h in c.hosts] == ["pi-a", "pi-b", "pi-c"]
    assert [k.label for k in c.host("pi-b").kinds] == ["usb3", "cpu"]
    assert c.host("pi-c").devices == "cpu:1"  # the default
    assert c.link("pi-a", "pi-b") == Link(10, 0.5) and c.link("pi-b", "pi-a") == Link(20, 0.5)
    assert c.link("pi-a", "pi-c") == Link(100, 1)  # default_link
    assert c.transfer_ms("pi-a", "pi-b", 1e6) == pytest.approx(0.5 + 100)  # 1 MB at 10 MB/s
    assert c.transfer_ms("pi-a", "pi-a", 1e9) == 0.0
    assert c.host("pi-a").ray_resources == {"pi-a": 1}
    assert c.host("pi-b").ray_resources == {"pi-b": 0.001}
    assert c.host("pi-c").ray_resources == {}  # pinned by node id
    again = parse_cluster(c.as_dict(), "again")  # round trip
    assert again.links == c.links and again.hosts == c.hosts
    out = tmp_path / "out.json"
    c.save(out)
    assert load_cluster(out).links == c.links


def test_one_link_serves_both_directions(tmp_path: Path) -> None:
    data = {"hosts": [{"name": "a"}, {"name": "b"}],
            "links": [{"from": "a", "to": "b", "bandwidth_mb_s": 5, "latency_ms": 2}]}
    c = load_cluster(write(tmp_path, data))
    assert c.link("b", "a") == c.link("a", "b") == Link(5, 2)


def _hosts2(**extra: Any) -> dict[str, Any]:
    return {"hosts": [{"name": "a"}, {"name": "b"}],
            "links": [{"from": "a", "to": "b", "bandwidth_mb_s": 5, "latency_ms": 2, **extra}]}


@pytest.mark.parametrize(("data", "message"), [
    ("{not json", "not JSON (line 1"),
    ([], "a cluster description must be a JSON object"),
    ({"hosts": []}, "'hosts' must be a non-empty list"),
    ({"hosts": [{"devices": "cpu"}]}, "hosts[0] has no name"),
    ({"hosts": [{"name": "a"}, {"name": "a"}]}, "host 'a' is listed twice"),
    ({"hosts": [{"name": "a", "devices": "tpu9:1"}]}, "host 'a': 'tpu9:1': unknown device kind"),
    ({"hosts": [{"name": "a", "devices": 3}]}, "host 'a': devices must be a string"),
    ({"hosts": [{"name": "a", "gpus": 1}]}, "host 'a': unknown field 'gpus'"),
    ({"hosts": [{"name": "a", "resources": {"x": -1}}]}, "host 'a': resource 'x' must be > 0"),
    ({"hosts": [{"name": "a", "resources": [1]}]}, "host 'a': resources must be an object"),
    ({"hosts": [{"name": "a"}, {"name": "b"}]}, "no link between 'a' and 'b'"),
    ({"hosts": [{"name": "a"}], "links": {}}, "'links' must be a list"),
    ({"hosts": [{"name": "a"}, {"name": "b"}],
      "links": [{"from": "a", "to": "c", "bandwidth_mb_s": 1, "latency_ms": 1}]},
     "links[0]: 'c' is not a host (hosts: a, b)"),
    ({"hosts": [{"name": "a"}],
      "links": [{"from": "a", "to": "a", "bandwidth_mb_s": 1, "latency_ms": 1}]},
     "links[0]: a link from 'a' to itself"),
    (_hosts2(bandwidth_mb_s=0), "links[0] (a -> b): bandwidth_mb_s must be > 0"),
    (_hosts2(latency_ms="fast"), "links[0] (a -> b): latency_ms must be a number"),
    ({"hosts": [{"name": "a"}, {"name": "b"}],
      "links": [{"from": "a", "to": "b", "latency_ms": 1}]},
     "links[0] (a -> b) has no 'bandwidth_mb_s'"),
    ({"hosts": [{"name": "a"}, {"name": "b"}],
      "links": [_hosts2()["links"][0], _hosts2()["links"][0]]},
     "links[1]: the link a -> b is given twice"),
    ({"hosts": [{"name": "a"}, {"name": "b"}], "default_link": {"bandwidth_mb_s": 1}},
     "default_link has no 'latency_ms'"),
])
def test_errors_are_one_line_naming_the_file(tmp_path: Path, data: Any, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(TpusplitError) as info:
        load_cluster(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{path}: ") and message in text, text


def test_missing_file_and_unknown_host(tmp_path: Path) -> None:
    with pytest.raises(TpusplitError, match="no such file"):
        load_cluster(tmp_path / "nope.json")
    c = load_cluster(write(tmp_path, GOOD))
    with pytest.raises(TpusplitError, match=r"no host named 'pi-z' \(hosts: pi-a, pi-b, pi-c\)"):
        c.host("pi-z")
