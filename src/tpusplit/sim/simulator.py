"""Discrete-event simulation of a segmented model on N devices, PipelinedModelRunner semantics.

Semantics (libcoral's ``PipelinedModelRunner``, notes §2): one worker per segment; a queue
between consecutive segments; every segment processes inputs in input order, so results
leave in input order; each boundary tensor is copied device -> host -> device. A batch of B
inputs is pushed at time 0 (the published evaluation times a batch: wall time / B).

Every (segment, input) job runs four phases back to back on its device:

``host`` (``host_ms``: queue/thread work on the host CPU; with ``host_workers=1`` these phases
serialise, like a Python thread-and-queue pipeline under the GIL) -> ``in`` (host -> device
copy of the segment's inputs) -> ``compute`` (fixed invoke cost, compute, parameter
streaming) -> ``out`` (device -> host copy).

The phase lengths come from the cost source: an :class:`~tpusplit.costs.edgetpu.
EdgeTPUSegmentCost` carries ``in_ms``/``out_ms`` (and ``stream_ms``); any other
:class:`~tpusplit.costs.base.SegmentCost` is treated as pure compute. Devices that share a
link (``buses``: one USB bus or host controller for several TPUs; ``shared_bus=True`` for all
of them) take turns: ``in``, ``out`` and the streaming part of ``compute`` hold their link
exclusively (one transfer at a time); by default each device has its own link. A job may
start once its input is in host memory (the previous segment's ``out`` ended), its device
finished the previous input, and, with bounded queues of ``queue_size``,
there is room downstream.

Scheduling is greedy list scheduling in time order (non-preemptive): repeatedly start the
phase that can start earliest (ties: the job that has waited longest for the shared host or
bus, then the lower segment index). O(B * N^2 * 4) time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import bounds

PHASES: tuple[str, ...] = ("host", "in", "compute", "out")
#: The largest batch simulated: every job's phases are kept for the Gantt chart (a batch of
#: a billion would need terabytes); the time per inference has converged long before.
MAX_BATCH = 100_000


@dataclass(frozen=True, slots=True)
class Event:
    """One phase of one job on the Gantt chart (times in ms from the batch start)."""

    stage: int
    item: int
    phase: str
    start: float
    end: float


@dataclass
class SimResult:
    """What a simulated batch did."""

    cuts: list[int]
    batch: int
    segments: list[SegmentCost]
    wall_ms: float
    time_per_inference_ms: float
    throughput_ips: float
    first_result_ms: float
    stage_busy_ms: list[float]
    completion_ms: list[float]
    events: list[Event] = field(default_factory=list)
    transfer_ms: list[float] = field(default_factory=list)
    buses: list[int] = field(default_factory=list)

    @property
    def bottleneck_ms(self) -> float:
        """The slowest stage's time per input (busy time / batch)."""
        return max(self.stage_busy_ms) / self.batch

    def to_json(self) -> dict[str, object]:
        """The result as plain JSON types (events omitted)."""
        return {
            "cuts": self.cuts, "batch": self.batch, "wall_ms": self.wall_ms,
            "time_per_inference_ms": self.time_per_inference_ms,
            "throughput_ips": self.throughput_ips, "first_result_ms": self.first_result_ms,
            "stage_busy_ms": self.stage_busy_ms, "transfer_ms": self.transfer_ms,
        }


