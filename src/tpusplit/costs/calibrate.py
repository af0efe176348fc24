"""Fit an Edge TPU device profile to measurements (caching capacity and latency parameters).

The measured models are rebuilt from each row (``tpusplit.models.synthetic.conv(F)`` or
``fc(N)``), split the way the measurement was (single TPU; the compiler's
``--num_segments`` rule for ``*compiler_split*`` files; by layer count for ``*even_split*``),
and their features computed by :func:`tpusplit.costs.edgetpu.segment_features`.

- :func:`fit_capacity`: grid search over ``(base_mib, in_coef, out_coef)`` maximising the
  number of compiler-reported on/off-chip figures reproduced within 0.05 MiB (ties: the
  middle of the feasible interval of ``base_mib``). O(grid x segments x layers).
- :func:`fit_latency`: non-negative least squares on *relative* error (each row divided by
  its measured time, so small and large models weigh alike), over the single-TPU rows, of
  the parameters whose feature is non-zero in the data; the others keep the base profile's
  values. Lawson-Hanson NNLS (scipy.optimize.nnls when available; numpy active-set fallback).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tpusplit.costs.edgetpu import PARAMETERS, Features, profile_vector, segment_features
from tpusplit.costs.edgetpu_cache import MiB, _int8_bytes, boundary, segment_placement
from tpusplit.costs.measurements import Measurements, read
from tpusplit.costs.profile import COSTED_OPS, DeviceProfile, load_profile
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load
from tpusplit.graph.compiler_rule import compiler_cuts
from tpusplit.models.synthetic import conv, fc

TOLERANCE_MIB = 0.05


@dataclass
class Case:
    """One measured row, rebuilt: the graph, its segments, and what was measured."""

    family: str
    size: int
    tpus: int
    split: str
    graph: Graph
    bounds: list[tuple[int, int]]
    time_ms: float
    on_chip_mib: tuple[float, ...]
    off_chip_mib: tuple[float, ...]
    source: str

    @property
    def cuts(self) -> list[int]:
        """Op indices where segments 2..N begin."""
        return [a for a, _ in self.bounds[1:]]


def even_cuts(graph: Graph, n: int) -> list[int]:
    """Split by layer count (layers = ops with parameters), extra layers to the last segments.

    Each segment starts at a layer; ops without parameters stay with the layer before them
    (a QUANTIZE in front goes with the first). The fc files were split this way.
    """
    layers = [op.index for op in graph.ops if op.param_bytes > 0]
    if n <= 1:
        return []
    if n > len(layers):
        raise TpusplitError(f"{graph.source}: {n} segments but only {len(layers)} layers")
    base, extra = divmod(len(layers), n)
    sizes = [base + (1 if s >= n - extra else 0) for s in range(n)]
    starts = list(itertools.accumulate(sizes))[:-1]
    return [layers[k] for k in starts]


def _build(family: str, size: int) -> Graph:
    if family == "conv":
        return load(conv(size), name=f"conv_F{size}")
    if family == "fc":
        return load(fc(size), name=f"fc_N{size}")
    raise TpusplitError(f"unknown model family {family!r}")


def cases(measurements: Measurements | str | Path) -> list[Case]:
    """Rebuild every row of a measurement file as a :class:`Case`."""
    m = measurements if isinstance(measurements, Measurements) else read(measurements)
    out = []
    for row in m.rows:
        g = _build(m.family, row.size)
        if row.tpus == 1:
            cuts: list[int] = []
        elif m.split == "even":
            cuts = even_cuts(g, row.tpus)
        else:
            cuts = compiler_cuts(g, row.tpus)
        edges = [0, *cuts, len(g.ops)]
        out.append(Case(m.family, row.size, row.tpus, m.split, g, list(itertools.pairwise(edges)),
                        row.time_ms, row.on_chip_mib, row.off_chip_mib, m.path.name))
    return out


# ----------------------------------------------------------------------------- caching
@dataclass(frozen=True)
class CacheCheck:
    """Caching model vs compiler figures: one entry per (case, segment, on|off)."""

    figures: int
    matched: int
    worst_mib: float
    worst_where: str
    mismatches: tuple[str, ...]

    @property
    def share(self) -> float:
        """Fraction of figures within tolerance."""
        return self.matched / self.figures if self.figures else 1.0


def check_caching(all_cases: Iterable[Case], base_mib: float, in_coef: float, out_coef: float,
                  tol_mib: float = TOLERANCE_MIB) -> CacheCheck:
    """Count the compiler-reported on/off-chip figures the caching model reproduces."""
    figures = matched = 0
    worst, where = 0.0, ""
    bad: list[str] = []
    for c in all_cases:
        for k, (a, b) in enumerate(c.bounds):
            pl = segment_placement(c.graph, a, b, base_mib, in_coef, out_coef)
            for kind, pred, real in (("on", pl.on_chip_bytes, c.on_chip_mib[k]),
                                     ("off", pl.off_chip_bytes, c.off_chip_mib[k])):
                err = abs(pred / MiB - real)
                figures += 1
                label = f"{c.source} {c.family}{c.size} seg{k} {kind}"
                if err <= tol_mib:
                    matched += 1
                else:
                    bad.append(f"{label}: predicted {pred / MiB:.3f}, compiler {real:.3f} MiB")
                if err > worst:
                    worst, where = err, label
    return CacheCheck(figures, matched, worst, where, tuple(bad))


def fit_capacity(all_cases: Sequence[Case], tol_mib: float = TOLERANCE_MIB
                 ) -> tuple[float, float, float, CacheCheck]:
    """Grid-search ``(base_mib, in_coef, out_coef)`` maximising matched figures.

    ``base_mib`` in 6.0..8.0 step 0.005, coefficients in 0..1 step 0.05. Among the best
    triples it prefers the smallest coefficients (the simplest rule), then the median
    ``base_mib`` (the middle of the feasible interval). Vectorised over the grid:
    O(segments x layers) numpy passes over the grid.
    """
    bases = np.arange(6.0, 8.0001, 0.005)
    coefs = np.arange(0.0, 1.0001, 0.05)
    b, i, o = np.meshgrid(bases, coefs, coefs, indexing="ij")
    score = np.zeros(b.shape, dtype=np.int64)
    for c in all_cases:
        for k, (a, e) in enumerate(c.bounds):
            pl = segment_placement(c.graph, a, e, 8.0, 0.0, 0.0)
            ins, outs = boundary(c.graph, a, e)
            in_b = sum(_int8_bytes(c.graph, t) for t in ins)
            out_b = sum(_int8_bytes(c.graph, t) for t in outs)
            cap = np.maximum(0.0, b * MiB - i * in_b - o * out_b)
            used = np.zeros(b.shape)
            for s in pl.sizes:
                used = np.where(used + s <= cap, used + s, used)
            total = sum(pl.sizes)
            score += np.abs(used / MiB - c.on_chip_mib[k]) <= tol_mib
            score += np.abs((total - used) / MiB - c.off_chip_mib[k]) <= tol_mib
    top = score.max()
    idx = np.argwhere(score == top)
    triples = sorted(((float(bases[x]), float(coefs[y]), float(coefs[z])) for x, y, z in idx),
                     key=lambda t: (t[1] + t[2], t[1], t[2], t[0]))
    lead = [t for t in triples if (t[1], t[2]) == triples[0][1:]]
    base, in_coef, out_coef = (round(v, 3) for v in lead[len(lead) // 2])
    return base, in_coef, out_coef, check_caching(all_cases, base, in_coef, out_coef, tol_mib)


# ----------------------------------------------------------------------------- latency
def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        from scipy.optimize import nnls
    except ImportError:  # pragma: no cover - scipy is optional
        return _nnls_numpy(a, b)
    return np.asarray(nnls(a, b)[0])


def _nnls_numpy(a: np.ndarray, b: np.ndarray, iters: int = 200) -> np.ndarray:
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


def with_vector(base: DeviceProfile, theta: Sequence[float]) -> DeviceProfile:
    """``base`` with its latency parameters replaced by ``theta`` (:data:`PARAMETERS` order)."""
    k = len(COSTED_OPS)
    th = [float(v) for v in theta]
    return replace(base, fixed_ms=th[0],
                   compute_ms_per_gmac=dict(zip(COSTED_OPS, th[1:1 + k], strict=True)),
                   element_ms_per_mop=th[1 + k],
                   stream_ms_per_mib=dict(zip(COSTED_OPS, th[2 + k:2 + 2 * k], strict=True)),
                   in_ms_per_mib=th[2 + 2 * k], out_ms_per_mib=th[3 + 2 * k],
                   act_ms_per_mib=th[4 + 2 * k])


def single_features(c: Case, profile: DeviceProfile) -> Features:
    """Features of a single-TPU case (the whole model)."""
    return segment_features(c.graph, 0, len(c.graph.ops), profile)


def fit_latency(single: Sequence[Case], base: DeviceProfile,
                fixed: Iterable[str] = ()) -> DeviceProfile:
    """Fit the latency parameters on single-TPU cases (relative-error NNLS).

    Parameters whose feature is zero in every case, or named in ``fixed``, keep ``base``'s
    value (their contribution is subtracted first).
    """
    if not single:
        raise TpusplitError("calibrate: no single-TPU measurements to fit on")
    x = np.array([single_features(c, base).vector() for c in single])
    y = np.array([c.time_ms for c in single])
    theta0 = np.array(profile_vector(base))
    keep = set(fixed)
    free = np.array([bool(np.any(x[:, j] > 0)) and PARAMETERS[j] not in keep
                     for j in range(len(PARAMETERS))])
    target = y - x[:, ~free] @ theta0[~free]
    w = 1.0 / y
    sol = _nnls(x[:, free] * w[:, None], target * w)
    theta = theta0.copy()
    theta[free] = sol
    return with_vector(base, [float(v) for v in theta])


def mape(pred: Sequence[float], real: Sequence[float]) -> float:
    """Mean absolute percentage error, in percent."""
    p, r = np.asarray(pred, float), np.asarray(real, float)
    return float(np.mean(np.abs(p - r) / r) * 100) if len(r) else float("nan")


def calibrate(files: Sequence[str | Path], base: str | Path | DeviceProfile = "edgetpu-usb3",
              name: str = "edgetpu-custom", fit_cache: bool = False
              ) -> tuple[DeviceProfile, dict[str, float]]:
    """Fit a profile to measurement files in the shipped CSV format.

    Returns the profile and a summary: ``mape`` of the fit on the single-TPU rows, and when
    ``fit_cache`` is set, the caching figures matched.
    """
    profile = load_profile(base)
    all_cases = [c for f in files for c in cases(f)]
    summary: dict[str, float] = {"rows": float(len(all_cases))}
    if fit_cache:
        b, i, o, check = fit_capacity(all_cases)
        profile = replace(profile, cache_base_mib=b, cache_in_coef=i, cache_out_coef=o)
        summary.update(cache_matched=check.matched, cache_figures=check.figures,
                       cache_worst_mib=check.worst_mib)
    single = [c for c in all_cases if c.tpus == 1]
    # one TPU cannot tell the link terms apart from compute: keep the base profile's
    profile = fit_latency(single, profile, fixed=("in_ms_per_mib", "out_ms_per_mib",
                                                  "element_ms_per_mop"))
    profile = profile.with_name(name, f"fitted by tpusplit calibrate on "
                                      f"{', '.join(Path(f).name for f in files)}")
    from tpusplit.costs.edgetpu import EdgeTPUCost

    pred = [EdgeTPUCost(c.graph, profile).latency(0, len(c.graph.ops)) for c in single]
    summary["mape"] = mape(pred, [c.time_ms for c in single])
    summary["single_rows"] = float(len(single))
    return profile, summary
