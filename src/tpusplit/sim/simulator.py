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

**Replicas** (``replicas``: ``r_i`` devices for segment ``i``, the same segment loaded on each):
a free replica takes the segment's next input (first come, in input order, as the threaded
runner deals them); results are handed on in input order (a reorder buffer), so an input
waits for every earlier one to leave the segment. Replicas share the host (the runner's host
work per job, serialised with ``host_workers=1``) and, when their devices share a link
(``buses`` per device; by default the replicas of a stage on USB devices, whose cost source has
a ``shared_link``), that link: so adding replicas stops paying where the host or the link
saturates.

Scheduling is greedy list scheduling in time order (non-preemptive): repeatedly start the
phase that can start earliest (ties: the job that has waited longest for the shared host or
bus, then the lower device index). O(B * D^2 * 4) time for D devices.
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
    replica: int = 0


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
    #: The link of every device, stage by stage (replicas of a stage in order).
    buses: list[int] = field(default_factory=list)
    #: Devices (replicas) of each stage.
    replicas: list[int] = field(default_factory=list)

    @property
    def bottleneck_ms(self) -> float:
        """The slowest stage's time per input (busy time / batch / its replicas)."""
        reps = self.replicas or [1] * len(self.stage_busy_ms)
        return max(b / r for b, r in zip(self.stage_busy_ms, reps, strict=True)) / self.batch

    def to_json(self) -> dict[str, object]:
        """The result as plain JSON types (events omitted)."""
        return {
            "cuts": self.cuts, "batch": self.batch, "wall_ms": self.wall_ms,
            "time_per_inference_ms": self.time_per_inference_ms,
            "throughput_ips": self.throughput_ips, "first_result_ms": self.first_result_ms,
            "stage_busy_ms": self.stage_busy_ms, "transfer_ms": self.transfer_ms,
            "replicas": self.replicas or [1] * len(self.stage_busy_ms),
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
             buses: Sequence[int] | None = None, replicas: Sequence[int] | None = None
             ) -> SimResult:
    """Simulate ``batch`` inputs through the segments of ``cost.graph`` cut at ``cuts``.

    Args:
        cost: any cost source (one device type for every segment), or one per stage (a mix
            of devices: each stage's latency and breakdown from its own device).
        cuts: op indices where segments 2..N begin; empty for one device.
        batch: inputs pushed at time 0 (1 <= B <= :data:`MAX_BATCH`).
        queue_size: capacity of each inter-segment queue; None = unbounded (Coral's default).
        shared_bus: the devices share one host link (transfers serialise); shorthand for
            ``buses=[0] * devices``.
        host_ms: host-side work per job (queue handling, Python threads); None: the cost
            source's pipeline runner (``cost.runner``, :mod:`tpusplit.costs.runner`), which
            also sets ``host_workers`` (1 for a runner that serialises).
        host_workers: host threads that can do that work at once; None = unlimited.
        buses: the link (bus, host controller) of each device, stage by stage (a stage's
            replicas in order): devices with the same number take turns for their
            transfers; default one link per device, except that the replicas of a stage
            whose cost source has a :attr:`~tpusplit.costs.base.CostSource.shared_link`
            (USB) share one.
        replicas: devices per stage (default 1 each; module docstring).

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
    reps = [1] * n if replicas is None else [int(r) for r in replicas]
    if len(reps) != n or min(reps) < 1:
        raise ValueError(f"replicas: one count >= 1 per stage ({n}), got {list(reps)}")
    stage_of = [i for i in range(n) for _ in range(reps[i])]
    replica_of = [r for i in range(n) for r in range(reps[i])]
    d_count = len(stage_of)
    if host_ms is None:
        host_ms, workers = sources[0].runner.sim_options(d_count)
        host_workers = workers if host_workers is None else host_workers
    if buses is None:
        buses = ([0] * d_count if shared_bus else
                 [stage_of[d] if sources[stage_of[d]].shared_link else n + d
                  for d in range(d_count)])
    bus_of = [int(buses[d]) if d < len(buses) else 1000 + d for d in range(d_count)]
    sharing = {b for b in bus_of if bus_of.count(b) > 1}
    times = [phase_times(s, host_ms) for s in segs]
    # per device: the job it holds (-1: none), its phase, when its previous phase ended
    job = [-1] * d_count
    phase = [0] * d_count
    ready = [0.0] * d_count
    next_job = [0] * n                                # next input each stage takes
    done_out = [[-1.0] * batch for _ in range(n)]   # end of 'out' per stage, item
    handed = [[-1.0] * batch for _ in range(n)]     # handed on in input order (reorder)
    handed_upto = [0] * n
    started = [[-1.0] * batch for _ in range(n)]    # start of 'host' per stage, item
    bus_free = {b: 0.0 for b in bus_of}
    host_free = [0.0] * (host_workers or 0)
    events: list[Event] = []
    busy = [0.0] * n
    remaining = n * batch * len(PHASES)

    def earliest(d: int) -> tuple[float, float] | None:
        """(start time, time the job was ready before waiting for a shared resource)."""
        i = stage_of[d]
        j, p = (job[d], phase[d]) if job[d] >= 0 else (next_job[i], 0)
        if j >= batch:
            return None
        t = ready[d]
        if p == 0:
            if i > 0:
                if handed[i - 1][j] < 0:
                    return None
                t = max(t, handed[i - 1][j])
            if queue_size is not None and i + 1 < n and j - queue_size - 1 >= 0:
                q = started[i + 1][j - queue_size - 1]
                if q < 0:
                    return None
                t = max(t, q)
            if host_workers and times[i][0] > 0:
                return max(t, min(host_free)), t
        elif bus_of[d] in sharing and (p in (1, 3) or (p == 2 and times[i][4] > 0)):
            return max(t, bus_free[bus_of[d]]), t
        return t, t

    while remaining:
        best, key = -1, (0.0, 0.0)
        for d in range(d_count):
            k = earliest(d)
            if k is None:
                continue
            # earliest start first; on a tie the job that has waited longest (FIFO, like
            # threads queueing for the GIL or the bus), then the lower device
            if best < 0 or k[0] < key[0] - 1e-12 or (abs(k[0] - key[0]) <= 1e-12
                                                       and k[1] < key[1] - 1e-12):
                best, key = d, k
        if best < 0:  # pragma: no cover - dependencies always let some stage proceed
            raise RuntimeError("simulation deadlocked")
        best_t = key[0]
        d = best
        i = stage_of[d]
        if job[d] < 0:
            job[d], phase[d] = next_job[i], 0
            next_job[i] += 1
        j, p = job[d], phase[d]
        dur = times[i][p]
        end = best_t + dur
        if p == 0:
            started[i][j] = best_t
            if host_workers and dur > 0:
                w = host_free.index(min(host_free))
                host_free[w] = end
        elif bus_of[d] in sharing and p in (1, 3):
            bus_free[bus_of[d]] = end
        elif bus_of[d] in sharing and p == 2 and times[i][4] > 0:
            bus_free[bus_of[d]] = best_t + times[i][4]
        if dur > 0:
            events.append(Event(i, j, PHASES[p], best_t, end, replica_of[d]))
        busy[i] += dur
        ready[d] = end
        remaining -= 1
        if p == len(PHASES) - 1:
            done_out[i][j] = end
            job[d] = -1
            while handed_upto[i] < batch and done_out[i][handed_upto[i]] >= 0:
                m = handed_upto[i]
                handed[i][m] = max(done_out[i][m], handed[i][m - 1] if m else 0.0)
                handed_upto[i] += 1
        else:
            phase[d] = p + 1
    completion = list(handed[-1])
    wall = completion[-1]
    return SimResult(
        cuts=list(cuts), batch=batch, segments=segs, wall_ms=wall,
        time_per_inference_ms=wall / batch,
        throughput_ips=1000.0 * batch / wall if wall > 0 else float("inf"),
        first_result_ms=completion[0], stage_busy_ms=busy, completion_ms=completion,
        events=events, transfer_ms=[src.transfer_ms(c) for src, c in zip(sources, cuts,
                                                                         strict=False)],
        buses=bus_of, replicas=reps,
    )