def check_batch(batch: int, what: str = "batch") -> None:
    """A one-line error unless ``1 <= batch <= MAX_BATCH`` (``what`` names the option)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise TpusplitError(f"{what} must be a whole number from 1 to {MAX_BATCH:,}, got "
                            f"{batch!r}")


def phase_times(cost: SegmentCost, host_ms: float) -> tuple[float, float, float, float, float]:
    """``(host, in, compute, out, stream)`` ms of one job; ``stream`` is part of ``compute``."""
    in_ms, out_ms, stream = cost.in_ms, cost.out_ms, cost.stream_ms
    compute = max(0.0, cost.latency_ms - in_ms - out_ms)
    return host_ms, in_ms, compute, out_ms, min(stream, compute)


def simulate(cost: CostSource | Sequence[CostSource], cuts: Sequence[int], batch: int = 15, *,
             queue_size: int | None = None, shared_bus: bool = False,
             host_ms: float | None = None, host_workers: int | None = None,
             buses: Sequence[int] | None = None) -> SimResult:
    """Simulate ``batch`` inputs through the segments of ``cost.graph`` cut at ``cuts``.

    Args:
        cost: any cost source (one device type for every segment), or one per stage (a mix
            of devices: each stage's latency and breakdown from its own device).
        cuts: op indices where segments 2..N begin; empty for one device.
        batch: inputs pushed at time 0 (B >= 1).
        queue_size: capacity of each inter-segment queue; None = unbounded (Coral's default).
        shared_bus: the devices share one host link (transfers serialise); shorthand for
            ``buses=[0] * N``.
        host_ms: host-side work per job (queue handling, Python threads); None: the cost
            source's pipeline runner (``cost.runner``, :mod:`tpusplit.costs.runner`), which
            also sets ``host_workers`` (1 for a runner that serialises).
        host_workers: host threads that can do that work at once; None = unlimited.
        buses: the link (bus, host controller) of each stage's device: stages with the same
            number take turns for their transfers; default one link per device.

    Returns:
        A :class:`SimResult`; ``time_per_inference_ms`` = wall time / B.
    """
    check_batch(batch)
    if queue_size is not None and queue_size < 1:
        raise ValueError("queue_size must be >= 1")
    per_stage = list(cost) if isinstance(cost, Sequence) else None
    graph = per_stage[0].graph if per_stage else cost.graph  # type: ignore[union-attr]
    spans_ = bounds(graph, cuts)
    if per_stage is not None and len(per_stage) != len(spans_):
        raise ValueError(f"{len(per_stage)} cost sources for {len(spans_)} stages")
    sources = per_stage or [cost] * len(spans_)  # type: ignore[list-item]
    segs = [src.segment(a, b) for src, (a, b) in zip(sources, spans_, strict=True)]
    n = len(segs)
    if host_ms is None:
        host_ms, workers = sources[0].runner.sim_options(n)
        host_workers = workers if host_workers is None else host_workers
    if buses is None:
        buses = [0] * n if shared_bus else list(range(n))
    bus_of = [int(buses[i]) if i < len(buses) else 1000 + i for i in range(n)]
    sharing = {b for b in bus_of if bus_of.count(b) > 1}
    times = [phase_times(s, host_ms) for s in segs]
    # per stage: next (item, phase) to run and when its predecessor phase ended
    item = [0] * n
    phase = [0] * n
    ready = [0.0] * n          # end of the stage's previous phase (device free)
    done_out = [[-1.0] * batch for _ in range(n)]   # end of 'out' per stage, item
    started = [[-1.0] * batch for _ in range(n)]    # start of 'host' per stage, item
    bus_free = {b: 0.0 for b in bus_of}
    host_free = [0.0] * (host_workers or 0)
    events: list[Event] = []
    busy = [0.0] * n
    remaining = n * batch * len(PHASES)

    def earliest(i: int) -> tuple[float, float] | None:
        """(start time, time the job was ready before waiting for a shared resource)."""
        j, p = item[i], phase[i]
        if j >= batch:
            return None
        t = ready[i]
        if p == 0:
            if i > 0:
                if done_out[i - 1][j] < 0:
                    return None
                t = max(t, done_out[i - 1][j])
            if queue_size is not None and i + 1 < n and j - queue_size - 1 >= 0:
                s = started[i + 1][j - queue_size - 1]
                if s < 0:
                    return None
                t = max(t, s)
            if host_workers and times[i][0] > 0:
                return max(t, min(host_free)), t
        elif bus_of[i] in sharing and (p in (1, 3) or (p == 2 and times[i][4] > 0)):
            return max(t, bus_free[bus_of[i]]), t
        return t, t

    while remaining:
        best, key = -1, (0.0, 0.0)
        for i in range(n):
            k = earliest(i)
            if k is None:
                continue
            # earliest start first; on a tie the job that has waited longest (FIFO, like
            # threads queueing for the GIL or the bus), then the lower segment
            if best < 0 or k[0] < key[0] - 1e-12 or (abs(k[0] - key[0]) <= 1e-12
                                                       and k[1] < key[1] - 1e-12):
                best, key = i, k
        if best < 0:  # pragma: no cover - dependencies always let some stage proceed
            raise RuntimeError("simulation deadlocked")
        best_t = key[0]
        i, j, p = best, item[best], phase[best]
        dur = times[i][p]
        end = best_t + dur
        if p == 0:
            started[i][j] = best_t
            if host_workers and dur > 0:
                w = host_free.index(min(host_free))
                host_free[w] = end
        elif bus_of[i] in sharing and p in (1, 3):
            bus_free[bus_of[i]] = end
        elif bus_of[i] in sharing and p == 2 and times[i][4] > 0:
            bus_free[bus_of[i]] = best_t + times[i][4]
        if dur > 0:
            events.append(Event(i, j, PHASES[p], best_t, end))
        busy[i] += dur
        ready[i] = end
        remaining -= 1
        if p == len(PHASES) - 1:
            done_out[i][j] = end
            item[i] += 1
            phase[i] = 0
        else:
            phase[i] = p + 1
    completion = list(done_out[-1])
    wall = completion[-1]
    return SimResult(
        cuts=list(cuts), batch=batch, segments=segs, wall_ms=wall,
        time_per_inference_ms=wall / batch,
        throughput_ips=1000.0 * batch / wall if wall > 0 else float("inf"),
        first_result_ms=completion[0], stage_busy_ms=busy, completion_ms=completion,
        events=events, transfer_ms=[src.transfer_ms(c) for src, c in zip(sources, cuts,
                                                                         strict=False)],
        buses=bus_of,
    )
