"""The Ray runner on a local 3-node cluster: bit-exact, pinned, ordered, faults, clean close."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tpusplit.graph import load, split
from tpusplit.models.random_net import random_net
from tpusplit.models.synthetic import conv
from tpusplit.pipeline import LiteRTStage, Pipeline, PipelineError, StageError
from tpusplit.pipeline.assemble import io_names
from tpusplit.pipeline.backend import Backend
from tpusplit.pipeline.inputs import random_feeds
from tpusplit.pipeline.litert import LiteRTBackend
from tpusplit.pipeline.measure import measure_runner
from tpusplit.pipeline.paced import PacedBackend

pytestmark = pytest.mark.ray

import ray  # noqa: E402  (the test extra has Ray: these tests are never skipped)

# the failing backend below is defined here: send it to the actors by value
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

from tpusplit.pipeline.ray_runner import (  # noqa: E402
    RAY_MISSING,
    ActorPlacement,
    RayPipeline,
    connect,
    import_ray,
)


class FailingStage:
    """A LiteRT stage that raises on its ``fail_at``-th run."""

    def __init__(self, inner: LiteRTStage, fail_at: int) -> None:
        self.inner, self.fail_at, self.runs = inner, fail_at, 0
        self.input_names, self.output_names = inner.input_names, inner.output_names

    def input_spec(self, name: str) -> Any:
        return self.inner.input_spec(name)

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.runs += 1
        if self.runs == self.fail_at:
            raise ValueError("injected failure\nsecond line")
        return self.inner.run(feeds)


class FailingBackend(Backend):
    """LiteRT stages that fail on their ``fail_at``-th run."""

    name = "failing"

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at

    def load(self, model: bytes, device: int = 0) -> Any:
        return FailingStage(LiteRTStage(model), self.fail_at)


def hosts(*names: str) -> list[ActorPlacement]:
    return [ActorPlacement(resources={n: 1}, label=n) for n in names]


@pytest.fixture(scope="module")
def model() -> bytes:
    return conv(8, layers=4, size=16)


def whole_outputs(data: bytes, feeds: list[dict[str, np.ndarray]]) -> list[dict[str, Any]]:
    stage = LiteRTStage(data)
    return [stage.run(f) for f in feeds]


def assert_same(got: list[dict[str, np.ndarray]], want: list[dict[str, np.ndarray]]) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a.keys() == b.keys()
        for name in a:
            assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape
            assert a[name].tobytes() == b[name].tobytes()


def node_with(resource: str) -> str:
    return next(n["NodeID"] for n in ray.nodes() if n["Alive"]
                and n["Resources"].get(resource, 0) > 0)


def test_the_test_cluster_is_on_loopback(ray_cluster: Any) -> None:
    nodes = [n for n in ray.nodes() if n["Alive"]]
    assert len(nodes) >= 3 and {n["NodeManagerAddress"] for n in nodes} == {"127.0.0.1"}


def test_three_hosts_bit_exact_pinned_and_same_stats_as_threads(ray_cluster: Any,
                                                                 model: bytes) -> None:
    graph = load(model)
    segs = split(graph, [2, 4])
    feeds = random_feeds(graph, 24)
    outs = io_names(graph)[1]
    with RayPipeline(segs, placements=hosts("hostA", "hostB", "hostC"), outputs=outs,
                     max_in_flight=3) as pipe:
        assert pipe.nodes == [node_with(h) for h in ("hostA", "hostB", "hostC")]
        got = list(pipe.run(feeds))
        stats = pipe.stats
    with Pipeline([LiteRTStage(s) for s in segs], outputs=outs) as threads:
        want = list(threads.run(feeds))
    assert_same(got, want)  # byte for byte the threaded runner's, which is the whole model's
    assert_same(got, whole_outputs(model, feeds))
    assert [s.items for s in stats] == [24, 24, 24]
    assert all(s.busy_s > 0 and s.blocked_s == 0 for s in stats)
    assert stats[0].as_dict().keys() == threads.stats[0].as_dict().keys()


def test_skip_tensors_are_carried_across_nodes(ray_cluster: Any) -> None:
    data = random_net(1)
    graph = load(data)
    n = len(graph.ops)
    cuts = [n // 3, 2 * n // 3]
    segs = split(graph, cuts)
    feeds = random_feeds(graph, 6)
    outs = io_names(graph)[1]
    with RayPipeline(segs, placements=hosts("hostB", "hostA", "hostB"), outputs=outs) as pipe:
        got = list(pipe.run(feeds))
    with Pipeline([LiteRTStage(s) for s in segs], outputs=outs) as threads:
        want = list(threads.run(feeds))
    assert_same(got, want)
    assert_same(got, whole_outputs(data, feeds))


def test_pinned_by_node_id_and_push_pop_measure(ray_cluster: Any, model: bytes) -> None:
    graph = load(model)
    segs = split(graph, [3])
    node = node_with("hostC")
    feeds = random_feeds(graph, 10)
    with RayPipeline(segs, placements=[ActorPlacement(node_id=node), ActorPlacement(node_id=node)],
                     max_in_flight=2) as pipe:
        assert pipe.nodes == [node, node]
        pipe.warmup(feeds[0])
        m = measure_runner(pipe, feeds, keep_results=True)
        assert pipe.pop() is None  # after the end, as the threaded runner
        with pytest.raises(PipelineError, match="end of input"):
            pipe.push(feeds[0])
    assert m.count == 10 and [s.items for s in m.stages] == [10, 10]
    assert_same(m.results, [{k: v for k, v in r.items() if k in m.results[0]}
                            for r in whole_outputs(model, feeds)])


def test_push_from_one_thread_pop_with_nothing_pending_is_an_error(ray_cluster: Any,
                                                                   model: bytes) -> None:
    feeds = random_feeds(load(model), 1)
    with RayPipeline(split(load(model), [2])) as pipe:
        with pytest.raises(PipelineError, match=r"no result within 0\.2 s"):
            pipe.pop(timeout=0.2)  # nothing pushed yet: another thread may push
        with pytest.raises(PipelineError, match="no value for pipeline input"):
            pipe.push({})
        pipe.push(feeds[0])
        assert pipe.pop(timeout=60) is not None
        with pytest.raises(PipelineError, match="nothing pending"):
            pipe.pop()


def test_a_stage_error_delivers_earlier_results_then_stage_error(ray_cluster: Any,
                                                                 model: bytes) -> None:
    graph = load(model)
    segs = split(graph, [2, 4])
    feeds = random_feeds(graph, 12)
    got: list[dict[str, np.ndarray]] = []
    with RayPipeline(segs, backend=[LiteRTBackend(), FailingBackend(6), LiteRTBackend()],
                     placements=hosts("hostA", "hostB", "hostC")) as pipe:
        with pytest.raises(StageError) as info:
            for result in pipe.run(feeds):
                got.append(result)
        assert (info.value.stage, info.value.item) == (1, 5)
        assert "\n" not in str(info.value)
        assert str(info.value) == ("pipeline stage 1 failed on input 5: ValueError: "
                                   "injected failure")
        with pytest.raises(StageError):
            pipe.push(feeds[0])
    assert_same(got, whole_outputs(model, feeds[:5]))


def test_killing_an_actor_mid_run(ray_cluster: Any, model: bytes) -> None:
    """ray.kill of stage 1's actor while inputs are in flight: every result before the
    input it died on, in order, then a one-line StageError naming stage 1 and that input."""
    graph = load(model)
    segs = split(graph, [2, 4])
    feeds = random_feeds(graph, 40)
    got: list[dict[str, np.ndarray]] = []
    with RayPipeline(segs, backend=PacedBackend([1.0, 25.0, 1.0]), max_in_flight=4,
                     placements=hosts("hostA", "hostB", "hostC")) as pipe:
        with pytest.raises(StageError) as info:
            for k, result in enumerate(pipe.run(feeds)):
                got.append(result)
                if k == 3:
                    ray.kill(pipe.actors[1])
        err = info.value
        assert err.stage == 1 and err.item == len(got) and 4 <= len(got) < 40
        assert "\n" not in str(err)
        assert str(err).startswith(f"pipeline stage 1 failed on input {len(got)}: ActorLost: "
                                   "the Ray actor of stage 1 on hostB is gone")
        with pytest.raises(StageError):
            pipe.pop()
    assert_same(got, whole_outputs(model, feeds[:len(got)]))


def test_close_kills_every_actor(ray_cluster: Any, model: bytes) -> None:
    pipe = RayPipeline(split(load(model), [2, 4]), placements=hosts("hostA", "hostB", "hostC"))
    feeds = random_feeds(load(model), 3)
    for f in feeds:
        pipe.push(f)  # left in flight
    actors = list(pipe.actors)
    pipe.close()
    pipe.close()  # idempotent
    with pytest.raises(PipelineError, match="closed"):
        pipe.push(feeds[0])
    with pytest.raises(PipelineError, match="closed"):
        pipe.pop()
    from ray._private.state import actors as actor_table

    deadline = time.time() + 30
    while time.time() < deadline:
        states = [actor_table(a._actor_id.hex())["State"] for a in actors]
        if all(s == "DEAD" for s in states):
            break
        time.sleep(0.2)
    assert states == ["DEAD"] * 3
    for a in actors:
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(a.info.remote(), timeout=30)


def test_one_line_errors(ray_cluster: Any, model: bytes) -> None:
    segs = split(load(model), [2])
    with pytest.raises(PipelineError, match=r"^stage 1: no Ray node offers resource "
                       r"'edgetpu' \(>= 1\); start the node with") as info:
        RayPipeline(segs, placements=[ActorPlacement(), ActorPlacement(resources={"edgetpu": 1})])
    assert "\n" not in str(info.value)
    with pytest.raises(PipelineError, match=r"^stage 0: no live Ray node has id ffff"):
        RayPipeline(segs[:1], placements=[ActorPlacement(node_id="ffff")])
    with pytest.raises(PipelineError) as info:
        RayPipeline([segs[0], b"not a model"], placements=hosts("hostA", "hostB"))
    assert str(info.value).startswith("stage 1 on hostB: TpusplitError: <segment>: LiteRT "
                                      "cannot load the model")
    assert "\n" not in str(info.value)
    with pytest.raises(PipelineError, match=r"^pipeline output 'nope' is produced by no stage"):
        RayPipeline(segs, outputs=["nope"])  # its actors are killed (close) before it raises
    with pytest.raises(PipelineError, match="2 placement"):
        RayPipeline(segs[:1], placements=hosts("hostA", "hostB"))
    assert connect("auto") is False  # already connected: reused


def test_ray_missing_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(PipelineError) as info:
        import_ray()
    assert str(info.value) == RAY_MISSING == ("ray is not installed: pip install "
                                              "'tpusplit[cluster]'")


def test_a_backend_by_name_is_built_on_the_actor(ray_cluster: Any, model: bytes) -> None:
    graph = load(model)
    feeds = random_feeds(graph, 3)
    with RayPipeline(split(graph, [2]), backend=[("cpu", {"num_threads": 1}),
                                                 LiteRTBackend()]) as pipe:
        got = list(pipe.run(feeds))
    assert_same(got, whole_outputs(model, feeds))


def test_a_node_that_dies_mid_run(ray_cluster: Any, model: bytes) -> None:
    """A fourth node joins, runs stage 1, and dies mid-run (its raylet and the actor's
    process killed, as when a host goes down: Ray's worker would otherwise outlive its
    raylet for a while): the results before, in order, then StageError naming stage 1 and
    the input."""
    import os
    import signal

    node = ray_cluster.add_node(num_cpus=1, resources={"hostD": 4},
                                object_store_memory=80 << 20)
    ray_cluster.wait_for_nodes()
    graph = load(model)
    segs = split(graph, [2, 4])
    feeds = random_feeds(graph, 60)
    got: list[dict[str, np.ndarray]] = []
    t0 = time.time()
    with RayPipeline(segs, backend=PacedBackend([1.0, 25.0, 1.0]), max_in_flight=4,
                     placements=hosts("hostA", "hostD", "hostC")) as pipe:
        pid = ray.get(pipe.actors[1].__ray_call__.remote(lambda self: os.getpid()))
        with pytest.raises(StageError) as info:
            for k, result in enumerate(pipe.run(feeds)):
                got.append(result)
                if k == 3:
                    ray_cluster.remove_node(node, allow_graceful=False)
                    os.kill(pid, signal.SIGKILL)
    err = info.value
    assert err.stage == 1 and err.item == len(got) and 4 <= len(got) < 60
    assert "\n" not in str(err) and "the Ray actor of stage 1 on hostD" in str(err)
    assert_same(got, whole_outputs(model, feeds[:len(got)]))
    assert time.time() - t0 < 60


def test_a_node_that_freezes_mid_run(ray_cluster: Any, model: bytes) -> None:
    """A node whose raylet and actor stop answering (SIGSTOP: a host frozen or cut off, which
    Ray takes about a minute to declare dead): the results before, then StageError naming
    stage 1 within a few answer timeouts."""
    import os
    import signal

    node = ray_cluster.add_node(num_cpus=1, resources={"hostE": 4},
                                object_store_memory=80 << 20)
    ray_cluster.wait_for_nodes()
    raylet = node.all_processes["raylet"][0].process.pid
    graph = load(model)
    feeds = random_feeds(graph, 200)
    got: list[dict[str, np.ndarray]] = []
    frozen: list[int] = []
    try:
        with RayPipeline(split(graph, [2, 4]), backend=PacedBackend([1.0, 25.0, 1.0]),
                         max_in_flight=4, placements=hosts("hostA", "hostE", "hostC"),
                         answer_timeout=2.0) as pipe:
            pid = ray.get(pipe.actors[1].__ray_call__.remote(lambda self: os.getpid()))
            with pytest.raises(StageError) as info:
                for k, result in enumerate(pipe.run(feeds)):
                    got.append(result)
                    if k == 3:
                        for p in (raylet, pid):
                            os.kill(p, signal.SIGSTOP)
                            frozen.append(p)
                        t0 = time.time()
            waited = time.time() - t0
    finally:
        for p in frozen:
            os.kill(p, signal.SIGKILL)
        ray_cluster.remove_node(node, allow_graceful=False)
    err = info.value
    assert err.stage == 1 and err.item == len(got) and 4 <= len(got) < 200
    assert "\n" not in str(err)
    assert "the Ray actor of stage 1 on hostE does not answer within 2 s" in str(err), err
    assert_same(got, whole_outputs(model, feeds[:len(got)]))
    assert waited < 20  # Ray's own detection takes about 60 s


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_measure_with_a_feeder_thread_stops_cleanly_on_a_failure(ray_cluster: Any,
                                                                 model: bytes) -> None:
    graph = load(model)
    feeds = random_feeds(graph, 30)
    with RayPipeline(split(graph, [2]), backend=[LiteRTBackend(), FailingBackend(4)],
                     max_in_flight=2) as pipe:
        with pytest.raises(StageError) as info:
            measure_runner(pipe, feeds)
        assert (info.value.stage, info.value.item) == (1, 3)
        time.sleep(0.5)  # the feeder thread sees the failure and leaves


# -- replicated stages ------------------------------------------------------------------------


class FailOnDevice(Backend):
    """LiteRT stages; the one loaded on device ``device`` fails on its ``fail_at``-th run."""

    name = "fail-on-device"

    def __init__(self, device: int, fail_at: int) -> None:
        self.device, self.fail_at = device, fail_at

    def load(self, model: bytes, device: int = 0) -> Any:
        stage = LiteRTStage(model)
        return FailingStage(stage, self.fail_at) if device == self.device else stage


def test_replicated_stages_bit_exact_in_order_with_unequal_replicas(ray_cluster: Any,
                                                                    model: bytes) -> None:
    """Stage 1 on two replicas (hostB paced at 20 ms, hostC at 3 ms): every input once, in
    order, byte for byte the whole model's; both replicas used, the fast one more."""
    graph = load(model)
    segs = split(graph, [2, 4])
    feeds = random_feeds(graph, 24)
    places = [hosts("hostA")[0], hosts("hostB", "hostC"), hosts("hostA")[0]]
    with RayPipeline(segs, backend=PacedBackend([1.0, 20.0, 3.0, 1.0]), placements=places,
                     devices=[0, [1, 2], 3], replicas=[1, 2, 1], max_in_flight=6,
                     stage_cpus=0.5) as pipe:
        assert pipe.replica_nodes[1] == [node_with("hostB"), node_with("hostC")]
        pipe.warmup(feeds[0])
        pipe.reset_stats()
        got = list(pipe.run(feeds))
        stats, parts = pipe.stats, pipe.replica_stats
    assert_same(got, whole_outputs(model, feeds))
    assert [s.items for s in stats] == [24, 24, 24] and [s.replicas for s in stats] == [1, 2, 1]
    slow, fast = (p.items for p in parts[1])
    assert slow + fast == 24 and 0 < slow < fast


