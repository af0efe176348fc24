"""The Plan type: a strategy's cuts with per-segment figures, and its JSON (de)serialisation."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.costs.runner import RunnerModel
from tpusplit.devices.energy import PowerModel, replicated_energy
from tpusplit.devices.target import Target
from tpusplit.errors import TpusplitError, read_json
from tpusplit.files import write_file
from tpusplit.graph import Graph, bounds
from tpusplit.graph.layer_split import LayerSplit, split_graph
from tpusplit.partition import spans
from tpusplit.sim import check_batch, simulate

#: Inputs in flight when a plan's time per inference is reported (the published batch).
DEFAULT_BATCH = 15


@dataclass(frozen=True)
class SegmentFigures:
    """One segment of a plan: ops ``[start, end)`` and what the cost source says about it."""

    start: int
    end: int
    latency_ms: float
    on_chip_bytes: int = 0
    off_chip_bytes: int = 0
    #: The device kind it runs on, in a plan for a mix of devices (``--devices``); else "".
    device: str = ""
    #: The host it runs on, in a plan for a cluster (``plan --cluster``); else "".
    host: str = ""
    #: What the segment holds a host link its replicas share per input
    #: (:meth:`CostSource.link_ms`; 0: a link per device).
    link_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {"ops": [self.start, self.end],
                               "on_chip_bytes": self.on_chip_bytes,
                               "off_chip_bytes": self.off_chip_bytes,
                               "latency_ms": self.latency_ms}
        if self.device:
            out["device"] = self.device
        if self.host:
            out["host"] = self.host
        if self.link_ms:
            out["link_ms"] = self.link_ms
        return out


@dataclass(frozen=True)
class Plan:
    """Where to cut a model into ``num_segments`` pipeline stages, and what it costs.

    ``cuts`` are the op indices where segments 2..N begin. ``bottleneck_ms`` is the slowest
    stage; ``time_per_inference_ms`` is the pipeline's time per inference over ``batch`` inputs
    in flight (:func:`tpusplit.sim.simulate`: PipelinedModelRunner semantics, unbounded
    queues); ``throughput_ips`` = 1000 / time per inference.
    ``cost_evaluations`` counts the distinct segments the strategy needed (profiling runs
    for a measuring cost source when it runs alone; segments another strategy already
    measured count too), the final plan's included. ``lower_bound_ms`` is a lower
    bound on the best bottleneck that the strategy proved (``optimal`` proves its own value);
    ``None`` when it proved none.
    """

    strategy: str
    device: str
    model: str
    num_ops: int
    cuts: tuple[int, ...]
    segments: tuple[SegmentFigures, ...]
    batch: int
    time_per_inference_ms: float
    cost_evaluations: int
    solve_seconds: float
    lower_bound_ms: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    model_fingerprint: str = ""
    #: Energy per inference (mJ, devices busy and idle; :mod:`tpusplit.devices.energy`), when
    #: the plan's devices have power models.
    energy_mj: float | None = None
    #: In a plan for a cluster: the network transfer (ms) at each cut, 0 where both sides
    #: are on one host; a transfer is a pipeline element of its own (see
    #: :mod:`tpusplit.partition.device_chain`). Empty otherwise.
    network_ms: tuple[float, ...] = ()
    #: The pipeline runner the figures assume and its host time per stage and input
    #: (:mod:`tpusplit.costs.runner`); part of the bottleneck and the time per inference.
    runner: RunnerModel = field(default_factory=lambda: RunnerModel("none"))
    #: How far off the figures are expected to be (the cost source's own words), or "".
    expected_error: str = ""
    #: What the plan is for (devices, counts, hosts, runner): set by :func:`tpusplit.plan`,
    #: so simulating, running or streaming the plan needs no device argument. None in plans
    #: made by a strategy alone and in plan files written before targets existed.
    target: Target | None = None
    #: Copies of each segment that run side by side (issue "replicas"): segment ``i`` runs on
    #: ``replicas[i]`` devices, inputs dealt to whichever is free. Empty: one copy each.
    replicas: tuple[int, ...] = ()
    #: Layers cut inside (issue "cut inside a layer"): the plan is for the model rewritten
    #: with these splits (:func:`tpusplit.graph.layer_split.split_layers`) from a model of
    #: ``source_ops`` ops and fingerprint ``source_fingerprint``; its cuts, segments,
    #: ``num_ops`` and ``model_fingerprint`` are the rewritten model's. Empty: no rewrite.
    layer_splits: tuple[LayerSplit, ...] = ()
    source_ops: int = 0
    source_fingerprint: str = ""
    #: The last segment is a stage of its own on the host CPU (an SSD's post-processing, the
    #: ops the device leaves to the host), beside the plan's devices, not on one of them.
    host_stage: bool = False

    @property
    def replica_counts(self) -> tuple[int, ...]:
        """Copies of each segment (1 each in a plan without replicas)."""
        return self.replicas or (1,) * len(self.segments)

    @property
    def devices_used(self) -> int:
        """Devices the plan occupies: the sum of the replica counts (a host stage's copies run
        on the host CPU's cores, not on the devices)."""
        counts = self.replica_counts
        return sum(counts[:-1] if self.host_stage else counts)

    @property
    def num_segments(self) -> int:
        """Number of pipeline stages."""
        return len(self.segments)

    @property
    def bottleneck_ms(self) -> float:
        """Steady-state time per input: the slowest segment (or network transfer, in a plan for
        a cluster) with the runner's host time per stage; for a runner whose host work
        serialises, at least that host time times the number of stages."""
        period = self.runner.period_ms([s.latency_ms for s in self.segments],
                                       self.replica_counts, [s.link_ms for s in self.segments])
        return max([period, *self.network_ms])

    @property
    def host_ms(self) -> float:
        """The runner's host time per stage and input in this plan (0 on one device; copies
        of a one-stage plan are handed inputs by the runner too, as in :attr:`bottleneck_ms`)."""
        return self.runner.host_ms(sum(self.replica_counts))

    @property
    def throughput_ips(self) -> float:
        """Inferences per second at ``batch`` inputs in flight."""
        t = self.time_per_inference_ms
        return 1000.0 / t if t > 0 else math.inf

    @property
    def streamed_bytes(self) -> int:
        """Parameter bytes streamed from the host at every inference, all segments."""
        return sum(s.off_chip_bytes for s in self.segments)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``tpusplit plan --json`` object)."""
        segments = [{**s.as_dict(), "replicas": r}
                    for s, r in zip(self.segments, self.replica_counts, strict=True)]
        return {
            "strategy": self.strategy,
            "device": self.device,
            "model": self.model,
            "num_ops": self.num_ops,
            "num_segments": self.num_segments,
            "cuts": list(self.cuts),
            "segments": segments,
            "bottleneck_ms": self.bottleneck_ms,
            "batch": self.batch,
            "time_per_inference_ms": self.time_per_inference_ms,
            "throughput_ips": self.throughput_ips,
            "streamed_bytes": self.streamed_bytes,
            "cost_evaluations": self.cost_evaluations,
            "solve_seconds": self.solve_seconds,
            "lower_bound_ms": self.lower_bound_ms,
            "notes": list(self.notes),
            "model_fingerprint": self.model_fingerprint,
            "energy_mj": self.energy_mj,
            "runner": {"name": self.runner.name, "stage_ms": self.runner.stage_ms,
                       "serial": self.runner.serial},
            "expected_error": self.expected_error,
            **({"network_ms": list(self.network_ms)} if self.network_ms else {}),
            **({"target": self.target.as_dict()} if self.target is not None else {}),
            **({"host_stage": True} if self.host_stage else {}),
            **({"layer_splits": [s.to_json() for s in self.layer_splits],
                "source_ops": self.source_ops, "source_fingerprint": self.source_fingerprint}
               if self.layer_splits else {}),
        }

    def to_json(self) -> str:
        """The plan as a JSON document."""
        return json.dumps(self.as_dict(), indent=1)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<plan>") -> Plan:
        """Rebuild a plan from :meth:`as_dict` output; a one-line TpusplitError if malformed."""
        if not isinstance(data, dict):
            raise TpusplitError(f"{source}: a plan must be a JSON object")
        try:
            cuts = tuple(_int(c) for c in data["cuts"])
            segs = tuple(
                SegmentFigures(_int(s["ops"][0]), _int(s["ops"][1]), float(s["latency_ms"]),
                               _int(s.get("on_chip_bytes", 0)),
                               _int(s.get("off_chip_bytes", 0)), str(s.get("device", "")),
                               str(s.get("host", "")), float(s.get("link_ms", 0.0)))
                for s in data["segments"])
            replicas = tuple(_int(s.get("replicas", 1)) for s in data["segments"])
            if any(r < 1 for r in replicas):
                raise ValueError("replicas must be >= 1")
            if not all(0 <= s.link_ms < math.inf for s in segs):
                raise ValueError("link_ms must be a finite number >= 0")
            energy = data.get("energy_mj")
            lb = data.get("lower_bound_ms")
            plan = cls(
                strategy=str(data["strategy"]), device=str(data.get("device", "unknown")),
                model=str(data.get("model", "")),
                num_ops=_int(data.get("num_ops", segs[-1].end if segs else 0)),
                cuts=cuts, segments=segs, batch=_int(data.get("batch", DEFAULT_BATCH)),
                time_per_inference_ms=float(data["time_per_inference_ms"]),
                cost_evaluations=_int(data.get("cost_evaluations", 0)),
                solve_seconds=float(data.get("solve_seconds", 0.0)),
                lower_bound_ms=None if lb is None else float(lb),
                notes=tuple(str(x) for x in data.get("notes", ())),
                model_fingerprint=str(data.get("model_fingerprint", "")),
                energy_mj=None if energy is None else float(energy),
                network_ms=tuple(float(x) for x in data.get("network_ms", ())),
                runner=_runner(data.get("runner")),
                expected_error=str(data.get("expected_error", "")),
                target=(Target.from_dict(data["target"], source) if data.get("target")
                        is not None else None),
                replicas=replicas if any(r > 1 for r in replicas) else (),
                layer_splits=tuple(LayerSplit.from_json(s, source)
                                   for s in data.get("layer_splits", ())),
                source_ops=_int(data.get("source_ops", 0)),
                source_fingerprint=str(data.get("source_fingerprint", "")),
                host_stage=bool(data.get("host_stage", False)),
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise TpusplitError(f"{source}: not a tpusplit plan ({what})") from None
        if not segs:
            raise TpusplitError(f"{source}: the plan has no segments")
        if plan.network_ms and len(plan.network_ms) != len(cuts):
            raise TpusplitError(f"{source}: network_ms has {len(plan.network_ms)} entries for "
                                f"{len(cuts)} cuts")
        if [(s.start, s.end) for s in segs] != spans(plan.num_ops, cuts):
            raise TpusplitError(f"{source}: the segments do not match the cuts {list(cuts)}")
        return plan

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        """Read a plan file written by ``tpusplit plan -o``."""
        return cls.from_dict(read_json(path, "plan (JSON)"), str(path))

    def for_model(self, graph: Graph, source: str) -> Graph:
        """The graph this plan's cuts index: ``graph`` itself, or for a plan that cuts inside
        layers, ``graph`` rewritten with its splits (after checking ``graph`` is the model it
        was made for). One-line TpusplitError if the plan is for another model."""
        if not self.layer_splits:
            self.check_graph(graph, source)
            return graph
        if self.source_ops != len(graph.ops) or (self.source_fingerprint and
                                                 self.source_fingerprint != graph.fingerprint):
            raise TpusplitError(f"{source}: the plan is for another model "
                                f"({self.model or 'unknown'}, {self.source_ops} ops, "
                                f"fingerprint {self.source_fingerprint}), not {graph.source} "
                                f"({len(graph.ops)} ops, fingerprint {graph.fingerprint})")
        rewritten = split_graph(graph, self.layer_splits)
        self.check_graph(rewritten, source)
        return rewritten

    def check_graph(self, graph: Graph, source: str) -> None:
        """Raise a one-line TpusplitError unless the plan was made for ``graph``: same op
        count and, when the plan records one, the same structure fingerprint."""
        if self.num_ops != len(graph.ops):
            raise TpusplitError(f"{source}: the plan is for a model with {self.num_ops} ops "
                                f"({self.model or 'unknown'}), this model has "
                                f"{len(graph.ops)}")
        if self.model_fingerprint and self.model_fingerprint != graph.fingerprint:
            raise TpusplitError(f"{source}: the plan is for another model "
                                f"({self.model or 'unknown'}, fingerprint "
                                f"{self.model_fingerprint}), not {graph.source} (fingerprint "
                                f"{graph.fingerprint})")

    def save(self, path: str | Path) -> None:
        """Write the plan as JSON (what :meth:`load` and ``tpusplit split --plan`` read)."""
        p = Path(path)
        if p.is_dir():
            raise TpusplitError(f"{p}: is a directory; give a file name like plan.json")
        write_file(p, self.to_json() + "\n", "plan")


def rebatch(plan: Plan, cost: CostSource, batch: int) -> Plan:
    """The same plan with its time per inference simulated for ``batch`` inputs in flight."""
    check_batch(batch)
    if batch == plan.batch:
        return plan
    tpi = simulate(cost, list(plan.cuts), batch=batch,
                   replicas=plan.replicas or None).time_per_inference_ms
    return replace(plan, batch=batch, time_per_inference_ms=tpi)


def _runner(data: Any) -> RunnerModel:
    """The runner of a plan's JSON; plans written before runners existed assume none."""
    if data is None:
        return RunnerModel("none")
    if not isinstance(data, dict):
        raise ValueError("runner must be an object")
    return RunnerModel(str(data["name"]), float(data["stage_ms"]), bool(data["serial"]))


