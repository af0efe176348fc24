"""Fit Edge TPU device profiles to measured latencies (caching rule, host, link and chip terms).

The latency model (:mod:`tpusplit.costs.edgetpu`) is linear in its parameters once the read
parameters (``reread_mib``, ``reread_max``, ``overflow_reads``) are fixed, so it is fitted by
non-negative least squares on relative error (each observation divided by its measured
time, so a 0.1 ms and a 1 s model weigh alike):

- **columns**: per host ``fixed_ms``, ``link_ms_per_mib`` and ``cpu_factor`` (the host CPU's
  time for host-side ops such as SSD post-processing, relative to the reference CPU they were
  timed on); shared by every host (the same chip) the Edge TPU terms, at 500 MHz (an
  observation at another clock scales them, :data:`~tpusplit.costs.edgetpu.CLOCK_TERMS`); the
  host time per stage of the two pipeline runners (:mod:`tpusplit.costs.runner`); and one
  link-efficiency parameter of the priors below.
- **pipelines**: a pipeline of stages ``s_k`` timed over a batch ``B`` takes
  ``(sum_k s_k + (B - 1) * max_k s_k) / B`` per inference (the fill, then one input per
  bottleneck period); each stage also takes its runner's host time, and a Python pipeline's
  host work serialises, so its period is at least ``N * stage_ms``. The bottleneck is found
  with the current parameters and the fit repeated until it no longer changes.
- **link priors**: every host's link rate is pulled, with the weight of one observation,
  towards ``efficiency * 500 / nominal MB/s`` of its link (USB 3, USB 2, PCIe Gen2 x1), with a
  single ``efficiency`` fitted on all hosts. A host whose data say how fast its link streams
  (a model that spills, or inputs large enough to matter) overrules the prior; a host whose
  data cannot falls back on what the other hosts measured.
- **fixed cost per invoke**: identified by a host's small models (:func:`small_model`); a
  host without any takes the mean of its CPU class's hosts that have one (recomputed at each
  round), since its large models cannot tell the fixed cost from the compute.
- **read parameters**: every combination of :data:`READS_GRID` is fitted; the least weighted
  error wins.
- :func:`fit_capacity` fits the caching rule on the compiler's on/off-chip figures alone.

Observations come from :mod:`tpusplit.calibration.measurements`. :func:`leave_one_model_out` refits
without each real model in turn and predicts it: the honest error on networks never seen.

Lawson-Hanson NNLS (scipy.optimize.nnls when available; a numpy active-set fallback).

Size: over 400 lines because the joint fit (grid over read terms, per-host and clock terms,
runner columns, held-out evaluations) is one procedure over one design matrix.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import numpy as np

from tpusplit.accuracy import mape
from tpusplit.calibration.measurements import HOSTS, LINK_MBPS, Observation
from tpusplit.costs.edgetpu import (
    CLOCK_TERMS,
    COUNTS,
    PARAMETERS,
    EdgeTPUFeatures,
    _table,
    staged_mib,
    stream_reads,
)
from tpusplit.costs.onchip import _int8_bytes, boundary, segment_placement
from tpusplit.devices.profiles import DeviceProfile, Reads, load_profile
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load
from tpusplit.graph.compiler_rule import compiler_cuts
from tpusplit.models.specs import build_spec
from tpusplit.units import MiB

__all__ = ["CacheCheck", "Fit", "SegmentSummary", "check_caching", "compiler_cuts",
           "fit", "fit_capacity", "leave_one_model_out", "summarize"]

TOLERANCE_MIB = 0.05
#: Candidate read parameters (:class:`~tpusplit.devices.profiles.Reads`), by name.
ReadsGrid = Mapping[str, tuple[float, ...]]
#: The grid the shipped profiles are searched on (0: no such term).
READS_GRID: ReadsGrid = {
    "reread_mib": (1.0, 1.5, 2.0),
    "reread_max": (0.0, 2.0, 2.5, 3.0),
    "overflow_reads": (1.0, 1.5, 2.0, 2.5),
}
HOST_COLUMNS = ("fixed_ms", "link_ms_per_mib", "cpu_factor")
#: Observation groups of real networks (the rest are the synthetic families).
REAL_GROUPS = ("coral", "community")
#: The Edge TPU clock the fitted chip terms describe (libedgetpu1-max), MHz.
REFERENCE_CLOCK = 500.0
TPU_COLUMNS = PARAMETERS[2:]   # conv ... act_out, the chip's terms
#: How a pipeline's stages share the host link in the fit: ``none`` (a link per TPU, the
#: shipped model), ``half`` (one link, every byte of every stage in turn: the period is at
#: least their sum) or ``duplex`` (one link per direction: at least the sum of the inputs and
#: streamed weights, and of the outputs). ``benchmarks/edgetpu_model/what_if.py`` fits all
#: three.
SHARED_LINK = "none"


# ----------------------------------------------------------------------------- segments
@dataclass(frozen=True)
class SegmentSummary:
    """A segment's counts, independent of the fitted parameters.

    ``streamed`` lists ``(MiB, working set MiB)`` of every streamed layer and ``staged_mib``
    is the segment's input and output on chip, so the reads
    (:func:`tpusplit.costs.edgetpu.stream_reads`) can be applied for any read parameters;
    ``on_chip_mib``/``off_chip_mib`` are the caching model's.
    """

    counts: tuple[float, ...]          # conv, dw, fc, element, ops (EdgeTPUFeatures order)
    in_mib: float
    out_mib: float
    streamed: tuple[tuple[float, float], ...]
    on_chip_mib: float
    off_chip_mib: float
    staged_mib: float = 0.0

    def features(self, reads: Reads) -> EdgeTPUFeatures:
        """The segment's :class:`EdgeTPUFeatures` under these read parameters."""
        total = sum(s * stream_reads(ws, self.staged_mib, reads) for s, ws in self.streamed)
        return EdgeTPUFeatures.from_counts(
            self.counts, in_mib=self.in_mib, out_mib=self.out_mib,
            streamed_mib=sum(s for s, _ in self.streamed), streamed_reads_mib=total,
            on_chip_bytes=int(self.on_chip_mib * MiB), off_chip_bytes=int(self.off_chip_mib * MiB))


