"""The threaded pipeline runner: workers per segment, bounded queues, results in input order.

Modelled on libcoral's ``PipelinedModelRunner`` (one thread per segment, a queue between
consecutive segments, tensors connected by name, tensors that skip segments carried in host
memory), with explicit failure semantics:

* **Replicas**: a segment may run on several workers, each with its own loaded
  :class:`~tpusplit.pipeline.backend.Stage` (the same segment on another device). They share
  the segment's input queue, so each input goes to the first replica that is free (the least
  busy one); what they finish goes through a reorder buffer that hands results on in input
  order. A replica runs at most ``replicas * (queue_size + 1)`` inputs ahead of the oldest
  unfinished one, so the buffer stays bounded when one replica is slow.
* **Rebalancing** (optional, ``rebalance=``): a watcher compares the stages' measured time
  per input over a window; when moving one replica from a stage that can spare it to the
  slowest stage would cut the bottleneck by a margin, a worker of the donor stage finishes
  its input, loads the slow stage's segment on its own device and joins that stage (as
  CodeProject.AI's Coral module does). :attr:`Pipeline.moves` reports each move. Order,
  no loss or duplication and the failure semantics hold across a move.
* **An exception in a stage** stops the pipeline at that stage. Every result of an input pushed
  before the failing one is still delivered by :meth:`Pipeline.pop`, in order (including the
  inputs other replicas of the failing stage are still running); then ``pop`` raises
  :class:`StageError` (stage index, replica, input number, cause). Inputs after the failing one
  are dropped. ``push`` raises the same error once the failure is known.
* **Nothing hangs**: workers wait on their queues with a short timeout and leave when the
  pipeline is closed, so :meth:`Pipeline.close` (called by the context manager, also on
  Ctrl-C) returns once each worker has finished the ``invoke`` it is in.
* **Order**: FIFO queues, and for replicated stages the reorder buffer, keep the input order;
  every item carries its sequence number and the output is checked against it. Every input is
  run once by one replica of each stage: none is lost or duplicated.

Works with any :class:`~tpusplit.pipeline.backend.Stage` (LiteRT on CPU, the Edge TPU
delegate, or test doubles). LiteRT's ``invoke()`` releases the GIL, so stages run in parallel.

Size: over 400 lines because the threaded runner's state machine (queues, replicas, ordering,
faults) is one object; the stage wiring and statistics it needs are small helpers beside it.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, cast

import numpy as np

from tpusplit.errors import TpusplitError, first_line
from tpusplit.pipeline.backend import Stage
from tpusplit.pipeline.rebalance import Move, Rebalance, plan_move

#: How often (seconds) a waiting worker checks whether the pipeline was closed.
POLL_S = 0.05


class PipelineError(TpusplitError):
    """Misuse of a pipeline (push after close, a missing input tensor, ...)."""


class StageError(PipelineError):
    """A stage raised: ``stage`` (0-based index), ``item`` (0-based input number), ``cause``;
    ``replica`` (0-based) of ``replicas`` workers of that stage (named in the message when the
    stage has more than one)."""

    def __init__(self, stage: int, item: int, cause: BaseException, replica: int = 0,
                 replicas: int = 1) -> None:
        first = first_line(cause, default="")
        where = f" (replica {replica} of {replicas})" if replicas > 1 else ""
        super().__init__(f"pipeline stage {stage}{where} failed on input {item}: "
                         f"{type(cause).__name__}{': ' + first if first else ''}")
        self.stage = stage
        self.item = item
        self.cause = cause
        self.replica = replica


@dataclass
class StageStats:
    """Per-stage (or per-replica) counters (seconds): time running, waiting for input, blocked
    on output. For a stage of several ``replicas`` they are the replicas' sums."""

    items: int = 0
    busy_s: float = 0.0
    wait_s: float = 0.0
    blocked_s: float = 0.0
    replicas: int = 1

    def utilisation(self, wall_s: float) -> float:
        """Share of ``wall_s`` the stage (its replicas on average) spent running."""
        return self.busy_s / (wall_s * self.replicas) if wall_s > 0 else 0.0

    def period_s(self) -> float:
        """Busy seconds per input divided by the replicas: the stage's time per input when it
        is the bottleneck (0 before any input)."""
        return self.busy_s / (self.items * self.replicas) if self.items else 0.0

    def as_dict(self) -> dict[str, float]:
        """JSON-friendly copy."""
        return {"items": self.items, "busy_s": self.busy_s, "wait_s": self.wait_s,
                "blocked_s": self.blocked_s, "replicas": self.replicas}

    @staticmethod
    def total(parts: Sequence[StageStats]) -> StageStats:
        """The sums over a stage's replicas."""
        return StageStats(sum(p.items for p in parts), sum(p.busy_s for p in parts),
                          sum(p.wait_s for p in parts), sum(p.blocked_s for p in parts),
                          len(parts))