def _int(x: Any) -> int:
    if isinstance(x, bool) or not isinstance(x, int | float) or int(x) != x:
        raise ValueError(f"{x!r} is not an integer")
    return int(x)


def pipeline_time_ms(latencies: Sequence[float], batch: int) -> float:
    """Time per inference of a linear pipeline with these stage times, ``batch`` inputs in flight.

    The exact makespan of ``batch`` identical jobs through a flow shop with unbounded queues is
    ``sum(latencies) + (batch - 1) * max(latencies)``; divided by ``batch``.
    """
    check_batch(batch)
    return (sum(latencies) + (batch - 1) * max(latencies)) / batch


def check_num_segments(graph: Graph, num_segments: int) -> None:
    """One-line TpusplitError unless ``1 <= num_segments <= number of ops``."""
    n = len(graph.ops)
    if isinstance(num_segments, bool) or not isinstance(num_segments, int) or num_segments < 1:
        raise TpusplitError(f"{graph.source}: the number of segments must be a positive "
                            f"integer, got {num_segments!r}")
    if num_segments > n:
        raise TpusplitError(f"{graph.source}: cannot cut {n} ops into {num_segments} "
                            "non-empty segments")


class Timer:
    """Counts the distinct segments a strategy needs and its wall time from its creation."""

    def __init__(self, cost: CostSource) -> None:
        self.cost = cost
        self.asked = cost.track()
        self.t0 = time.perf_counter()

    @property
    def evaluations(self) -> int:
        """Distinct segments asked for since the timer started (evaluated or cached)."""
        return len(self.asked)

    def stop(self) -> None:
        """Stop counting."""
        self.cost.untrack(self.asked)

    @property
    def seconds(self) -> float:
        """Wall seconds since the timer started."""
        return time.perf_counter() - self.t0