def summarize(graph: Graph, start: int, end: int, cache: tuple[float, float, float]
              ) -> SegmentSummary:
    """The :class:`SegmentSummary` of ops ``[start, end)`` under caching rule ``cache``."""
    table = _table(graph)
    pl = segment_placement(graph, start, end, *cache)
    streamed = tuple((pl.off_chip_of(i) / MiB, table.terms[i].working_set_mib)
                     for i in range(start, end) if pl.off_chip_of(i))
    ins, outs = boundary(graph, start, end)
    counts = tuple(table.sum(k, start, end) for k in COUNTS)
    return SegmentSummary(counts, sum(_int8_bytes(graph, t) for t in ins) / MiB,
                          sum(_int8_bytes(graph, t) for t in outs) / MiB, streamed,
                          pl.on_chip_bytes / MiB, pl.off_chip_bytes / MiB,
                          staged_mib(graph, ins, outs))


@lru_cache(maxsize=4)
def _graph(model: str) -> Graph:
    if model.endswith(".tflite"):
        return load(model)
    return load(build_spec(model), name=model)


def stages(obs: Observation, cache: tuple[float, float, float]) -> list[SegmentSummary]:
    """The segment summaries of an observation, in pipeline order."""
    if obs.segment_files:
        out = []
        for f in obs.segment_files:
            g = _graph(f)
            out.append(summarize(g, 0, len(g.ops), cache))
        return out
    g = _graph(obs.model)
    n = len(g.ops)
    if any(not 0 < c < n for c in obs.cuts):
        raise TpusplitError(f"{obs.source}: cuts {list(obs.cuts)} outside 1..{n - 1} for "
                            f"{obs.model}")
    edges = [0, *obs.cuts, n]
    return [summarize(g, a, b, cache) for a, b in itertools.pairwise(edges)]


