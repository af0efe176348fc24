"""Shared fixtures: small generated models (no downloads, no TensorFlow)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tpusplit.graph import load, split
from tpusplit.models.random_net import random_net
from tpusplit.models.synthetic import conv, fc
from tpusplit.pipeline import LiteRTStage, random_inputs, run_sequential
from tpusplit.pipeline.litert import all_tensors

#: Ray on loopback only: its single-host mode, set before anything imports Ray (Ray reads
#: it at import); its local test clusters then never use the machine's network address.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

#: ``tests/helpers`` holds modules several test folders import (``strategy_costs``).
sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))


@pytest.fixture(scope="session")
def conv_small() -> bytes:
    """conv family at F=8 on a 16x16 input: 6 ops."""
    return conv(8, size=16)


@pytest.fixture(scope="session")
def fc_small() -> bytes:
    """fc family at N=32: 10 ops."""
    return fc(32)


@pytest.fixture(scope="session")
def random_nets() -> list[bytes]:
    """Six seeded random branching nets with two outputs each."""
    return [random_net(seed) for seed in range(6)]


def _assert_bit_exact(data: bytes, cuts: list[int], seed: int = 0) -> None:
    """Run the whole model and its segments on the same random input: every output and every
    tensor crossing a cut must be byte-identical to the whole model's."""
    graph = load(data)
    whole = LiteRTStage(data)
    feeds = random_inputs(whole, seed=seed)
    expected = whole.run(feeds)
    reference = all_tensors(data, feeds)
    env = run_sequential([LiteRTStage(s) for s in split(graph, cuts)], feeds)
    for name, value in expected.items():
        assert name in env, f"output {name} missing after split at {cuts}"
        got = env[name]
        assert got.dtype == value.dtype and got.shape == value.shape
        assert np.array_equal(got, value), f"output {name} differs after split at {cuts}"
    crossing = {graph.tensors[t].name for c in cuts for t in graph.crossing(c)}
    assert crossing <= set(env)
    for name in crossing:
        assert np.array_equal(env[name], reference[name]), f"{name} differs at {cuts}"


@pytest.fixture(scope="session")
def assert_bit_exact() -> Callable[..., None]:
    """``assert_bit_exact(model_bytes, cuts)``: segments run in order equal the whole model."""
    return _assert_bit_exact


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
        ) -> Callable[..., tuple[int, str, str]]:
    """Run ``tpusplit ARGS`` in-process through the real entry point; return (code, out, err)."""
    from tpusplit.cli import main

    def run(*args: str | Path) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["tpusplit", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code) if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run



def _edgetpu_ready() -> str | None:
    """Why the ``edgetpu`` tests cannot run here, or None when they can."""
    from tpusplit.errors import TpusplitError
    from tpusplit.pipeline.edgetpu import list_devices
    from tpusplit.pipeline.edgetpu_compiler import find_compiler

    try:
        if not list_devices():
            return "no Edge TPU plugged in"
    except TpusplitError:
        return "libedgetpu is not installed"
    if find_compiler() is None:
        return "edgetpu_compiler is not on the PATH"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``edgetpu`` skip, saying why, without a real Edge TPU and its compiler."""
    marked = [item for item in items if item.get_closest_marker("edgetpu") is not None]
    why = _edgetpu_ready() if marked else None
    for item in marked if why else []:
        item.add_marker(pytest.mark.skip(reason=f"edgetpu: {why}"))


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A small conv model file (4 layers of 8 filters on 16x16) for CLI tests."""
    path = tmp_path / "conv.tflite"
    path.write_bytes(conv(8, layers=4, size=16))
    return path


#: Resource names of the logical hosts of the test Ray cluster (one node each).
RAY_HOSTS = ("hostA", "hostB", "hostC")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A local Ray cluster for the session: three logical nodes on loopback, each with 2
    logical CPUs and a custom resource naming its host (:data:`RAY_HOSTS`); this process is
    connected to it. Started and stopped here (the ``ray`` tests: several seconds)."""
    saved = os.environ.get("RAY_ADDRESS")
    saved_tmp = os.environ.get("RAY_TMPDIR")
    # Ray's sessions, logs and sockets go to a folder of the test run's, removed at the end
    # (a short path: Ray's socket names must fit in 107 bytes)
    ray_tmp = tempfile.mkdtemp(prefix="tpusplit-ray-", dir="/tmp")
    os.environ["RAY_TMPDIR"] = ray_tmp
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    assert not ray_constants.ENABLE_RAY_CLUSTER, "Ray was imported before its loopback mode"

    store = 80 * 1024 * 1024
    # The head's Ray Client server waits this long for a client's server process; its first
    # one here often dies at once (then the wait is for nothing and the test retries).
    os.environ.setdefault("RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S", "10")
    client_port = _free_port()  # the head's Ray Client server (ray://127.0.0.1:PORT)
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "resources": {RAY_HOSTS[0]: 4}, "object_store_memory": store,
        "ray_client_server_port": client_port})
    cluster.client_port = client_port
    for host in RAY_HOSTS[1:]:
        cluster.add_node(num_cpus=2, resources={host: 4}, object_store_memory=store)
    cluster.wait_for_nodes()
    os.environ["RAY_ADDRESS"] = cluster.address
    assert cluster.address.startswith("127.0.0.1:"), cluster.address
    from tpusplit.pipeline.ray_runner import connect

    connect(cluster.address)
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        for name, value in (("RAY_ADDRESS", saved), ("RAY_TMPDIR", saved_tmp)):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(ray_tmp, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
