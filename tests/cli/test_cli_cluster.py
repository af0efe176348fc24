"""``run --cluster`` and ``cluster probe`` on the session's local Ray cluster (3 logical nodes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tpusplit.strategies import Plan

pytestmark = pytest.mark.ray

Cli = Callable[..., tuple[int, str, str]]
TPUSPLIT = [sys.executable, "-c", "from tpusplit.cli import main; main()"]


def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({
        "hosts": [{"name": "hostA", "devices": "cpu:1"}, {"name": "hostB", "devices": "cpu:1"}],
        "links": [{"from": "hostA", "to": "hostB", "bandwidth_mb_s": 1e6, "latency_ms": 0.0}]}))
    return path


def test_run_on_hosts_bit_exact(ray_cluster: Any, cli: Cli, model: Path) -> None:
    code, out, err = cli("run", model, "--cuts", "2,4", "--cluster", "auto", "--hosts",
                         "hostC,hostA,hostB", "--random", "8", "--check", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["check"]["bit_exact"] is True and data["check"]["compared"] == 8
    assert data["hosts"] == ["hostC", "hostA", "hostB"] and data["cluster"] == "auto"
    assert len(set(data["nodes"])) == 3
    assert [s["items"] for s in data["stages"]] == [8, 8, 8]


def test_plan_cluster_then_run_it_on_its_hosts(ray_cluster: Any, cli: Cli, model: Path,
                                               tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    code, _, err = cli("plan", model, "--cluster", spec, "-o", tmp_path / "plan.json")
    assert code == 0, err
    plan = Plan.load(tmp_path / "plan.json")
    assert plan.num_segments == 2 and {s.host for s in plan.segments} == {"hostA", "hostB"}
    code, out, err = cli("run", model, "--plan", tmp_path / "plan.json", "--cluster", "auto",
                         "--cluster-spec", spec, "--random", "5", "--check", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["check"]["bit_exact"] and data["hosts"] == [s.host for s in plan.segments]
    assert data["device"] == plan.device


def test_run_cluster_errors_are_one_line(ray_cluster: Any, cli: Cli, model: Path,
                                         tmp_path: Path) -> None:
    cases = [
        (["--cuts", "2", "--cluster-spec", spec_file(tmp_path)],
         "error: --cluster-spec goes with --cluster ADDRESS"),
        (["--cuts", "2", "--cluster", "auto", "--hosts", "hostA"],
         "error: --hosts names 1 host(s) for 2 segment(s): give one per segment"),
        (["--cuts", "2", "--cluster", "auto", "--hosts", "hostA,nowhere"],
         "error: stage 1: no Ray node offers resource 'nowhere' (>= 0.001); start the node "
         "with `ray start ... --resources '{\"nowhere\": 1}'`"),
        (["--cuts", "2", "--cluster", "auto", "--cluster-spec", spec_file(tmp_path),
          "--hosts", "hostA,hostZ"],
         f"error: {tmp_path / 'cluster.json'}: no host named 'hostZ' (hosts: hostA, hostB)"),
        (["--cuts", "2", "--cluster", "auto", "--tpu-map", "usb:0"],
         "error: --tpu-map is for one host; with --cluster each host's stages use its Edge "
         "TPUs in order"),
    ]
    for args, message in cases:
        code, _, err = cli("run", model, "--random", "2", *args)
        assert code == 2 and err == message + "\n", err


def test_run_cluster_auto_in_a_new_process(ray_cluster: Any, model: Path) -> None:
    """The real connection path: a fresh process finds the cluster (RAY_ADDRESS), runs,
    disconnects; a wrong address is one line at once."""
    env = dict(os.environ)  # RAY_ADDRESS and loopback mode come from the fixture
    done = subprocess.run([*TPUSPLIT, "run", str(model), "--cuts", "3", "--cluster", "auto",
                           "--hosts", "hostB,hostC", "--random", "4", "--check", "--json"],
                          capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["check"]["bit_exact"] is True
    env.pop("RAY_ADDRESS")
    done = subprocess.run([*TPUSPLIT, "run", str(model), "--cuts", "3", "--cluster",
                           "127.0.0.1:9", "--random", "2"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr == ("error: --cluster 127.0.0.1:9: no Ray cluster there (Connection "
                           "refused); start one with `ray start --head`\n")


def test_run_through_ray_client(ray_cluster: Any, model: Path) -> None:
    """``--cluster ray://HOST:PORT``: Ray Client (the head's client server, started by the
    fixture)."""
    port = ray_cluster.client_port
    env = dict(os.environ)
    env.pop("RAY_ADDRESS")
    # The head's client server forks one server process per client (Ray 2.60); here the
    # first one often dies or hangs at start ("Starting Ray client server failed", or the
    # client's 30 s wait ends in "Initialization failure from server"), later ones start:
    # the connection is retried, the run itself must succeed.
    for _ in range(3):
        done = subprocess.run([*TPUSPLIT, "run", str(model), "--cuts", "3", "--cluster",
                               f"ray://127.0.0.1:{port}", "--hosts", "hostA,hostB",
                               "--random", "4", "--check", "--json"], capture_output=True,
                              text=True, env=env, timeout=180)
        if "cannot connect to a Ray cluster" not in done.stderr:
            break
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["check"]["bit_exact"] is True


def test_cluster_probe_writes_a_description(ray_cluster: Any, cli: Cli,
                                            tmp_path: Path) -> None:
    out = tmp_path / "probed.json"
    code, text, err = cli("cluster", "probe", "-o", out, "--sizes", "1,300", "--repeats", "2")
    assert code == 0, err
    from tpusplit.devices.cluster_spec import load_cluster

    cluster = load_cluster(out)
    assert sorted(h.name for h in cluster.hosts) == ["hostA", "hostB", "hostC"]
    assert all(link.bandwidth_mb_s > 0 and link.latency_ms >= 0
               for link in cluster.links.values())
    assert "6 link(s)" in text
    code, _, err = cli("cluster", "probe", "-o", out, "--sizes", "x")
    assert code == 2 and err == "error: --sizes 'x': give kilobytes like 1,100,1000\n"


def test_ctrl_c_releases_every_actor(ray_cluster: Any, cli: Cli, tmp_path: Path) -> None:
    """Ctrl-C (KeyboardInterrupt in the main thread) mid-run on Ray: exit 130, one line, and
    no actor of the run left alive."""
    import _thread
    import threading
    import time

    import ray
    from ray._private.state import actors as actor_table

    from tpusplit.models.synthetic import fc

    def alive() -> set[str]:
        return {a for a, info in actor_table().items()
                if info["State"] != "DEAD" and "StageActor" in info.get("ActorClassName", "")}

    before = alive()
    model = tmp_path / "fc.tflite"
    model.write_bytes(fc(32))
    started = threading.Event()

    def interrupt_once_running() -> None:  # once the actors run, interrupt the main thread
        deadline = time.time() + 60
        while time.time() < deadline and not (alive() - before):
            time.sleep(0.1)
        time.sleep(1.0)
        started.set()
        _thread.interrupt_main()

    timer = threading.Thread(target=interrupt_once_running, daemon=True)
    timer.start()
    code, _, err = cli("run", model, "--cuts", "3,6", "--random", "200000", "--cluster", "auto",
                       "--hosts", "hostA,hostB,hostC")
    timer.join()
    assert started.is_set()
    assert code == 130 and err.strip() == "interrupted", (code, err)
    deadline = time.time() + 30
    while alive() - before and time.time() < deadline:
        time.sleep(0.2)
    assert not alive() - before
    assert ray.is_initialized()  # the test process stays connected (the fixture's session)