def test_a_failing_replica_delivers_earlier_results_then_names_it(ray_cluster: Any,
                                                                  model: bytes) -> None:
    graph = load(model)
    segs = split(graph, [2, 4])
    feeds = random_feeds(graph, 16)
    got: list[dict[str, np.ndarray]] = []
    with RayPipeline(segs, backend=FailOnDevice(1, 3), devices=[0, [1, 2], 3],
                     replicas=[1, 2, 1], placements=[hosts("hostA")[0],
                                                     hosts("hostB", "hostC"),
                                                     hosts("hostA")[0]],
                     stage_cpus=0.5, max_in_flight=4) as pipe:
        with pytest.raises(StageError) as info:
            got.extend(pipe.run(feeds))
        err = info.value
        assert (err.stage, err.replica, err.item) == (1, 0, len(got)) and len(got) < 16
        assert str(err) == (f"pipeline stage 1 (replica 0 of 2) failed on input {len(got)}: "
                            "ValueError: injected failure")
    assert_same(got, whole_outputs(model, feeds[:len(got)]))


def test_killing_a_replica_mid_run_names_stage_and_replica(ray_cluster: Any,
                                                            model: bytes) -> None:
    graph = load(model)
    segs = split(graph, [3])
    feeds = random_feeds(graph, 30)
    got: list[dict[str, np.ndarray]] = []
    with RayPipeline(segs, backend=PacedBackend([1.0, 15.0, 15.0]), devices=[0, [1, 2]],
                     replicas=[1, 2], placements=[hosts("hostA")[0], hosts("hostB", "hostC")],
                     stage_cpus=0.5, max_in_flight=4) as pipe:
        with pytest.raises(StageError) as info:
            for k, result in enumerate(pipe.run(feeds)):
                got.append(result)
                if k == 3:
                    ray.kill(pipe.replica_actors[1][1])
        err = info.value
        assert (err.stage, err.replica, err.item) == (1, 1, len(got)) and 4 <= len(got) < 30
        assert str(err).startswith(f"pipeline stage 1 (replica 1 of 2) failed on input "
                                   f"{len(got)}: ActorLost: the Ray actor of stage 1 replica 1 "
                                   "on hostC is gone")
    assert_same(got, whole_outputs(model, feeds[:len(got)]))