@dataclass
class _Item:
    seq: int
    env: dict[str, np.ndarray]


@dataclass
class _Failure:
    error: StageError


_END = object()  # end of input: workers forward it and leave


@dataclass
class _Group:
    """What the replicas of one stage share: their reorder buffer (results by input number,
    handed on from ``next_out`` in order), the input a failure stopped them at, how many
    workers are still running."""

    cond: threading.Condition
    window: int
    left: int
    next_out: int = 0
    buffer: dict[int, _Item | _Failure] = field(default_factory=dict)
    failed_at: int | None = None
    finished: bool = False  # a failure was handed on: nothing more leaves this stage
    ended: bool = False  # a worker met the end of input (or a failure): no worker may join

    def dropped(self, seq: int) -> bool:
        """Input ``seq`` comes after this stage's failure: it is not run."""
        return self.failed_at is not None and seq > self.failed_at


@dataclass(frozen=True)
class Wiring:
    """How tensors flow: what each stage reads, what crosses each boundary, what comes out.

    ``carry[i]`` is the set of tensor names kept after stage ``i`` (used by a later stage or a
    final output); ``inputs`` are the names the caller must push; ``outputs`` are returned.
    """

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    reads: tuple[tuple[str, ...], ...]
    carry: tuple[frozenset[str], ...] = field(default=())


def wire(stages: Sequence[Stage], outputs: Sequence[str] | None = None) -> Wiring:
    """Connect ``stages`` by tensor name.

    A name a stage reads comes from the latest earlier stage producing it, else from the
    caller (a pipeline input). ``outputs`` defaults to every stage output that no later stage
    reads. Raises :class:`PipelineError` for an output nobody produces.

    Complexity: O(total number of names).
    """
    if not stages:
        raise PipelineError("a pipeline needs at least one stage")
    produced: set[str] = set()
    inputs: list[str] = []
    for st in stages:
        for name in st.input_names:
            if name not in produced and name not in inputs:
                inputs.append(name)
        produced.update(st.output_names)
    if outputs is None:
        outs: list[str] = []
        for i, st in enumerate(stages):
            later = {n for s in stages[i + 1:] for n in s.input_names}
            outs += [n for n in st.output_names if n not in later and n not in outs]
    else:
        outs = list(outputs)
        missing = [n for n in outs if n not in produced and n not in inputs]
        if missing:
            raise PipelineError(f"pipeline output {missing[0]!r} is produced by no stage")
    carry = []
    for i in range(len(stages)):
        later = {n for s in stages[i + 1:] for n in s.input_names}
        carry.append(frozenset(later | set(outs)))
    return Wiring(tuple(inputs), tuple(outs), tuple(tuple(s.input_names) for s in stages),
                  tuple(carry))