def make_plan(strategy: str, graph: Graph, cost: CostSource, cuts: Sequence[int],
              timer: Timer | None, *, batch: int = DEFAULT_BATCH,
              lower_bound_ms: float | None = None, notes: Sequence[str] = (),
              replicas: Sequence[int] = (), stages: Sequence[StageKind] | None = None,
              device: str | None = None, solve_seconds: float | None = None) -> Plan:
    """Evaluate the segments of ``cuts`` and package them as a :class:`Plan`: the one
    constructor of plans, with the simulator's time model and energy for every plan.

    ``cost`` costs every segment, unless ``stages`` gives each segment its own device kind
    (a mix of devices: its cost source, label and power). ``timer`` counts the evaluations
    and the solve time (None: every evaluation of the cost sources, and ``solve_seconds``).
    Raises TpusplitError if a segment would be empty (a strategy bug, never silent).
    """
    edges = bounds(graph, sorted(cuts))
    sources = [s.cost for s in stages] if stages is not None else [cost] * len(edges)
    seg_costs: list[SegmentCost] = [c.segment(a, b) for c, (a, b) in zip(sources, edges,
                                                                          strict=True)]
    labels = [s.label for s in stages] if stages is not None else [""] * len(edges)
    figures = tuple(SegmentFigures(c.start, c.end, float(c.latency_ms), int(c.on_chip_bytes),
                                   int(c.off_chip_bytes), label,
                                   link_ms=src.link_ms(c.start, c.end))
                    for c, label, src in zip(seg_costs, labels, sources, strict=True))
    if timer is not None:
        evaluations, seconds = timer.evaluations, timer.seconds
        timer.stop()
    else:
        evaluations = sum(c.evaluations for c in {id(s): s for s in sources}.values())
        seconds = solve_seconds or 0.0
    reps = tuple(int(r) for r in replicas)
    result = simulate(sources if stages is not None else cost, sorted(cuts), batch=batch,
                      replicas=reps or None)
    tpi = result.time_per_inference_ms
    powers = ([s.power for s in stages] if stages is not None else [cost.power()] * len(edges))
    energy = (None if any(pw is None for pw in powers) else
              replicated_energy(result.stage_busy_ms, batch, tpi, powers,  # type: ignore[arg-type]
                                reps or None).total_mj)
    runner = sources[0].runner
    return Plan(strategy=strategy, device=device or cost.device, model=graph.name,
                num_ops=len(graph.ops), cuts=tuple(int(c) for c in sorted(cuts)),
                segments=figures, batch=batch, time_per_inference_ms=tpi,
                cost_evaluations=evaluations, solve_seconds=seconds,
                lower_bound_ms=lower_bound_ms,
                notes=(*notes, *_link_notes(figures, reps or (1,) * len(figures), runner)),
                model_fingerprint=graph.fingerprint, energy_mj=energy,
                runner=runner,
                expected_error=sources[0].expected_error(len(seg_costs)) or "",
                replicas=reps)


def _link_notes(figures: Sequence[SegmentFigures], replicas: Sequence[int],
                runner: RunnerModel) -> list[str]:
    """A note for every stage whose copies wait for the host link they share (its link time
    per input is its period, :meth:`RunnerModel.period_ms`): more copies would not help."""
    periods = runner.stage_periods([s.latency_ms for s in figures], replicas)
    return [f"stage {k}: its {r} copies share one USB link and take turns for it "
            f"({s.link_ms:.3f} ms per input: inputs, outputs, streamed weights); more copies "
            "would not help"
            for k, (s, r, p) in enumerate(zip(figures, replicas, periods, strict=True))
            if r > 1 and 0 < s.link_ms >= p]


@dataclass(frozen=True)
class StageKind:
    """The device kind one segment of a plan for a mix runs on: its cost source, the label
    the plan shows (``usb3``, ``cpu@2``) and what it draws."""

    cost: CostSource
    label: str
    power: PowerModel