def summaries(observations: Sequence[Observation], cache: tuple[float, float, float]
              ) -> list[list[SegmentSummary]]:
    """:func:`stages` of every observation; each model is built once (grouped by model)."""
    order = sorted(range(len(observations)), key=lambda i: observations[i].model)
    out: list[list[SegmentSummary]] = [[] for _ in observations]
    for i in order:
        out[i] = stages(observations[i], cache)
    return out


# ----------------------------------------------------------------------------- caching
@dataclass(frozen=True)
class CacheCheck:
    """Caching model vs compiler figures: one entry per (observation, segment, on|off)."""

    figures: int
    matched: int
    worst_mib: float
    worst_where: str
    mismatches: tuple[str, ...]

    @property
    def share(self) -> float:
        """Fraction of figures within tolerance."""
        return self.matched / self.figures if self.figures else 1.0


def _compiler_figures(observations: Iterable[Observation]
                      ) -> list[tuple[str, Graph, int, int, float, float]]:
    """``(label, graph, start, end, on MiB, off MiB)`` of every segment with compiler figures;
    each (model, cuts) once."""
    seen: set[tuple[str, tuple[int, ...]]] = set()
    out = []
    for o in observations:
        if not o.on_chip_mib or (o.model, o.cuts) in seen:
            continue
        seen.add((o.model, o.cuts))
        g = _graph(o.model)
        edges = [0, *o.cuts, len(g.ops)]
        for k, (a, b) in enumerate(itertools.pairwise(edges)):
            out.append((f"{o.source} {o.model} seg{k}", g, a, b, o.on_chip_mib[k],
                        o.off_chip_mib[k]))
    return out


def check_caching(observations: Iterable[Observation], base_mib: float, in_coef: float,
                  out_coef: float, tol_mib: float = TOLERANCE_MIB) -> CacheCheck:
    """Count the compiler-reported on/off-chip figures the caching model reproduces."""
    figures = matched = 0
    worst, where = 0.0, ""
    bad: list[str] = []
    for label, g, a, b, on, off in _compiler_figures(observations):
        pl = segment_placement(g, a, b, base_mib, in_coef, out_coef)
        for kind, pred, real in (("on", pl.on_chip_bytes, on), ("off", pl.off_chip_bytes, off)):
            err = abs(pred / MiB - real)
            figures += 1
            if err <= tol_mib:
                matched += 1
            else:
                bad.append(f"{label} {kind}: predicted {pred / MiB:.3f}, compiler {real:.3f} MiB")
            if err > worst:
                worst, where = err, f"{label} {kind}"
    return CacheCheck(figures, matched, worst, where, tuple(bad))