def test_replica_arguments_are_checked(ray_cluster: Any, model: bytes) -> None:
    segs = split(load(model), [3])
    with pytest.raises(PipelineError, match="one count >= 1 per stage"):
        RayPipeline(segs, replicas=[1])
    with pytest.raises(PipelineError, match="2 placement"):
        RayPipeline(segs, replicas=[1, 3], placements=[ActorPlacement(), [ActorPlacement()] * 2])
    with pytest.raises(PipelineError, match="one per replica"):
        RayPipeline(segs, replicas=[1, 2], devices=[0, [1]])


def test_cluster_auto_with_a_dead_address_fails_at_once(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    """--cluster auto used to let Ray retry a dead RAY_ADDRESS for minutes."""
    from tpusplit.pipeline import ray_runner

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    assert ray_runner._resolve_auto() == "127.0.0.1:9"
    t0 = time.perf_counter()
    with pytest.raises(PipelineError, match=r"^--cluster 127.0.0.1:9: no Ray cluster there"):
        ray_runner._reachable("127.0.0.1:9")
    assert time.perf_counter() - t0 < 10
    monkeypatch.delenv("RAY_ADDRESS")
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    with pytest.raises(PipelineError, match="no Ray cluster runs on this host and RAY_ADDRESS"):
        ray_runner._resolve_auto()
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("10.1.2.3:6379\n")
    assert ray_runner._resolve_auto() == "10.1.2.3:6379"
