"""The Ray pipeline runner: Ray actors per segment, pinned to nodes, results in input order.

Same API, statistics and failure semantics as the threaded
:class:`~tpusplit.pipeline.runner.Pipeline` (``push`` / ``pop`` / ``run``, ``stats``,
:class:`~tpusplit.pipeline.runner.StageError`), for pipelines that span several hosts:

* **Stages**: each segment is loaded *on its actor* (``backend.load(backend.prepare(model))``
  runs there, so the actor holds its own interpreter or Edge TPU delegate), and the actor is
  pinned where its :class:`ActorPlacement` says: a Ray node id (hard node affinity) or custom
  resources such as ``{"edgetpu": 1}`` or a host's own resource name.
* **Replicas**: a segment may have several actors (``replicas``), each with its own placement
  and device; every input goes to the stage's least busy replica (the fewest calls submitted
  and not finished; ties to the one chosen longest ago). The driver keeps each input's chain
  of calls, so results still come out in input order.
* **Tensors** pass actor to actor as Ray objects: for every input the driver chains plain actor
  calls, ``ref_i = actor_i.run.remote(seq, ref_{i-1})``, so stage ``i`` receives stage
  ``i - 1``'s carried tensors (the names the wiring of :func:`~tpusplit.pipeline.runner.wire`
  keeps, skip tensors included) without the driver fetching them. Objects above Ray's inline
  limit (100 KiB) go through the object store (shared memory on a node, Ray's object
  manager between nodes); smaller ones travel inline through the driver, which owns every
  reference. Each actor runs its calls one at a time in submission order, so results come
  out in input order.
* **Why plain actor calls, not compiled graphs** (``ray.dag``, experimental): measured on
  two logical nodes of one 2-core machine (``benchmarks/results/ray.md``), a hop costs about
  1.9 ms with plain calls and 0.7 ms with a compiled graph (threads: 43 us). We still use
  plain calls: a compiled graph binds every actor and fixed channels for the graph's
  lifetime and is experimental in Ray 2.60; in our first benchmark run, the Ray runner
  measured *after* compiled graphs had run and been torn down was 5-10x slower than when
  measured before them (so the benchmark now measures them last); and we have not made a
  compiled graph give the fault semantics below (a dead actor a clean error, the results
  before it still delivered) nor tried one through Ray Client, which plain calls do and are
  tested for. A hop of about 2 ms is small next to a CNN stage on an Edge TPU or a
  Raspberry Pi core (several ms); switching would be a change in this module only.
* **Bounded in-flight inputs**: ``push`` waits while ``max_in_flight`` inputs are pushed but
  not yet through the last stage; finished results wait (in the object store) for ``pop``.
* **Faults**: a stage raising is returned by its actor as a failure marker that the next
  actors hand on; an actor or node that dies fails its call with Ray's actor error, and an
  actor that holds a late input and does not answer a liveness call (run on a thread of its
  own) within ``answer_timeout`` seconds fails it too (a node down or frozen, which Ray
  takes about a minute to declare dead). Either
  way ``pop`` delivers every result before the failing input, in order, then raises
  :class:`StageError` naming the stage (and the replica, for a replicated stage) and the
  input; inputs after it are dropped.
  ``close()`` (the context manager, also on Ctrl-C) kills every actor.
* **Statistics**: each actor counts items, time running (``busy_s``) and time idle between
  calls (``wait_s``); ``blocked_s`` is 0 (an actor never waits to hand on a result).

Ray is imported lazily: the base install has no Ray (``pip install 'tpusplit[cluster]'``).

Size: over 400 lines because the Ray runner mirrors the threaded one (actors, replicas,
ordering, faults, start-up and reachability checks) and must stay importable without Ray.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from tpusplit.errors import TpusplitError, first_line
from tpusplit.pipeline.backend import Backend, Stage
from tpusplit.pipeline.registry import BackendSpec, build_backend
from tpusplit.pipeline.runner import (
    POLL_S,
    PipelineBase,
    PipelineError,
    StageError,
    StageStats,
    Wiring,
    checked,
    keep,
    pick_inputs,
    wire,
)

#: The one-line error when Ray is missing.
RAY_MISSING = "ray is not installed: pip install 'tpusplit[cluster]'"
#: Seconds to wait for every actor to start and load its segment.
START_TIMEOUT_S = 120.0
#: Seconds a stage's actor has to answer a liveness call (made when a result is this late):
#: a node that is down or frozen is found in about twice this, not in Ray's own minute.
ANSWER_TIMEOUT_S = 10.0

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def import_ray() -> Any:
    """The ``ray`` module; a one-line :class:`PipelineError` when it is not installed."""
    try:
        import ray
    except ImportError:
        raise PipelineError(RAY_MISSING) from None
    # the calls of inputs dropped after a failure fail too, unread: not worth a traceback
    os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
    return ray


def connect(address: str) -> bool:
    """Connect this process to the Ray cluster at ``address`` (``auto``: the one running on
    this host or in ``RAY_ADDRESS``; ``ray://HOST:PORT``: Ray Client; ``HOST:PORT``: its GCS).

    Returns True when this call connected (the caller then disconnects with
    :func:`disconnect`), False when the process already was. One-line
    :class:`PipelineError` when there is no cluster at ``address``.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    if not address or not (address == "auto" or address.startswith("ray://")
                           or re.fullmatch(r"[\w.\-\[\]:]+:\d+", address)):
        raise PipelineError(f"--cluster {address!r}: give auto, ray://HOST:PORT or HOST:PORT")
    if address == "auto":
        _reachable(_resolve_auto(), hint=" (from --cluster auto: RAY_ADDRESS or this host's "
                   "last cluster)")
    else:
        _reachable(address)
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        raise PipelineError(f"--cluster {address}: cannot connect to a Ray cluster "
                            f"({_clean(exc)}); start one with `ray start --head`") from None
    return True


def _resolve_auto() -> str:
    """What ``--cluster auto`` connects to: ``RAY_ADDRESS``, else the cluster this host runs
    (Ray's ``/tmp/ray/ray_current_cluster``); a one-line error when there is neither (Ray
    would search and retry for minutes)."""
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env and env != "auto":
        return env
    current = Path(os.environ.get("RAY_TMPDIR", tempfile.gettempdir())) / "ray" / \
        "ray_current_cluster"
    try:
        address = current.read_text().strip()
    except OSError:
        address = ""
    if not address:
        raise PipelineError("--cluster auto: no Ray cluster runs on this host and RAY_ADDRESS "
                            "is not set; start one with `ray start --head`")
    return address


def _reachable(address: str, timeout: float = 5.0, hint: str = "") -> None:
    """A one-line error at once when nothing listens at ``address`` (Ray itself retries for
    minutes)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or first_line(exc)
        raise PipelineError(f"--cluster {address}: no Ray cluster there ({why}); start one "
                            f"with `ray start --head`{hint}") from None


def disconnect() -> None:
    """Leave the Ray cluster (a no-op when not connected)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


def _clean(exc: BaseException | str) -> str:
    """The most telling line of a (Ray) error: no colour codes, no ``ray::`` task header."""
    lines = [_ANSI.sub("", line).strip() for line in str(exc).splitlines()]
    lines = [line for line in lines if line and not line.startswith(("ray::", "Traceback",
                                                                     "File ", "At least"))]
    best = next((line for line in lines if "died" in line or "Error:" in line),
                lines[0] if lines else "")
    best = best.removeprefix("ray.exceptions.")
    return best or (exc if isinstance(exc, str) else type(exc).__name__)


@dataclass(frozen=True)
class ActorPlacement:
    """Where a stage's actor runs: a Ray node id, custom resources (``{"edgetpu": 1}``, a
    host's own resource), or anywhere Ray likes (both empty). ``label`` names it in errors."""

    node_id: str | None = None
    resources: Mapping[str, float] = field(default_factory=dict)
    label: str = ""

    def describe(self) -> str:
        """How the placement reads in messages."""
        if self.label:
            return self.label
        if self.node_id:
            return f"node {self.node_id[:12]}"
        if self.resources:
            return ",".join(f"{k}={v:g}" for k, v in self.resources.items())
        return "any node"


class RemoteStageFailure(TpusplitError):
    """A stage's exception that could not be sent back as it was (not picklable)."""


@dataclass
class _Failed:
    """What an actor returns instead of tensors when its stage raised (later actors pass it
    on)."""

    stage: int
    seq: int
    cause: BaseException
    replica: int = 0


@dataclass
class _Flight:
    """One input inside the pipeline: its call of every stage and the replica that got it."""

    refs: list[Any]
    replicas: list[int]
    sent: float = field(default_factory=time.perf_counter)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a one-line stand-in with its type and message."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RemoteStageFailure(f"{type(exc).__name__}: {first_line(exc, default='')}")


class StageActor:
    """The actor class (wrapped by ``ray.remote`` at run time): one segment, its stats."""

    def __init__(self, index: int, model: bytes, backend: BackendSpec, device: int,
                 replica: int = 0) -> None:
        self.index = index
        self.replica = replica
        self.error = ""
        self.items, self.busy_s, self.wait_s = 0, 0.0, 0.0
        self.last: float | None = None
        self.reads: tuple[str, ...] = ()
        self.carry: frozenset[str] = frozenset()
        try:
            built = build_backend(backend)
            self.stage = built.load(built.prepare(model), device)
        except Exception as exc:  # reported by info(): the actor stays up to say why
            self.error = f"{type(exc).__name__}: {first_line(exc, default='')}"

    def info(self) -> dict[str, Any]:
        """The stage's interface (or its load error) and the node it runs on."""
        import ray

        node = ray.get_runtime_context().get_node_id()
        if self.error:
            return {"error": self.error, "node": node}
        specs = {n: self.stage.input_spec(n) for n in self.stage.input_names}
        return {"inputs": tuple(self.stage.input_names),
                "outputs": tuple(self.stage.output_names), "specs": specs, "node": node}

    def configure(self, reads: tuple[str, ...], carry: frozenset[str]) -> None:
        """What the stage reads and what it hands on (the pipeline's wiring)."""
        self.reads, self.carry = reads, carry

    def run(self, seq: int, env: dict[str, np.ndarray] | _Failed
            ) -> dict[str, np.ndarray] | _Failed:
        """Run the stage on input ``seq`` (or hand on an earlier stage's failure)."""
        if isinstance(env, _Failed):
            return env
        t1 = time.perf_counter()
        if self.last is not None:
            self.wait_s += t1 - self.last
        try:
            produced = checked(self.stage, self.stage.run({n: env[n] for n in self.reads}))
        except BaseException as exc:  # any stage error reaches the caller
            self.last = time.perf_counter()
            self.busy_s += self.last - t1
            return _Failed(self.index, seq, _portable(exc), self.replica)
        out = keep(dict(env), produced, self.carry)
        self.last = time.perf_counter()
        self.busy_s += self.last - t1
        if seq >= 0:
            self.items += 1
        return out

    def alive(self) -> bool:
        """Answer a liveness call (on the actor's own ``health`` thread, beside a run)."""
        return True

    def stats(self) -> tuple[int, float, float]:
        """(items, busy seconds, idle seconds between calls)."""
        return self.items, self.busy_s, self.wait_s

    def reset(self) -> None:
        """Count from now on."""
        self.items, self.busy_s, self.wait_s, self.last = 0, 0.0, 0.0, None


class RayPipeline(PipelineBase):
    """Run segments as a pipeline of Ray actors (see the module docstring).

    Args:
        segments: the segments' TFLite bytes, in pipeline order.
        backend: how each actor loads its segment: a :class:`Backend` (pickled to the actor)
            or ``(device name, options)`` built on the actor
            (:func:`~tpusplit.pipeline.registry.build_backend`); one for every stage or one
            per stage. Default: LiteRT on CPU.
        placements: where each stage's actor runs (default: anywhere); a list or tuple in
            place of a stage's placement gives each of its replicas its own.
        outputs: tensor names returned for each input (default: see
            :func:`~tpusplit.pipeline.runner.wire`).
        max_in_flight: inputs pushed and not yet through the last stage, at most.
        stage_cpus: logical CPUs each actor reserves on its node.
        devices: the device number each stage's backend loads on, or a list per replica
            (default: the actor's rank among the actors of the same placement, so two TPU
            stages or replicas on one host use its TPUs 0 and 1).
        replicas: actors of each stage (default one each).
        answer_timeout: when a result is ``answer_timeout / 2`` seconds late, the actor that
            holds the input must answer a liveness call within ``answer_timeout`` seconds;
            one that does not (its node down, frozen or cut off) fails the input with
            :class:`StageError` (Ray itself takes about a minute to declare a node dead).
            Both waits grow to the longest time an input has taken through the pipeline (and
            twice that), since an actor answers after its earlier calls have their inputs.

    The process must be connected to a cluster (:func:`connect`). Use ``push``/``pop`` or
    ``run`` as with :class:`~tpusplit.pipeline.runner.Pipeline`; close it (or use it as a
    context manager) to kill the actors.
    """

    def __init__(self, segments: Sequence[bytes], backend: BackendSpec | Sequence[BackendSpec]
                 | None = None, placements: Sequence[ActorPlacement] | None = None,
                 outputs: Sequence[str] | None = None, max_in_flight: int = 8,
                 stage_cpus: float = 1.0,
                 devices: Sequence[int | Sequence[int]] | None = None,
                 start_timeout: float = START_TIMEOUT_S,
                 replicas: Sequence[int] | None = None,
                 answer_timeout: float = ANSWER_TIMEOUT_S) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            raise PipelineError("not connected to a Ray cluster (connect() first)")
        if not segments:
            raise PipelineError("a pipeline needs at least one stage")
        if max_in_flight < 1:
            raise PipelineError(f"max_in_flight must be >= 1, not {max_in_flight}")
        n = len(segments)
        counts = list(replicas) if replicas is not None else [1] * n
        if len(counts) != n or any(r < 1 for r in counts):
            raise PipelineError(f"replicas: one count >= 1 per stage ({n}), got {counts}")
        given = list(placements) if placements is not None else [ActorPlacement()] * n
        if len(given) != n:
            raise PipelineError(f"{len(given)} placement(s) given for {n} stages")
        places = [list(p) if isinstance(p, list | tuple) else [p] * r
                  for p, r in zip(given, counts, strict=True)]
        for i, (p, r) in enumerate(zip(places, counts, strict=True)):
            if len(p) != r:
                raise PipelineError(f"stage {i}: {len(p)} placement(s) given for {r} replicas")
        if backend is None:
            backend = ("cpu", {})
        if isinstance(backend, Backend | tuple):
            backends: list[BackendSpec] = [backend] * n
        else:
            backends = list(backend)
            if len(backends) != n:
                raise PipelineError(f"{len(backends)} backend(s) given for {n} stages")
        flat = [p for group in places for p in group]
        if devices is None:
            ranks = iter(range(len(flat)))
            devs = [[sum(q == p for q in flat[:next(ranks)]) for p in group] for group in places]
        else:
            if len(devices) != n:
                raise PipelineError(f"{len(devices)} device(s) given for {n} stages")
            devs = [list(d) if isinstance(d, list | tuple) else [cast(int, d)] * r
                    for d, r in zip(devices, counts, strict=True)]
            if any(len(d) != r for d, r in zip(devs, counts, strict=True)):
                raise PipelineError("devices: one per replica of each stage")
        self._check_feasible(flat)
        self._ray = ray
        self.replica_placements = places
        self.placements = [group[0] for group in places]
        self.replicas = counts
        self.max_in_flight = max_in_flight
        self.answer_timeout = answer_timeout
        #: The longest an input has taken from push to result so far (s): a stage whose
        #: earlier calls still wait for their inputs answers a liveness call only after them
        #: (Ray runs an actor's calls in order), so the waits scale with it.
        self._slowest = 0.0
        self._lock = threading.Condition()
        self._closed = False
        self._ended = False
        self._finished = False
        self._failure: StageError | None = None
        self._delivered_error = False
        self._pushed = 0
        self._popped = 0
        self._pusher: int | None = None
        self._done = 0  # inputs known to be through the last stage
        self._flight: collections.deque[_Flight] = collections.deque()
        # runs in order on the default thread; liveness calls on a thread of their own
        remote = ray.remote(concurrency_groups={"health": 1})(StageActor)
        #: Every stage's actors (``replica_actors[i][j]``: replica ``j`` of stage ``i``);
        #: :attr:`actors` lists them all in that order (one per stage without replicas).
        self.replica_actors: list[list[Any]] = []
        self.actors: list[Any] = []
        for i, (seg, be, group) in enumerate(zip(segments, backends, places, strict=True)):
            self.replica_actors.append([])
            for j, place in enumerate(group):
                opts: dict[str, Any] = {"num_cpus": stage_cpus, "max_restarts": 0}
                if place.resources:
                    opts["resources"] = dict(place.resources)
                if place.node_id:
                    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

                    opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(
                        place.node_id, soft=False)
                actor = remote.options(**opts).remote(i, bytes(seg), be, devs[i][j], j)
                self.replica_actors[i].append(actor)
                self.actors.append(actor)
        # the calls each replica has been sent and not yet finished, and when it was chosen
        self._sent: list[list[collections.deque[Any]]] = [
            [collections.deque() for _ in range(r)] for r in counts]
        self._chosen = [[-1] * r for r in counts]
        try:  # a stage that cannot start or be wired: no actor is left behind
            infos = self._start(start_timeout)
            names = [_Interface(infos[i][0]["inputs"], infos[i][0]["outputs"])
                     for i in range(n)]
            for i, group in enumerate(infos):
                if any((g["inputs"], g["outputs"]) != (group[0]["inputs"], group[0]["outputs"])
                       for g in group):
                    raise PipelineError(f"stage {i}: its replicas differ in tensor names")
            self.wiring: Wiring = wire(cast(list[Stage], names), outputs)
            ray.get([a.configure.remote(self.wiring.reads[i], self.wiring.carry[i])
                     for i, group in enumerate(self.replica_actors) for a in group])
        except BaseException:
            self.close()
            raise
        self.replica_nodes = [[info["node"] for info in group] for group in infos]
        self.nodes = [group[0] for group in self.replica_nodes]
        self.input_specs = {n: s for info in infos for n, s in info[0]["specs"].items()}
        self.started = time.perf_counter()

    def _check_feasible(self, places: Sequence[ActorPlacement]) -> None:
        """One line when no live node has a placement's node id or resources (Ray would
        leave the actor pending forever)."""
        nodes = [n for n in self._nodes() if n.get("Alive")]
        for i, p in enumerate(places):  # i: the actor's rank (the stage without replicas)
            if p.node_id and not any(n.get("NodeID") == p.node_id for n in nodes):
                raise PipelineError(f"stage {i}: no live Ray node has id {p.node_id}")
            for name, amount in p.resources.items():
                if not any(n.get("Resources", {}).get(name, 0) >= amount for n in nodes):
                    raise PipelineError(f"stage {i}: no Ray node offers resource {name!r} "
                                        f"(>= {amount:g}); start the node with "
                                        f"`ray start ... --resources '{{\"{name}\": 1}}'`")

    @staticmethod
    def _nodes() -> list[dict[str, Any]]:
        import ray

        nodes: list[dict[str, Any]] = ray.nodes()
        return nodes

    def _start(self, timeout: float) -> list[list[dict[str, Any]]]:
        """Every actor's :meth:`StageActor.info`, by stage and replica."""
        ray = import_ray()
        where = [(i, j) for i, g in enumerate(self.replica_actors) for j in range(len(g))]
        refs = [a.info.remote() for a in self.actors]
        try:
            flat: list[dict[str, Any]] = ray.get(refs, timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            waiting = [where[k] for k, r in enumerate(refs) if not ray.wait([r], timeout=0)[0]]
            first = waiting[0] if waiting else (0, 0)
            raise PipelineError(f"{self._name(*first)}: its Ray actor did not start within "
                                f"{timeout:g} s (not enough CPUs or resources on its "
                                "node?)") from None
        except ray.exceptions.RayError as exc:
            raise PipelineError(f"a stage's Ray actor failed to start: {_clean(exc)}") \
                from None
        for (i, j), info in zip(where, flat, strict=True):
            if "error" in info:
                raise PipelineError(f"{self._name(i, j)} on "
                                    f"{self.replica_placements[i][j].describe()}: "
                                    f"{info['error']}")
        infos: list[list[dict[str, Any]]] = [[] for _ in self.replica_actors]
        for (i, _), info in zip(where, flat, strict=True):
            infos[i].append(info)
        return infos

    def _name(self, stage: int, replica: int) -> str:
        """``stage 2``, or ``stage 2 replica 1`` for a replicated stage."""
        return f"stage {stage}" + (f" replica {replica}" if self.replicas[stage] > 1 else "")

    # -- public API (as Pipeline) -----------------------------------------------------------

    @property
    def replica_stats(self) -> list[list[StageStats]]:
        """Per-replica counters, fetched from the actors (after the calls queued so far)."""
        got = iter(self._ray.get([a.stats.remote() for a in self.actors]))
        out: list[list[StageStats]] = []
        for group in self.replica_actors:
            out.append([])
            for _ in group:
                items, busy, wait = next(got)
                out[-1].append(StageStats(items, busy, wait, 0.0))
        return out

    @property
    def stats(self) -> list[StageStats]:
        """Per-stage counters (for a replicated stage, the sums over its replicas)."""
        return [StageStats.total(parts) for parts in self.replica_stats]

    def reset_stats(self) -> None:
        """Count from now on (statistics of warm-up runs are dropped)."""
        self._ray.get([a.reset.remote() for a in self.actors])

    def warmup(self, feeds: Mapping[str, np.ndarray]) -> None:
        """Run one input through every actor (every replica), outside the count (first invokes
        allocate); :class:`StageError` (input 0) if a stage fails."""
        env = pick_inputs(self.wiring, feeds)
        for k in range(max(self.replicas)):
            flight = self._chain(-1, env, [min(k, r - 1) for r in self.replicas])
            try:
                got = self._ray.get(flight.refs[-1])
            except self._ray.exceptions.RayError as exc:
                raise self._actor_error(flight, 0, exc) from None
            if isinstance(got, _Failed):
                raise self._stage_error(got, 0)

    def push(self, feeds: Mapping[str, np.ndarray] | None) -> None:
        """Send one input into the pipeline (every name of :attr:`input_names`); ``None``
        ends the input.

        Waits while ``max_in_flight`` inputs are not through the last stage yet. Raises
        :class:`StageError` once a failure has been delivered, :class:`PipelineError` after
        ``close()``, after the end of input, or when an input tensor is missing.
        """
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise PipelineError("push on a closed pipeline")
        if self._ended:
            raise PipelineError("push after the end of input (push(None))")
        self._pusher = threading.get_ident()
        if feeds is None:
            with self._lock:
                self._ended = True
                self._lock.notify_all()
            return
        env = pick_inputs(self.wiring, feeds)
        self._wait_room()
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._closed:
                raise PipelineError("push on a closed pipeline")
            self._flight.append(self._chain(self._pushed, env))
            self._pushed += 1
            self._lock.notify_all()

    def _chain(self, seq: int, env: dict[str, np.ndarray],
               choice: Sequence[int] | None = None) -> _Flight:
        """Send input ``seq`` through every stage: to the replicas ``choice``, by default each
        stage's least busy one."""
        refs: list[Any] = []
        picked: list[int] = []
        arg: Any = env
        for i, group in enumerate(self.replica_actors):
            j = self._least_busy(i) if choice is None else choice[i]
            arg = group[j].run.remote(seq, arg)
            refs.append(arg)
            picked.append(j)
            if len(group) > 1 and choice is None:
                self._sent[i][j].append(arg)
                self._chosen[i][j] = seq
        return _Flight(refs, picked)

    def _least_busy(self, stage: int) -> int:
        """The replica of ``stage`` with the fewest calls sent and not finished (ties: the
        one chosen longest ago)."""
        sent = self._sent[stage]
        if len(sent) == 1:
            return 0
        for pending in sent:
            if pending:
                ready, rest = self._ray.wait(list(pending), num_returns=len(pending),
                                             timeout=0, fetch_local=False)
                if ready:
                    pending.clear()
                    pending.extend(rest)
        return min(range(len(sent)), key=lambda j: (len(sent[j]), self._chosen[stage][j]))

    def _wait_room(self) -> None:
        """Block until fewer than ``max_in_flight`` inputs are inside the pipeline."""
        ray = self._ray
        while True:
            with self._lock:
                if self._failure is not None:  # found by pop meanwhile (another thread)
                    raise self._failure
                if self._closed:
                    raise PipelineError("push on a closed pipeline")
                self._done = max(self._done, self._popped)
                if self._pushed - self._done < self.max_in_flight:
                    return
                oldest = self._flight[self._done - self._popped].refs[-1]
            ready, _ = ray.wait([oldest], timeout=POLL_S, fetch_local=False)
            if ready:
                with self._lock:
                    self._done += 1

    def pop(self, timeout: float | None = None) -> dict[str, np.ndarray] | None:
        """The next result in input order; ``None`` after the last one (input ended).

        Raises :class:`StageError` when the next result is the one a stage failed on (all
        earlier results have been returned), :class:`PipelineError` when the pipeline is
        closed or ``timeout`` seconds pass, or when nothing is pending and the input is
        not ended (it would wait forever).
        """
        if self._delivered_error and self._failure is not None:
            raise self._failure
        if self._finished:
            return None
        if self._closed:
            raise PipelineError("pop on a closed pipeline")
        deadline = None if timeout is None else time.perf_counter() + timeout
        with self._lock:
            if not self._ended and not self._flight and self._pusher == threading.get_ident():
                raise PipelineError("pop with nothing pending: push an input or push(None) "
                                    "first")
            while not self._flight:
                if self._closed:
                    raise PipelineError("pop on a closed pipeline")
                if self._ended:
                    self._finished = True
                    return None
                if deadline is not None and time.perf_counter() >= deadline:
                    raise PipelineError(f"no result within {timeout} s")
                self._lock.wait(POLL_S)
            flight = self._flight[0]
            refs = flight.refs
            seq = self._popped
        ray = self._ray
        lost: StageError | None = None
        quiet = time.perf_counter()  # since when no stage of this input has finished
        finished = self._finished_stages(refs)
        while True:
            if self._closed:
                raise PipelineError("pop on a closed pipeline")
            ready, _ = ray.wait([refs[-1]], timeout=POLL_S)
            if ready:
                break
            now = time.perf_counter()
            if deadline is not None and now >= deadline:
                raise PipelineError(f"no result within {timeout} s")
            if now - quiet >= max(self.answer_timeout / 2, self._slowest):
                done = self._finished_stages(refs)
                if done == finished:
                    lost = self._silent(flight, done, seq)
                    if lost is not None:
                        break
                finished, quiet = done, time.perf_counter()
        if lost is not None:
            got: Any = _Failed(lost.stage, seq, lost)
            self._failure = lost
        else:
            try:
                got = ray.get(refs[-1])
                self._slowest = max(self._slowest, time.perf_counter() - flight.sent)
            except ray.exceptions.RayError as exc:
                got = _Failed(-1, seq, exc)
                self._failure = self._actor_error(flight, seq, exc)
        with self._lock:
            if self._closed:
                raise PipelineError("pop on a closed pipeline")
            self._flight.popleft()
            self._popped += 1
        if isinstance(got, _Failed):
            if self._failure is None:
                self._failure = self._stage_error(got, seq)
            self._delivered_error = True
            self._drop()
            raise self._failure
        return {n: got[n] for n in self.wiring.outputs}

    def _finished_stages(self, refs: Sequence[Any]) -> int:
        """How many of an input's stages (from the first) have finished."""
        done = 0
        for ref in refs:
            if not self._ray.wait([ref], timeout=0, fetch_local=False)[0]:
                break
            done += 1
        return done

    def _silent(self, flight: _Flight, stage: int, seq: int) -> StageError | None:
        """The :class:`StageError` when the actor holding input ``seq`` at ``stage`` does not
        answer a liveness call within :attr:`answer_timeout` seconds (or is dead), else None.
        """
        ray = self._ray
        j = flight.replicas[stage]
        actor = self.replica_actors[stage][j]
        ping = actor.alive.options(concurrency_group="health").remote()
        wait = max(self.answer_timeout, 2 * self._slowest)
        try:
            if ray.wait([ping], timeout=wait, fetch_local=False)[0]:
                ray.get(ping)
                return None
            why = f"does not answer within {wait:.3g} s (its node down, frozen or cut off?)"
        except ray.exceptions.RayError as exc:
            why = f"is gone ({_clean(exc)})"
        place = self.replica_placements[stage][j].describe()
        return StageError(stage, seq, ActorLost(f"the Ray actor of {self._name(stage, j)} on "
                                                f"{place} {why}"), j, self.replicas[stage])

    def _stage_error(self, failed: _Failed, seq: int) -> StageError:
        """The :class:`StageError` for a stage that raised."""
        return StageError(failed.stage, seq, failed.cause, failed.replica,
                          self.replicas[failed.stage])

    def _actor_error(self, flight: _Flight, seq: int, exc: BaseException) -> StageError:
        """The :class:`StageError` for a call that failed in Ray (an actor or node died):
        the first stage whose call failed, and the replica that had the input."""
        ray = self._ray
        refs = flight.refs
        stage = len(refs) - 1
        for i, ref in enumerate(refs):
            if not ray.wait([ref], timeout=5, fetch_local=False)[0]:
                continue  # still running (a call on a dead actor fails at once)
            try:
                ray.get(ref)
            except ray.exceptions.RayError as first:
                stage, exc = i, first
                break
        j = flight.replicas[stage]
        place = self.replica_placements[stage][j].describe()
        return StageError(stage, seq, ActorLost(f"the Ray actor of {self._name(stage, j)} on "
                                                f"{place} is gone ({_clean(exc)})"),
                          j, self.replicas[stage])

    def _drop(self) -> None:
        """After a failure: forget the inputs after it (their calls fail or are dropped)."""
        with self._lock:
            self._flight.clear()
            self._finished = True

    def run(self, inputs: Iterable[Mapping[str, np.ndarray]]) -> Iterator[dict[str, np.ndarray]]:
        """Push every input (ending the input) and yield every result in order.

        Keeps at most ``max_in_flight`` inputs inside the pipeline; on a stage failure,
        yields every result before the failing input, then raises its :class:`StageError`.
        """
        for feeds in inputs:
            while self.pending >= self.max_in_flight:
                result = self.pop()
                assert result is not None
                yield result
            self.push(feeds)
        self.push(None)
        yield from self._remaining()

    def close(self, timeout: float | None = None) -> None:
        """Kill every actor and drop pending work; idempotent (``timeout`` is accepted for
        the threaded runner's signature)."""
        with self._lock:
            self._closed = True
            self._flight.clear()
            self._lock.notify_all()
        for actor in getattr(self, "actors", []):
            with contextlib.suppress(Exception):  # already dead, or the cluster is gone
                self._ray.kill(actor, no_restart=True)


class ActorLost(TpusplitError):
    """A stage's Ray actor (or its node) died."""


@dataclass(frozen=True)
class _Interface:
    """A stage's tensor names, for :func:`~tpusplit.pipeline.runner.wire`."""

    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