def fit_capacity(observations: Sequence[Observation], tol_mib: float = TOLERANCE_MIB
                 ) -> tuple[float, float, float, CacheCheck]:
    """Grid-search ``(base_mib, in_coef, out_coef)`` maximising matched compiler figures.

    ``base_mib`` in 6.0..8.0 step 0.005, coefficients in 0..1 step 0.05. Among the best
    triples it prefers the smallest coefficients (the simplest rule), then the median
    ``base_mib`` (the middle of the feasible interval). Vectorised over the grid:
    O(segments x layers) numpy passes over the grid.
    """
    bases = np.arange(6.0, 8.0001, 0.005)
    coefs = np.arange(0.0, 1.0001, 0.05)
    b, i, o = np.meshgrid(bases, coefs, coefs, indexing="ij")
    score = np.zeros(b.shape, dtype=np.int64)
    for _, g, a, e, on, off in _compiler_figures(observations):
        pl = segment_placement(g, a, e, 8.0, 0.0, 0.0)
        ins, outs = boundary(g, a, e)
        in_b = sum(_int8_bytes(g, t) for t in ins)
        out_b = sum(_int8_bytes(g, t) for t in outs)
        cap = np.maximum(0.0, b * MiB - i * in_b - o * out_b)
        used = np.zeros(b.shape)
        for s in pl.sizes:
            used = np.where(used + s <= cap, used + s, used)
        total = sum(pl.sizes)
        score += np.abs(used / MiB - on) <= tol_mib
        score += np.abs((total - used) / MiB - off) <= tol_mib
    top = score.max()
    idx = np.argwhere(score == top)
    triples = sorted(((float(bases[x]), float(coefs[y]), float(coefs[z])) for x, y, z in idx),
                     key=lambda t: (t[1] + t[2], t[1], t[2], t[0]))
    lead = [t for t in triples if (t[1], t[2]) == triples[0][1:]]
    base, in_coef, out_coef = (round(v, 3) for v in lead[len(lead) // 2])
    return base, in_coef, out_coef, check_caching(observations, base, in_coef, out_coef, tol_mib)


# ----------------------------------------------------------------------------- NNLS
def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        from scipy.optimize import nnls
    except ImportError:  # pragma: no cover - scipy is optional
        return _nnls_numpy(a, b)
    return np.asarray(nnls(a, b, maxiter=50 * a.shape[1])[0])


def _nnls_numpy(a: np.ndarray, b: np.ndarray, iters: int = 500) -> np.ndarray:
    """Lawson-Hanson active-set NNLS (Lawson & Hanson, Solving Least Squares Problems, 1974)."""
    n = a.shape[1]
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    for _ in range(iters):
        w = a.T @ (b - a @ x)
        if passive.all() or w[~passive].max(initial=-1) <= 1e-12:
            break
        j = int(np.argmax(np.where(passive, -np.inf, w)))
        passive[j] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            neg = passive & (z <= 0)
            alpha = np.min(x[neg] / (x[neg] - z[neg]))
            x = x + alpha * (z - x)
            passive &= x > 1e-12
    return x


# ----------------------------------------------------------------------------- the fit
@dataclass
class Fit:
    """A fitted model: parameters per host and shared, and what it predicts for each row."""

    hosts: dict[str, dict[str, float]]          # host -> fixed_ms, link_ms_per_mib, cpu_factor
    tpu: dict[str, float]                       # TPU_COLUMNS -> value
    reads: Reads
    python_stage_ms: float
    coral_stage_ms: float
    link_efficiency: float
    cache: tuple[float, float, float]
    observations: list[Observation] = field(default_factory=list)
    predicted_ms: list[float] = field(default_factory=list)

    def profile(self, host: str, name: str, description: str = "",
                base: DeviceProfile | None = None) -> DeviceProfile:
        """The device profile of ``host``; fields the fit lacks come from ``base``."""
        p = base or DeviceProfile(name=name)
        h = self.hosts[host]
        info = HOSTS.get(host)
        p = replace(
            p, name=name, description=description or p.description,
            host=info.description if info else host, link=info.link if info else p.link,
            fixed_ms=h["fixed_ms"], link_ms_per_mib=h["link_ms_per_mib"],
            cpu_factor=h["cpu_factor"], reread_mib=self.reads.reread_mib,
            reread_max=self.reads.reread_max, overflow_reads=self.reads.overflow_reads,
            python_stage_ms=self.python_stage_ms, coral_stage_ms=self.coral_stage_ms,
            cache_base_mib=self.cache[0], cache_in_coef=self.cache[1],
            cache_out_coef=self.cache[2],
            fit={"link_efficiency_ms_per_mib_at_500MBps": self.link_efficiency})
        return replace(p, **cast(dict[str, Any], self.tpu))


class _Design:
    """Column layout of the least-squares problem for a set of observations."""

    def __init__(self, observations: Sequence[Observation], fixed_tpu: dict[str, float] | None
                 ) -> None:
        self.hosts = sorted({o.host for o in observations})
        self.fixed_tpu = fixed_tpu
        cols = [f"{h}:{c}" for h in self.hosts for c in HOST_COLUMNS]
        if fixed_tpu is None:
            cols += list(TPU_COLUMNS)
        cols += ["python_stage_ms", "coral_stage_ms"]
        cols += ["link_efficiency"]
        # a host whose data hold no small model cannot tell its fixed cost from its compute:
        # it takes the mean of its CPU class's hosts that have small models (when there are)
        known = {h for h in self.hosts if any(o.host == h and small_model(o)
                                              for o in observations)}
        self.peers = {c: sorted(h for h in known if _cpu_class(h) == c)
                      for c in {_cpu_class(h) for h in self.hosts}}
        self.tied = {h for h in self.hosts if h not in known and self.peers[_cpu_class(h)]}
        self.columns = cols
        self.index = {c: k for k, c in enumerate(cols)}

    def class_fixed(self, host: str, theta: np.ndarray | None) -> float:
        """The fixed cost a tied ``host`` takes: the mean of its class's hosts with small
        models under ``theta`` (0 before the first solve)."""
        if theta is None:
            return 0.0
        peers = self.peers[_cpu_class(host)]
        return float(np.mean([theta[self.index[f"{h}:fixed_ms"]] for h in peers]))

    def stage(self, f: EdgeTPUFeatures, host: str, clock_mhz: float = 500.0,
              theta: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Column vector of one stage on ``host`` at an Edge TPU clock, and its known (fixed)
        part in ms. The chip's terms are fitted at 500 MHz and take ``500 / clock`` as long."""
        v = np.zeros(len(self.columns))
        x = f.vector()
        known = 0.0
        if host in self.tied:
            known += x[0] * self.class_fixed(host, theta)
        else:
            v[self.index[f"{host}:fixed_ms"]] = x[0]
        v[self.index[f"{host}:link_ms_per_mib"]] = x[1]
        slow = REFERENCE_CLOCK / clock_mhz
        for name, value in zip(TPU_COLUMNS, x[2:], strict=True):
            value *= slow if name in CLOCK_TERMS else 1.0
            if self.fixed_tpu is None:
                v[self.index[name]] = value
            else:
                known += value * self.fixed_tpu[name]
        return v, known


def _rows(design: _Design, observations: Sequence[Observation],
          stages_of: Sequence[list[SegmentSummary]], reads: Reads, theta: np.ndarray | None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix and known offsets; pipeline bottlenecks chosen with ``theta``."""
    x = np.zeros((len(observations), len(design.columns)))
    known = np.zeros(len(observations))
    for r, (o, segs) in enumerate(zip(observations, stages_of, strict=True)):
        feats = [s.features(reads) for s in segs]
        parts = [design.stage(f, o.host, o.clock_mhz, theta) for f in feats]
        vs = [v for v, _ in parts]
        ks = [k for _, k in parts]
        if len(vs) > 1:  # a runner's host time per stage (one segment runs without one)
            for v in vs:
                v[design.index[f"{o.runner}_stage_ms"]] += 1
        if len(vs) == 1:
            row, kn = vs[0], ks[0]
        else:
            cands = list(zip(vs, ks, strict=True))
            if o.runner == "python":
                gil = np.zeros(len(design.columns))
                gil[design.index["python_stage_ms"]] = len(vs)
                cands.append((gil, 0.0))
            cands += _link_rows(design, o.host, feats)
            th = theta if theta is not None else np.ones(len(design.columns))
            worst = max(range(len(cands)), key=lambda k: cands[k][0] @ th + cands[k][1])
            b = o.batch
            row = (sum(vs) + (b - 1) * cands[worst][0]) / b
            kn = (sum(ks) + (b - 1) * cands[worst][1]) / b
        row[design.index[f"{o.host}:cpu_factor"]] += o.host_cpu_ms
        x[r] = row
        known[r] = kn
    return x, known


def _link_rows(design: _Design, host: str, feats: Sequence[EdgeTPUFeatures]
               ) -> list[tuple[np.ndarray, float]]:
    """The lower bounds a shared host link puts on a pipeline's period (:data:`SHARED_LINK`):
    link MiB of the stages in turn, at the host's link rate."""
    if SHARED_LINK == "none":
        return []
    sides = ([lambda f: f.link_mib] if SHARED_LINK == "half" else
             [lambda f: f.in_mib + f.streamed_reads_mib, lambda f: f.out_mib])
    out = []
    for side in sides:
        row = np.zeros(len(design.columns))
        row[design.index[f"{host}:link_ms_per_mib"]] = sum(side(f) for f in feats)
        out.append((row, 0.0))
    return out


def _weights(observations: Sequence[Observation]) -> np.ndarray:
    """Row weights: Coral's real-CNN rows 1 each; the synthetic single-TPU rows and the
    synthetic pipeline rows each weigh as much in total as all real rows; other rows 1."""
    real = [o.group == "coral" for o in observations]
    n_real = max(1, sum(real))
    single = [o.host == "usb3-sweeps" and o.tpus == 1 for o in observations]
    pipe = [o.host == "usb3-sweeps" and o.tpus > 1 for o in observations]
    w = np.ones(len(observations))
    for mask in (single, pipe):
        n = sum(mask)
        if n:
            w[np.array(mask)] = math.sqrt(n_real / n) if any(real) else 1.0
    return w


def _cpu_class(host: str) -> str:
    """The CPU class of a host of the data (``x86`` for hosts the data does not know)."""
    return HOSTS[host].cpu if host in HOSTS else "x86"


#: A model is small enough to identify a host's fixed cost below this many MACs (MobileNets
#: are 0.3-0.6 G; Inception v1 1.5 G) and parameter bytes (it must not stream: MobileNets
#: have 3-4 MiB), when nothing of it runs on the host CPU.
SMALL_MACS = 1.0e9
SMALL_PARAMS = 6 * 2**20


def small_model(o: Observation) -> bool:
    """Whether ``o`` times a small model on one TPU (it identifies its host's fixed cost)."""
    if o.tpus != 1 or o.segment_files or o.host_cpu_ms:
        return False
    g = _graph(o.model)
    return g.macs < SMALL_MACS and sum(op.param_bytes for op in g.ops) < SMALL_PARAMS


def _priors(design: _Design, observations: Sequence[Observation], weight: float) -> np.ndarray:
    """Rows pulling each host's link rate to ``efficiency * 500 / nominal MB/s`` (relative)."""
    link_of = {o.host: o.link for o in observations}
    rows = []
    for h in design.hosts:
        ratio = 500.0 / LINK_MBPS[link_of[h]]
        row = np.zeros(len(design.columns))
        row[design.index[f"{h}:link_ms_per_mib"]] = weight / ratio
        row[design.index["link_efficiency"]] = -weight
        rows.append(row)
    return np.array(rows).reshape(len(rows), len(design.columns))


#: Weight of an anchor's pull on each host parameter, in observations: weak, so that the
#: measurements win wherever they say something.
ANCHOR_WEIGHT = 0.05
#: Typical size of each host parameter: an anchor's pull is a deviation in these units.
ANCHOR_SCALE = {"fixed_ms": 1.0, "link_ms_per_mib": 1.5, "cpu_factor": 20.0}


def _anchors(design: _Design, anchor: DeviceProfile, weight: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Rows pulling every host's fixed cost, link rate and CPU factor towards ``anchor``'s
    (rows, targets), each as strong as ``weight`` observations off by one typical size."""
    rows, targets = [], []
    for h in design.hosts:
        for c in HOST_COLUMNS:
            row = np.zeros(len(design.columns))
            row[design.index[f"{h}:{c}"]] = weight / ANCHOR_SCALE[c]
            rows.append(row)
            targets.append(weight * float(getattr(anchor, c)) / ANCHOR_SCALE[c])
    return np.array(rows), np.array(targets)


def _solve(design: _Design, observations: Sequence[Observation],
           stages_of: Sequence[list[SegmentSummary]], reads: Reads, prior_weight: float,
           rounds: int = 6, anchor: DeviceProfile | None = None) -> tuple[np.ndarray, float]:
    """NNLS with iterated pipeline bottlenecks; returns (theta, weighted squared error)."""
    y = np.array([o.ms for o in observations])
    w = _weights(observations) / y
    # the prior rows are relative deviations of a link rate from its type's: scale them like a
    # relative error of one observation (a typical link rate of 2.5 ms/MiB)
    prior = _priors(design, observations, prior_weight) / 2.5
    targets = np.zeros(len(prior))
    if anchor is not None:
        rows, tgt = _anchors(design, anchor, ANCHOR_WEIGHT)
        prior, targets = np.vstack([prior, rows]), np.concatenate([targets, tgt])
    theta = None
    err = float("inf")
    for _ in range(rounds):
        x, known = _rows(design, observations, stages_of, reads, theta)
        a = np.vstack([x * w[:, None], prior])
        b = np.concatenate([(y - known) * w, targets])
        new = _nnls(a, b)
        err = float(np.sum((a @ new - b) ** 2))
        if theta is not None and np.allclose(new, theta, rtol=1e-6, atol=1e-9):
            theta = new
            break
        theta = new
    assert theta is not None
    return theta, err


def fit(observations: Sequence[Observation], cache: tuple[float, float, float],
        fixed_tpu: DeviceProfile | None = None, reads_grid: ReadsGrid | None = None,
        prior_weight: float = 0.3,
        stages_of: Sequence[list[SegmentSummary]] | None = None,
        anchor: DeviceProfile | None = None) -> Fit:
    """Fit hosts, chip and runner terms to ``observations`` (see the module docstring).

    Args:
        observations: measured latencies (any mix of hosts, single TPU and pipelines).
        cache: the caching rule ``(base_mib, in_coef, out_coef)`` (:func:`fit_capacity`).
        fixed_tpu: keep this profile's Edge TPU terms and read parameters and fit only the
            hosts' (what a user with a few measurements of their own needs).
        reads_grid: candidate read parameters (default :data:`READS_GRID`; ignored with
            ``fixed_tpu``), every combination tried (:func:`search_reads`).
        prior_weight: weight of the link-rate priors, in observations.
        stages_of: precomputed :func:`summaries` of ``observations`` (to fit many subsets).
        anchor: pull every host's fixed cost, link rate and CPU factor towards this
            profile's, weakly (:data:`ANCHOR_WEIGHT`): what the measurements cannot tell apart (one
            small model says nothing of the link rate) stays near the anchor instead of going
            to 0.

    Raises:
        TpusplitError: no observations.
    """
    if not observations:
        raise TpusplitError("calibrate: no measurements to fit")
    stages_of = stages_of if stages_of is not None else summaries(observations, cache)
    tpu_fixed = None if fixed_tpu is None else {c: getattr(fixed_tpu, c) for c in TPU_COLUMNS}
    design = _Design(observations, tpu_fixed)

    def solve(reads: Reads) -> tuple[float, np.ndarray]:
        theta, err = _solve(design, observations, stages_of, reads, prior_weight, anchor=anchor)
        return err, theta

    if fixed_tpu is not None:
        reads = replace(fixed_tpu.reads, onchip_mib=cache[0])
        _, theta = solve(reads)
    else:
        reads, theta = search_reads(solve, reads_grid or READS_GRID, cache[0])
    val = dict(zip(design.columns, (float(t) for t in theta), strict=True))
    hosts = {h: {c: val[f"{h}:{c}"] for c in HOST_COLUMNS} for h in design.hosts}
    for h in design.tied:
        hosts[h]["fixed_ms"] = design.class_fixed(h, theta)
    tpu = dict(tpu_fixed) if tpu_fixed is not None else {c: val[c] for c in TPU_COLUMNS}
    result = Fit(hosts, tpu, reads, val["python_stage_ms"], val["coral_stage_ms"],
                 val["link_efficiency"], cache, list(observations))
    result.predicted_ms = predict(result, observations, stages_of)
    return result


def grid_of(reads: Reads) -> ReadsGrid:
    """The grid holding just ``reads`` (to fit with known read parameters)."""
    return {"reread_mib": (reads.reread_mib,), "reread_max": (reads.reread_max,),
            "overflow_reads": (reads.overflow_reads,),
            "overflow_power": (reads.overflow_power,)}


def search_reads(solve: Callable[[Reads], tuple[float, np.ndarray]], grid: ReadsGrid,
                 onchip_mib: float) -> tuple[Reads, np.ndarray]:
    """The read parameters of ``grid`` (every combination) with the least fit error.

    O(product of the grid sizes) solves; the shipped grid is small (:data:`READS_GRID`).
    """
    best: tuple[float, Reads, np.ndarray] | None = None
    for values in itertools.product(*grid.values()):
        reads = Reads(onchip_mib=onchip_mib, **dict(zip(grid, values, strict=True)))
        err, theta = solve(reads)
        if best is None or err < best[0] - 1e-12:
            best = (err, reads, theta)
    assert best is not None
    return best[1], best[2]


def predict(result: Fit, observations: Sequence[Observation],
            stages_of: Sequence[list[SegmentSummary]] | None = None) -> list[float]:
    """Time per inference ``result`` predicts for each observation (same pipeline rule).

    Hosts the fit has not seen cost nothing (their columns are zero).
    """
    stages_of = stages_of if stages_of is not None else summaries(observations, result.cache)
    known_hosts = sorted(set(result.hosts) | {o.host for o in observations})
    design = _Design([*result.observations, *observations], None)
    theta = np.zeros(len(design.columns))
    design.tied = set()
    for h in known_hosts:
        for c in HOST_COLUMNS:
            theta[design.index[f"{h}:{c}"]] = result.hosts.get(h, {}).get(c, 0.0)
    for c in TPU_COLUMNS:
        theta[design.index[c]] = result.tpu[c]
    theta[design.index["python_stage_ms"]] = result.python_stage_ms
    theta[design.index["coral_stage_ms"]] = result.coral_stage_ms
    x, known = _rows(design, observations, stages_of, result.reads, theta)
    return [float(v) for v in x @ theta + known]


def leave_one_model_out(observations: Sequence[Observation], cache: tuple[float, float, float],
                        models: Iterable[str] | None = None,
                        progress: Callable[[str], None] | None = None,
                        reads: Reads | None = None) -> dict[int, float]:
    """Refit without each model in turn and predict its observations.

    ``models`` defaults to every real network (groups ``coral`` and ``community``). The read
    parameters stay those of the fit on every observation (``reads``, else searched once):
    the synthetic sweeps, never held out, determine them. Returns ``{index in observations:
    predicted ms}`` for the held-out observations.
    """
    stages_of = summaries(observations, cache)
    if reads is None:
        reads = fit(observations, cache, stages_of=stages_of).reads
    grid = grid_of(reads)
    names = sorted(set(models) if models is not None else
                   {o.model for o in observations if o.group in REAL_GROUPS})
    out: dict[int, float] = {}
    for name in names:
        if progress:
            progress(name)
        keep = [i for i, o in enumerate(observations) if o.model != name]
        held = [i for i, o in enumerate(observations) if o.model == name]
        f = fit([observations[i] for i in keep], cache,
                stages_of=[stages_of[i] for i in keep], reads_grid=grid)
        pred = predict(f, [observations[i] for i in held], [stages_of[i] for i in held])
        out.update(zip(held, pred, strict=True))
    return out


def calibrate(observations: Sequence[Observation], base: str | Path | DeviceProfile =
              "edgetpu-usb3", name: str = "edgetpu-custom", refit_tpu: bool = False
              ) -> tuple[DeviceProfile, dict[str, float]]:
    """Fit one host's profile to a user's observations (``tpusplit calibrate``).

    The Edge TPU terms and caching rule are kept from ``base`` unless ``refit_tpu`` (which
    needs many models, single-TPU and pipelined, to be identified), and the host's terms are
    pulled towards ``base``'s (:func:`fit`'s ``anchor``), so a few measurements move what
    they determine and leave the rest near the base. Every observation must come from one
    host.

    Returns the profile and a summary: ``rows``, ``mape`` of the fit (percent).
    """
    profile = load_profile(base)
    hosts = {o.host for o in observations}
    if len(hosts) != 1:
        raise TpusplitError(f"calibrate: measurements from {len(hosts)} hosts "
                            f"({', '.join(sorted(hosts))}); fit one host at a time")
    result = fit(observations, profile.cache, fixed_tpu=None if refit_tpu else profile,
                 anchor=None if refit_tpu else profile)
    host = hosts.pop()
    prof = result.profile(host, name, f"fitted by tpusplit calibrate on {len(observations)} "
                          f"measurements of host {host!r}", base=profile)
    summary = {"rows": float(len(observations)),
               "mape": 100 * mape(result.predicted_ms, [o.ms for o in observations])}
    return prof, summary