def pick_inputs(wiring: Wiring, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The pipeline inputs of ``feeds``; a :class:`PipelineError` naming the first missing one.
    """
    missing = [n for n in wiring.inputs if n not in feeds]
    if missing:
        raise PipelineError(f"no value for pipeline input {missing[0]!r} "
                            f"(expected {', '.join(wiring.inputs)})")
    return {n: feeds[n] for n in wiring.inputs}


def keep(env: dict[str, np.ndarray], produced: Mapping[str, np.ndarray],
         carry: frozenset[str]) -> dict[str, np.ndarray]:
    """After a stage: the tensors of ``env`` and ``produced`` that a later stage or the output
    needs (``carry``); what every runner hands to the next stage."""
    env.update(produced)
    return {n: v for n, v in env.items() if n in carry}


def checked(stage: Stage, produced: object) -> Mapping[str, np.ndarray]:
    """``produced`` if it is what ``stage`` promises (a mapping with every output name);
    a :class:`PipelineError` saying what is wrong otherwise (the worker reports it as the
    stage's failure instead of dying)."""
    if not isinstance(produced, Mapping):
        raise PipelineError(f"the stage returned {type(produced).__name__}, not a mapping of "
                            "tensor names to arrays")
    missing = [n for n in stage.output_names if n not in produced]
    if missing:
        raise PipelineError(f"the stage returned no tensor {', '.join(missing)}")
    return produced


def replicas_of(stage: Stage | Sequence[Stage]) -> list[Stage]:
    """A pipeline position's replicas: a list or tuple of stages, or one stage."""
    if isinstance(stage, list | tuple):
        return list(stage)
    return [cast(Stage, stage)]


class PipelineBase:
    """What every pipeline runner shares: tensor names, the pending count, the wall clock and
    closing as a context manager. Subclasses set ``wiring``, ``_pushed``, ``_popped`` and
    ``started`` and define ``close``."""

    wiring: Wiring
    _pushed: int
    _popped: int
    started: float

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names the caller must give to :meth:`push`."""
        return self.wiring.inputs

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of each result of :meth:`pop`."""
        return self.wiring.outputs

    @property
    def pending(self) -> int:
        """Inputs pushed whose result has not been popped yet."""
        return self._pushed - self._popped

    def wall_s(self) -> float:
        """Seconds since the pipeline started."""
        return time.perf_counter() - self.started

    def pop(self, timeout: float | None = None) -> dict[str, np.ndarray] | None:
        """The next result in input order; ``None`` after the last one."""
        raise NotImplementedError

    def close(self, timeout: float | None = None) -> None:
        """Stop the pipeline and release its workers; idempotent."""
        raise NotImplementedError

    def _remaining(self) -> Iterator[dict[str, np.ndarray]]:
        """Pop and yield every result up to the last one (the input has ended)."""
        while (result := self.pop()) is not None:
            yield result

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class Pipeline(PipelineBase):
    """Run ``stages`` as a pipeline: worker threads per stage, bounded queues between them.

    Args:
        stages: loaded segments in order (anything with ``input_names``, ``output_names``,
            ``run(feeds) -> dict``); a list or tuple in place of a stage gives its replicas
            (the same segment loaded once per device, one worker each).
        outputs: tensor names returned for each input (default: see :func:`wire`).
        queue_size: capacity of each queue between stages (back-pressure on ``push``).
        cores: optional CPU core per stage, or per replica (a list or tuple in place of a
            stage's core); each worker pins its thread there (Linux ``sched_setaffinity`` on
            the calling thread); ignored where the OS does not allow.
        rebalance: move replicas between stages at run time
            (:class:`~tpusplit.pipeline.rebalance.Rebalance`); None keeps every replica on
            its stage.

    Use ``push(feeds)`` / ``pop()`` like Coral's ``PipelinedModelRunner`` (``push(None)`` ends
    the input; ``pop()`` returns ``None`` after the last result), or ``run(inputs)``, an
    iterator over results in input order. As a context manager it closes on exit.
    """

    def __init__(self, stages: Sequence[Stage | Sequence[Stage]],
                 outputs: Sequence[str] | None = None, queue_size: int = 4,
                 cores: Sequence[int | Sequence[int | None] | None] | None = None,
                 rebalance: Rebalance | None = None) -> None:
        self.replicas: list[list[Stage]] = [replicas_of(s) for s in stages]
        self.stages = [group[0] for group in self.replicas if group]
        for i, group in enumerate(self.replicas):
            if not group:
                raise PipelineError(f"stage {i} has no replica")
            for r in group[1:]:
                if (tuple(r.input_names), tuple(r.output_names)) != (
                        tuple(group[0].input_names), tuple(group[0].output_names)):
                    raise PipelineError(f"stage {i}: its replicas differ in tensor names")
        self.wiring = wire(self.stages, outputs)
        if queue_size < 1:
            raise PipelineError(f"queue_size must be >= 1, not {queue_size}")
        if cores is not None and len(cores) != len(self.stages):
            raise PipelineError(f"{len(cores)} core(s) given for {len(self.stages)} stages")
        self._cores: list[list[int | None]] = []
        for i, group in enumerate(self.replicas):
            c = None if cores is None else cores[i]
            per: list[int | None] = list(c) if isinstance(c, list | tuple) else \
                [cast(int | None, c)] * len(group)
            if len(per) != len(group):
                raise PipelineError(f"stage {i}: {len(per)} core(s) given for {len(group)} "
                                    "replicas")
            self._cores.append(per)
        n = len(self.stages)
        self._queues: list[queue.Queue[Any]] = [queue.Queue(queue_size) for _ in range(n + 1)]
        self.replica_stats = [[StageStats() for _ in group] for group in self.replicas]
        self._groups = [_Group(threading.Condition(), len(g) * (queue_size + 1), len(g))
                        for g in self.replicas]
        self._closed = threading.Event()
        self._ended = False
        self._lock = threading.Lock()
        self._failure: StageError | None = None
        self._delivered_error = False
        self._finished = False
        self._pushed = 0
        self._popped = 0
        self._pusher: int | None = None  # thread that pushes (pop may run in another one)
        self._creator = threading.get_ident()
        self.replica_pinned = [[False] * len(g) for g in self.replicas]
        #: Replicas moved at run time, in order (empty without ``rebalance``), and the moves
        #: whose segment did not load (that device then serves neither stage), one line each.
        self.moves: list[Move] = []
        self.move_failures: list[str] = []
        self._rebalance = rebalance
        self._active = [len(g) for g in self.replicas]  # workers serving each stage now
        self._move: tuple[int, int, float, float] | None = None  # requested, not yet taken
        if rebalance is not None:
            devs = [list(d) for d in rebalance.devices]
            if [len(d) for d in devs] != [len(g) for g in self.replicas]:
                raise PipelineError("rebalance.devices: one device per replica of each stage")
            self._devices = devs
        self._workers = [threading.Thread(target=self._work, args=(i, j), daemon=True,
                                          name=f"tpusplit-stage-{i}"
                                          + (f"-replica-{j}" if len(g) > 1 else ""))
                         for i, g in enumerate(self.replicas) for j in range(len(g))]
        if rebalance is not None:
            self._workers.append(threading.Thread(target=self._watch, daemon=True,
                                                  name="tpusplit-rebalance"))
        self.started = time.perf_counter()
        for w in self._workers:
            w.start()

    # -- public API -------------------------------------------------------------------------

    def push(self, feeds: Mapping[str, np.ndarray] | None) -> None:
        """Queue one input (every name of :attr:`input_names`); ``None`` ends the input.

        Blocks while the first queue is full. Raises :class:`StageError` once a stage has
        failed, :class:`PipelineError` after ``close()``, after the end of input, or when an
        input tensor is missing (the pipeline stays usable then).
        """
        if self._failure is not None:
            raise self._failure
        if self._closed.is_set():
            raise PipelineError("push on a closed pipeline")
        if self._ended:
            raise PipelineError("push after the end of input (push(None))")
        self._pusher = threading.get_ident()
        if feeds is None:
            self._ended = True
            self._put(self._queues[0], _END)
            return
        item = _Item(self._pushed, pick_inputs(self.wiring, feeds))
        self._pushed += 1
        if not self._put(self._queues[0], item):
            raise self._failure or PipelineError("push on a closed pipeline")

    def pop(self, timeout: float | None = None) -> dict[str, np.ndarray] | None:
        """The next result in input order; ``None`` after the last one (input ended).

        Blocks until a result is ready (pushes may come from another thread, as with Coral's
        runner). Raises :class:`StageError` when the next result is the one a stage failed on
        (all earlier results have been returned), :class:`PipelineError` when the pipeline is
        closed or ``timeout`` seconds pass, or when the thread that pushes (before any push:
        the thread that made the pipeline) pops with nothing pending and the input not ended
        (it would wait forever). A consumer thread of its own may pop first and wait.
        """
        if self._delivered_error and self._failure is not None:
            raise self._failure
        if self._finished:
            return None
        me = threading.get_ident()
        if not self._ended and self.pending == 0 and (
                self._pusher == me or (self._pusher is None and me == self._creator)):
            raise PipelineError("pop with nothing pending: push an input or push(None) first")
        deadline = None if timeout is None else time.perf_counter() + timeout
        out = self._queues[-1]
        while True:
            if self._closed.is_set():
                raise PipelineError("pop on a closed pipeline")
            try:
                got = out.get(timeout=POLL_S)
                break
            except queue.Empty:
                if deadline is not None and time.perf_counter() >= deadline:
                    raise PipelineError(f"no result within {timeout} s") from None
        if isinstance(got, _Item):
            if got.seq != self._popped:
                raise PipelineError(f"internal: result {got.seq} arrived as {self._popped}")
            self._popped += 1
            return {n: got.env[n] for n in self.wiring.outputs}
        if isinstance(got, _Failure):
            self._failure = got.error  # the earliest failing input (a later stage may fail
            self._delivered_error = True  # on an earlier input than the first failure seen)
            raise got.error
        self._finished = True
        return None

    def run(self, inputs: Iterable[Mapping[str, np.ndarray]]) -> Iterator[dict[str, np.ndarray]]:
        """Push every input (ending the input) and yield every result in order.

        Yields each result as soon as it is ready; keeps at most about
        ``queue_size * (stages + 1)`` inputs in flight; on a stage failure,
        yields every result before the failing input, then raises its :class:`StageError`.
        """
        limit = max(2, self._queues[0].maxsize * (len(self.stages) + 1)
                    + sum(len(g) - 1 for g in self.replicas))
        out = self._queues[-1]
        for feeds in inputs:
            while self.pending >= limit or (self.pending and not out.empty()):
                result = self.pop()  # blocks only when too many are in flight
                assert result is not None
                yield result
            try:
                self.push(feeds)
            except StageError:
                break
        if self._failure is None:
            self.push(None)
        yield from self._remaining()

    def close(self, timeout: float | None = None) -> None:
        """Stop every worker and drop pending work; idempotent.

        Returns when each worker has left (after the ``run`` it is in, if any).
        """
        self._closed.set()
        for w in self._workers:
            if w is not threading.current_thread():
                w.join(timeout)

    @property
    def stats(self) -> list[StageStats]:
        """Per-stage counters: for a replicated stage the sums over its replicas
        (:attr:`replica_stats` has each replica's; after a move, ``replicas`` counts the
        workers serving the stage now)."""
        out = [StageStats.total(parts) for parts in self.replica_stats]
        for s, active in zip(out, self._active, strict=True):
            s.replicas = active
        return out

    @property
    def pinned(self) -> list[bool]:
        """Whether every worker of each stage was pinned to its core."""
        return [all(p) for p in self.replica_pinned]

    def reset_stats(self) -> None:
        """Count from now on (statistics of warm-up runs are dropped)."""
        for parts in self.replica_stats:
            for s in parts:
                s.items, s.busy_s, s.wait_s, s.blocked_s = 0, 0.0, 0.0, 0.0

    @property
    def alive(self) -> int:
        """Number of worker threads still running."""
        return sum(w.is_alive() for w in self._workers)

    # -- workers ----------------------------------------------------------------------------

    def _put(self, q: queue.Queue[Any], item: object) -> bool:
        """Put, waiting while the queue is full; False if the pipeline was closed meanwhile."""
        while not self._closed.is_set():
            try:
                q.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue[Any]) -> object:
        while not self._closed.is_set():
            try:
                return q.get(timeout=POLL_S)
            except queue.Empty:
                continue
        return _END

    def _pin(self, i: int, j: int) -> None:
        core = self._cores[i][j]
        if core is None or not hasattr(os, "sched_setaffinity"):
            return
        try:
            os.sched_setaffinity(0, {core})  # Linux: the calling thread only
            self.replica_pinned[i][j] = True
        except OSError:
            pass

    def _work(self, i: int, j: int) -> None:
        """Worker ``j`` of stage ``i``: take inputs from the stage's queue, run them, hand the
        results to the stage's reorder buffer; leave on the end of input, an earlier stage's
        failure or ``close()``."""
        self._pin(i, j)
        stage = self.replicas[i][j]
        replicas = len(self.replicas[i])
        reads = self.wiring.reads[i]
        carry = self.wiring.carry[i]
        q_in = self._queues[i]
        group = self._groups[i]
        stats = self.replica_stats[i][j]
        clock = time.perf_counter
        while True:
            if self._move is not None and self._move[0] == i and self._take_move(i, j):
                return
            t0 = clock()
            got = self._get(q_in)
            t1 = clock()
            stats.wait_s += t1 - t0
            if got is _END or isinstance(got, _Failure):
                with group.cond:
                    group.ended = True  # no replica joins this stage any more
                if isinstance(got, _Failure):  # in order after every earlier input
                    self._settle(i, got.error.item, got)
                self._leave(i, got)
                return
            assert isinstance(got, _Item)
            failure = self._failure
            if failure is not None and failure.stage > i:
                continue  # this input can never get through the failed stage: drop it
            if not self._admit(group, got.seq):
                continue
            t1 = clock()
            try:
                produced = checked(stage, stage.run({n: got.env[n] for n in reads}))
            except BaseException as exc:  # any stage error reaches the caller, even SystemExit
                error = StageError(i, got.seq, exc, j, replicas)
                with self._lock:
                    if self._failure is None:
                        self._failure = error
                stats.busy_s += clock() - t1
                self._settle(i, got.seq, _Failure(error))
                continue  # drop what comes after it until the end of input
            t2 = clock()
            stats.busy_s += t2 - t1
            stats.items += 1
            got.env = keep(got.env, produced, carry)
            self._settle(i, got.seq, got)
            stats.blocked_s += clock() - t2

    def _take_move(self, i: int, j: int) -> bool:
        """Worker ``j`` of stage ``i`` takes the requested move if it still stands: leaves
        stage ``i``, loads the target stage's segment on its device, joins that stage and
        works there (True: the worker's part in stage ``i`` is over)."""
        assert self._rebalance is not None
        group = self._groups[i]
        with self._lock:
            move = self._move
            if move is None or move[0] != i:
                return False
            with group.cond:
                if group.ended or self._active[i] < 2:
                    self._move = None  # too late: the stage is ending
                    return False
                group.left -= 1
                self._active[i] -= 1
            self._move = None
        source, target, before, after = move
        device = self._devices[i][j]
        try:
            stage = self._rebalance.load(target, device)
        except Exception as exc:  # the device is lost to both stages; the pipeline goes on
            self.move_failures.append(f"could not load stage {target} on device {device} "
                                      f"(the replica left stage {source}): "
                                      f"{type(exc).__name__}: {first_line(exc, default='')}")
            return True
        tgroup = self._groups[target]
        with tgroup.cond:
            if tgroup.ended or self._closed.is_set():
                return True
            k = len(self.replicas[target])
            self.replicas[target].append(stage)
            self.replica_stats[target].append(StageStats())
            self.replica_pinned[target].append(False)
            self._cores[target].append(None)
            self._devices[target].append(device)
            tgroup.left += 1
            self._active[target] += 1
        self.moves.append(Move(source, target, device, self._popped, before, after))
        self._work(target, k)
        return True

    def _watch(self) -> None:
        """The rebalancing watcher (see :class:`~tpusplit.pipeline.rebalance.Rebalance`)."""
        assert self._rebalance is not None
        rb = self._rebalance
        last = [(s.items, s.busy_s) for s in self.stats]
        while not self._closed.wait(rb.interval_s):
            if (self._finished or self._failure is not None or self._ended
                    or len(self.moves) + len(self.move_failures) >= rb.max_moves):
                return
            if self._move is not None:
                continue  # the last request is not taken yet
            now = [(s.items, s.busy_s) for s in self.stats]
            items = [a[0] - b[0] for a, b in zip(now, last, strict=True)]
            if min(items) < rb.min_items:
                continue
            times = [1e3 * (a[1] - b[1]) / n for a, b, n in zip(now, last, items, strict=True)]
            found = plan_move(times, list(self._active), rb.gain)
            if found is not None:
                with self._lock:
                    self._move = found
            last = now

    def _admit(self, group: _Group, seq: int) -> bool:
        """Wait until input ``seq`` is within the stage's window (a slow replica does not let
        the others run unboundedly ahead); False if it is to be dropped (a failure before it
        in this stage) or the pipeline closed."""
        with group.cond:
            while seq >= group.next_out + group.window and not group.dropped(seq):
                if self._closed.is_set():
                    return False
                group.cond.wait(POLL_S)
            return not group.dropped(seq)

    def _settle(self, i: int, seq: int, done: _Item | _Failure) -> None:
        """Input ``seq`` is through stage ``i`` (or failed there, or an earlier stage's
        failure reached it): buffer it and hand on, in input order, everything now ready."""
        group = self._groups[i]
        q_out = self._queues[i + 1]
        with group.cond:
            if group.finished:
                return
            if isinstance(done, _Failure):
                if group.failed_at is not None and group.failed_at <= seq:
                    return  # an earlier (or the same) failure is already on its way
                group.failed_at = seq
                for later in [s for s in group.buffer if s > seq]:
                    del group.buffer[later]
            elif group.dropped(seq):
                return
            group.buffer[seq] = done
            while group.next_out in group.buffer:
                ready = group.buffer[group.next_out]
                if not self._put(q_out, ready):
                    break  # closed
                del group.buffer[group.next_out]
                group.next_out += 1
                if isinstance(ready, _Failure):
                    group.finished = True
                    break
            group.cond.notify_all()

    def _leave(self, i: int, marker: object) -> None:
        """A worker of stage ``i`` met the end of input (or an earlier stage's failure): its
        siblings must see it too; the last one to leave hands the end of input on."""
        group = self._groups[i]
        if len(self.replicas[i]) > 1:
            self._put(self._queues[i], marker)
        with group.cond:
            group.left -= 1
            last = group.left == 0
            failed = group.failed_at is not None
        if last and marker is _END and not failed:
            self._put(self._queues[i + 1], _END)
