"""Replicated pipelines: cut a chain into stages *and* give each stage ``r_i`` copies, exactly.

A chain of ``n`` ops runs on at most ``N`` identical devices as ``k`` contiguous stages, stage
``i`` on ``r_i >= 1`` devices that each hold the whole stage (replicas, inputs dealt to
whichever is free), ``sum r_i <= N``. In steady state a stage of time ``w_i`` passes
``r_i / w_i`` inputs per unit of time, so the pipeline's period (time per input) is
``max_i w_i / r_i``; one input's latency is ``sum_i w_i``. ``k = N, r = 1`` is a pure pipeline,
``k = 1, r = N`` pure data parallelism (one copy of the model per device). PipeDream
(Narayanan et al., "PipeDream: Generalized Pipeline Parallelism for DNN Training", SOSP 2019,
section 3.1) plans per-stage replication by dynamic programming; for inference its weight
synchronisation terms drop out and a stage costs its time divided by its replicas.

**Host time.** A runner on the host adds work per stage and input (a queue hand-off, a
thread wake-up; see the lead's ``tpusplit.costs.runner``): ``host`` is added to every stage's
time (``w_i = cost_i + host``), and ``serial`` is host work that serialises across the stages
(a Python runner under the GIL): the period is at least ``k * serial``. Choice for replicas:
every input is handled by exactly one replica of each stage, so the host work per input is
one hand-off per *stage*, whatever the replica counts; replicas add workers, not host work
per input, hence ``k * serial`` (not ``N * serial``) and ``(cost_i + host) / r_i``. A plan on a
single device (``k = r_1 = 1``) runs without a runner and pays neither. So::

    period  = max(max_i (cost_i + host) / r_i, k * serial)      (cost(0, n) on one device)
    latency = sum_i (cost_i + host)

**A shared link** (``link``, optional): the replicas of a stage may share one host link (USB
devices on one host controller) and take turns for its transfers, ``link(i, j) <= cost(i, j)``
per input; the stage then passes at most one input per ``link_i`` however many replicas it
has, and its term is ``max((cost_i + host) / r_i, link_i)``. Without ``link`` every device has
a link of its own. A stage with one replica is unaffected (``link_i <= cost_i``).

**Objective.** The smallest period, then the fewest devices (the rest stay free), then the
smallest latency (the shortest pipeline fill: the lowest time per inference for a finite
batch and the lowest latency of one input). ``max_stages`` and ``max_replicas`` restrict
the plans: ``max_replicas=1`` is today's pure pipeline, ``max_stages=1`` pure replicas.

**Algorithm** (:func:`replica_partition`). The programme over states (stages ``t``, devices
``m``, prefix ``[0, j)``)::

    B[t][m][j] = min over i < j, r <= min(R, m) of max(B[t-1][m-r][i], (cost(i, j) + host) / r)

(the stage count is dropped from the state when neither ``serial`` nor ``max_stages``
needs it). Evaluations of ``cost`` are what cost time, so as :func:`~tpusplit.partition.
minmax` it evaluates segments lazily on a relaxation: with lower bounds ``lower(i, j) <=
cost(i, j)``, solve the programme with every unevaluated segment at its bound (a lower
bound on the optimum, lexicographically on (period, devices)), evaluate the at most ``k``
new segments of its optimum, repeat; when the optimum is fully evaluated it is optimal.
Prefix states worse than the best plan known are pruned from each round. Without bounds, or
when ``rounds`` run out, a forward programme evaluates, row by row, exactly the segments
that some prefix no worse than the best plan known can use with the replicas left and whose
bound does not exclude them: every segment of every optimal plan, so the latency tie-break
over evaluated segments is then exact. The latency tie-break is a second programme (fewest
devices per segment, ``r = ceil((cost + host) / period)``, summing latencies) with the same
lazy evaluation; exact when that settles within :data:`FILL_ROUNDS` rounds (or after the
forward programme), else the best plan over the evaluated segments (as ``minmax``'s
shortest-fill tie-break). The period and the device count are always exact.

**Complexity.** For ``N`` devices, ``R`` replicas at most and ``K`` stages at most, a
programme costs O(S n^2) numpy time with ``S`` the transitions between states: ``S = N R``
/ 2 about without the stage dimension (36 for N = R = 8), ``O(K N R)`` with it (120);
PipeDream's is O(n^2 N^2) without bounds. The lazy rounds each cost one programme and at
most ``K`` evaluations; the forward fallback O(S n^2) numpy time and at most n(n + 1) / 2
evaluations. Memory O(R n^2).

:func:`replica_brute_force` tries every cut set and every replica assignment: the oracle.

Size: over 400 lines because one algorithm (the replicated programme, its lazy rounds, forward
fallback and latency tie-break) with its brute-force oracle, which belongs beside it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass

import numpy as np

from tpusplit.partition.chain import Cost, spans

#: ``lower(i, j)``: a lower bound on ``cost(i, j)``, elementwise on integer numpy arrays.
Bound = Callable[[np.ndarray, np.ndarray], np.ndarray]

_INF = math.inf
#: Rounds of lazy evaluation on the relaxation before the forward programme takes over.
ROUNDS = 64
#: Rounds of lazy evaluation the latency tie-break may take before it settles for the best
#: plan of evaluated segments (as :data:`tpusplit.partition.dp.FILL_ROUNDS`).
FILL_ROUNDS = 32


@dataclass(frozen=True, slots=True)
class ReplicaPartition:
    """Cuts (where stages 2..k begin), the replicas of every stage, the period (time per
    input in steady state, host terms included) and the latency of one input."""

    cuts: tuple[int, ...]
    replicas: tuple[int, ...]
    value: float
    latency: float

    @property
    def devices(self) -> int:
        """Devices used: the sum of the replica counts."""
        return sum(self.replicas)

    @property
    def stages(self) -> int:
        """Number of stages."""
        return len(self.replicas)


def replica_value(n: int, cuts: Sequence[int], replicas: Sequence[int], cost: Cost,
                  host: float = 0.0, serial: float = 0.0, link: Cost | None = None
                  ) -> tuple[float, float]:
    """``(period, latency)`` of stages cut at ``cuts`` with ``replicas[s]`` copies of stage
    ``s`` (the module docstring's formulas; one device pays no host time; ``link``: the
    time a stage holds a link its replicas share)."""
    segs = spans(n, cuts)
    if len(segs) != len(replicas) or any(r < 1 for r in replicas):
        raise ValueError(f"{len(replicas)} replica counts (each >= 1) for {len(segs)} stages: "
                         f"{list(replicas)}")
    if sum(replicas) == 1:
        c = float(cost(0, n))
        return c, c
    period = len(segs) * serial
    latency = 0.0
    for (a, b), r in zip(segs, replicas, strict=True):
        w = float(cost(a, b)) + host
        period = max(period, w / r, float(link(a, b)) if link is not None and r > 1 else 0.0)
        latency += w
    return period, latency


def _limits(n: int, devices: int, host: float, serial: float, max_stages: int | None,
            max_replicas: int | None) -> tuple[int, int]:
    if n < 1 or devices < 1:
        raise ValueError(f"need at least one op and one device, got {n} ops, {devices} devices")
    if not (host >= 0 and serial >= 0 and math.isfinite(host) and math.isfinite(serial)):
        raise ValueError(f"host times must be finite and >= 0, got host={host}, "
                         f"serial={serial}")
    k = min(n, devices) if max_stages is None else min(max_stages, n, devices)
    r = devices if max_replicas is None else min(max_replicas, devices)
    if k < 1 or r < 1:
        raise ValueError(f"max_stages and max_replicas must be >= 1, got {max_stages}, "
                         f"{max_replicas}")
    return k, r


def replica_brute_force(n: int, devices: int, cost: Cost, *, host: float = 0.0,
                        serial: float = 0.0, max_stages: int | None = None,
                        max_replicas: int | None = None, link: Cost | None = None
                        ) -> ReplicaPartition:
    """Every number of stages, cut set and replica assignment: the oracle.

    Minimises (period, devices, latency) lexicographically (the first such plan in
    enumeration order). O(sum over k of C(n - 1, k - 1) C(N, k)) evaluations of the value.
    Raises ValueError when every plan has an infinite period.
    """
    max_k, max_r = _limits(n, devices, host, serial, max_stages, max_replicas)
    best: tuple[tuple[float, int, float], tuple[int, ...], tuple[int, ...]] | None = None
    for k in range(1, max_k + 1):
        for cuts in itertools.combinations(range(1, n), k - 1):
            for reps in itertools.product(range(1, max_r + 1), repeat=k):
                if sum(reps) > devices:
                    continue
                period, latency = replica_value(n, cuts, reps, cost, host, serial, link)
                key = (period, sum(reps), latency)
                if best is None or key < best[0]:
                    best = (key, cuts, reps)
    assert best is not None
    (period, _, latency), cuts, reps = best
    if not period < _INF:
        raise ValueError("no finite plan: every segment is impossible")
    return ReplicaPartition(cuts, reps, period, latency)


class _Solver:
    """One problem: its limits, its evaluations and the programmes over cost matrices."""

    def __init__(self, n: int, devices: int, cost: Cost, host: float, serial: float,
                 max_k: int, max_r: int, memo: MutableMapping[tuple[int, int], float],
                 link: Cost | None = None) -> None:
        self.n, self.big_n, self.host, self.serial = n, devices, host, serial
        self.max_k, self.max_r = max_k, max_r
        self.cost, self.memo, self.link = cost, memo, link
        # link(i, j) of the segments evaluated so far (0 elsewhere: a valid lower bound)
        self.floor = np.zeros((n + 1, n + 1))
        # the stage count matters only for the serial term or a limit below N stages
        self.track = serial > 0 or max_k < min(n, devices)
        self.states = self._states()
        self.rows = np.arange(n + 1)

    def c(self, i: int, j: int) -> float:
        v = self.memo.get((i, j))
        if v is None:
            v = self.memo[(i, j)] = float(self.cost(i, j))
        if self.link is not None and not self.floor[i, j]:
            self.floor[i, j] = float(self.link(i, j))
        return v

    def value(self, cuts: Sequence[int], reps: Sequence[int]) -> tuple[float, float]:
        """:func:`replica_value` of a plan under this problem's terms."""
        return replica_value(self.n, cuts, reps, self.c, self.host, self.serial, self.link)

    def _states(self) -> list[tuple[int, int, list[tuple[int, int, int]]]]:
        """``(t, m, [(t', m', r), ...])``: every state after the start and its predecessors
        (``t = 0`` throughout when the stage count is not tracked)."""
        out = []
        for m in range(1, self.big_n + 1):
            for t in (range(1, min(m, self.max_k) + 1) if self.track else (0,)):
                prev = []
                for r in range(1, min(self.max_r, m) + 1):
                    pt, pm = (t - 1 if self.track else 0), m - r
                    if (pm == 0 and pt == 0) or (pm >= 1 and pt >= (1 if self.track else 0)
                                               and pm >= pt):
                        prev.append((pt, pm, r))
                if prev:
                    out.append((t, m, prev))
        return out

    def scaled(self, w: np.ndarray, at: tuple[int, int] = (0, 0)) -> np.ndarray:
        """``(w + host) / r`` for ``r = 1 .. R`` (index ``r``; index 0 unused), at least the
        shared link's time for ``r >= 2``; ``w`` is the block of the cost matrix at ``at``."""
        out = np.empty((self.max_r + 1, *w.shape))
        out[0] = _INF
        base = w + self.host
        floor = self.floor[at[0]:at[0] + w.shape[0], at[1]:at[1] + w.shape[1]]
        for r in range(1, self.max_r + 1):
            out[r] = base / r if r == 1 else np.maximum(base / r, floor)
        return out

    def period(self, t: int, m: int, value: float, single: float) -> float:
        """The period of a finished plan in state ``(t, m)`` with stage maximum ``value``;
        ``single``: what one device costs (no host time)."""
        if m == 1:
            return single
        return max(value, t * self.serial) if self.track else value

    def best(self, w: np.ndarray, scaled: np.ndarray, bound: float = _INF
             ) -> tuple[float, int, tuple[int, ...], tuple[int, ...]] | None:
        """The lexicographically smallest (period, devices) under the cost matrix ``w``
        (``w[i, j]`` for ``i < j``, +inf elsewhere; ``scaled`` from :meth:`scaled`), with
        its cuts and replicas; prefix states above ``bound`` are pruned (no plan above it is
        wanted). None when no plan is finite (or none is at most ``bound``)."""
        n = self.n
        val: dict[tuple[int, int], np.ndarray] = {(0, 0): np.full(n + 1, _INF)}
        val[(0, 0)][0] = -_INF
        par: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        for t, m, prev in self.states:
            best = np.full(n + 1, _INF)
            arg_i = np.zeros(n + 1, dtype=np.int64)
            arg_r = np.zeros(n + 1, dtype=np.int64)
            for pt, pm, r in prev:
                before = val.get((pt, pm))
                if before is None:
                    continue
                alive = np.flatnonzero(before <= bound)
                if alive.size == 0:
                    continue
                lo, hi = int(alive[0]), int(alive[-1]) + 1  # rows between: exact, just worse
                cand = np.maximum(before[lo:hi, None], scaled[r][lo:hi, lo + 1:])
                a = cand.argmin(axis=0)
                v = cand[a, self.rows[:n - lo]]
                better = v < best[lo + 1:]
                best[lo + 1:][better] = v[better]
                arg_i[lo + 1:][better] = a[better] + lo
                arg_r[lo + 1:][better] = r
            val[(t, m)] = best
            par[(t, m)] = (arg_i, arg_r)
        single = float(w[0, n])
        found: tuple[float, int, int, int] | None = None
        for t, m, _ in self.states:
            p = self.period(t, m, float(val[(t, m)][n]), single)
            if p < _INF and p <= bound and (found is None or (p, m) < found[:2]):
                found = (p, m, t, m)
        if found is None:
            return None
        p, d, t, m = found
        if d == 1:
            return p, 1, (), (1,)
        cuts, reps = self._walk(par, t, m)
        return p, d, cuts, reps

    def _walk(self, par: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]], t: int,
              m: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        cuts: list[int] = []
        reps: list[int] = []
        j = self.n
        while m > 0:
            i, r = int(par[(t, m)][0][j]), int(par[(t, m)][1][j])
            reps.append(r)
            if i > 0:
                cuts.append(i)
            j, m, t = i, m - r, (t - 1 if self.track else 0)
        return tuple(reversed(cuts)), tuple(reversed(reps))

    def fewest(self, scaled: np.ndarray, period: float) -> np.ndarray:
        """``rmin[i, j]``: the fewest replicas keeping segment ``[i, j)`` within ``period``
        (0: none does); ``scaled`` from :meth:`scaled`."""
        ok = scaled[1:] <= period  # (R, n+1, n+1)
        out: np.ndarray = np.where(ok.any(axis=0), ok.argmax(axis=0) + 1, 0)
        return out

    def by_replicas(self, w: np.ndarray, rmin: np.ndarray) -> np.ndarray:
        """``out[r, i, j]``: the latency ``w[i, j] + host`` where ``r`` replicas are the fewest
        that keep the segment within the period (``rmin``, :meth:`fewest`), +inf elsewhere."""
        lat = w + self.host
        return np.stack([np.where(rmin == r, lat, _INF) for r in range(self.max_r + 1)])

    def shortest(self, by_r: np.ndarray, period: float, devices: int
                 ) -> tuple[float, tuple[int, ...], tuple[int, ...]] | None:
        """Among plans with period <= ``period`` on at most ``devices`` devices (at least
        two), the smallest latency, with each stage on the fewest replicas that keep it within
        ``period`` (``by_r``, :meth:`by_replicas`): ``(latency, cuts, replicas)``, or None."""
        n = self.n
        val: dict[tuple[int, int], np.ndarray] = {(0, 0): np.full(n + 1, _INF)}
        val[(0, 0)][0] = 0.0
        par: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        for t, m, prev in self.states:
            if m > devices or (self.track and t * self.serial > period):
                continue
            best = np.full(n + 1, _INF)
            arg_i = np.zeros(n + 1, dtype=np.int64)
            arg_r = np.zeros(n + 1, dtype=np.int64)
            for pt, pm, r in prev:
                before = val.get((pt, pm))
                if before is None:
                    continue
                alive = np.flatnonzero(before < _INF)
                if alive.size == 0:
                    continue
                lo, hi = int(alive[0]), int(alive[-1]) + 1
                cand = before[lo:hi, None] + by_r[r][lo:hi, lo + 1:]
                a = cand.argmin(axis=0)
                v = cand[a, self.rows[:n - lo]]
                better = v < best[lo + 1:]
                best[lo + 1:][better] = v[better]
                arg_i[lo + 1:][better] = a[better] + lo
                arg_r[lo + 1:][better] = r
            val[(t, m)] = best
            par[(t, m)] = (arg_i, arg_r)
        found: tuple[float, int, int] | None = None
        for (t, m), v in val.items():
            if m >= 2 and v[n] < _INF and (found is None or float(v[n]) < found[0]):
                found = (float(v[n]), t, m)
        if found is None:
            return None
        total, t, m = found
        cuts, reps = self._walk(par, t, m)
        return total, cuts, reps

    def forward(self, low: np.ndarray, incumbent: float) -> None:
        """Evaluate every segment that a plan with period <= the best known can use (see
        the module docstring): afterwards every segment of every optimal plan is in
        ``memo``. ``low``: lower bounds (-inf without); ``incumbent``: a known period."""
        n, big_n = self.n, self.big_n
        scaled_low = self.scaled(low)
        bound = incumbent
        val: dict[tuple[int, int], np.ndarray] = {(0, 0): np.full(n + 1, _INF)}
        val[(0, 0)][0] = -_INF
        for t, m, _ in self.states:
            val[(t, m)] = np.full(n + 1, _INF)
        nxt: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
        for t, m, prev in self.states:
            for pt, pm, r in prev:
                nxt.setdefault((pt, pm), []).append((t, m, r))
        keys = [(0, 0), *((t, m) for t, m, _ in self.states)]
        for i in range(n):
            alive = [(s, float(val[s][i])) for s in keys if val[s][i] <= bound and s in nxt]
            if not alive:
                continue
            spare = max(min(self.max_r, big_n - s[1]) for s, _ in alive)
            if spare < 1:
                continue
            cols = np.flatnonzero(scaled_low[spare][i] <= bound)
            if cols.size == 0:
                continue
            row = np.array([self.c(i, int(j)) for j in cols])
            seg = np.full(n + 1, _INF)
            seg[cols] = row + self.host
            floor = self.floor[i]
            for s, v in alive:
                for t, m, r in nxt[s]:
                    term = seg / r if r == 1 else np.maximum(seg / r, floor)
                    np.minimum(val[(t, m)], np.maximum(v, term), out=val[(t, m)])
            single = self.c(0, n) if i == 0 else _INF
            for t, m, _ in self.states:
                p = self.period(t, m, float(val[(t, m)][n]), single if m == 1 else _INF)
                bound = min(bound, p)


def replica_partition(n: int, devices: int, cost: Cost, *, lower: Bound | None = None,
                      host: float = 0.0, serial: float = 0.0, max_stages: int | None = None,
                      max_replicas: int | None = None,
                      known: MutableMapping[tuple[int, int], float] | None = None,
                      rounds: int = ROUNDS, link: Cost | None = None) -> ReplicaPartition:
    """The exact best replicated pipeline of ops ``[0, n)`` on at most ``devices`` devices.

    Parameters
    ----------
    n, devices : int
        Ops (``>= 1``) and identical devices (``N >= 1``).
    cost : callable
        ``cost(i, j)``, the time of segment ``[i, j)`` on one device (``inf``: impossible);
        called at most once per segment, only where it can matter.
    lower : callable, optional
        ``lower(i, j) <= cost(i, j)``, evaluated once on integer arrays of every ``i < j``;
        guides the lazy evaluation (see the module docstring).
    host : float
        Host time per stage and input, added to every stage's time (plans on more than one
        device).
    serial : float
        Host time per stage and input that serialises across stages: the period is at least
        ``stages * serial`` (plans on more than one device).
    max_stages, max_replicas : int, optional
        At most this many stages (1: pure replicas) or replicas per stage (1: a pure
        pipeline). Default: no limit but ``devices`` (and ``n`` stages).
    known : mutable mapping, optional
        ``(i, j) -> cost`` already evaluated; shared, new evaluations are added.
    rounds : int
        Rounds of lazy evaluation with ``lower`` before the forward programme.
    link : callable, optional
        ``link(i, j) <= cost(i, j)``: the time a stage holds a host link that its replicas
        share (module docstring); None: a link per device.

    Returns
    -------
    ReplicaPartition
        The smallest period, then fewest devices, then smallest latency.

    Raises
    ------
    ValueError
        Bad counts or host times, or no finite plan.

    Notes
    -----
    See the module docstring for the recurrence, the host terms and the complexity.
    """
    max_k, max_r = _limits(n, devices, host, serial, max_stages, max_replicas)
    memo: MutableMapping[tuple[int, int], float] = {} if known is None else known
    solver = _Solver(n, devices, cost, host, serial, max_k, max_r, memo, link)
    low = np.full((n + 1, n + 1), _INF)
    iu, ju = np.triu_indices(n + 1, 1)
    if lower is None:
        low[iu, ju] = -_INF
    else:
        low[iu, ju] = np.broadcast_to(np.asarray(lower(iu, ju), dtype=np.float64), iu.shape)
    mixed = low.copy()  # evaluated segments at their value, the others at their bound
    for a, b in list(memo):
        if 0 <= a < b <= n:
            mixed[a, b] = solver.c(a, b)
    mixed[0, n] = solver.c(0, n)
    # incumbent: the whole model on one device or on every replica allowed (one evaluation)
    inc: tuple[tuple[int, ...], tuple[int, ...]] = ((), (1,))
    inc_p, inc_d = solver.c(0, n), 1
    whole = solver.value((), (max_r,))[0]
    if whole < inc_p:
        inc_p, inc_d, inc = whole, max_r, ((), (max_r,))
    proved: tuple[float, int] | None = None
    if lower is not None:
        scaled = solver.scaled(mixed)
        for _ in range(rounds):
            got = solver.best(mixed, scaled, inc_p)
            if got is None:
                break
            p, d, cuts, reps = got
            todo = [seg for seg in spans(n, cuts) if seg not in memo]
            if not todo:
                proved = (p, d)
                if (p, d) < (inc_p, inc_d):
                    inc_p, inc_d, inc = p, d, (cuts, reps)
                break
            for a, b in todo:
                mixed[a, b] = solver.c(a, b)
                scaled[:, a, b] = solver.scaled(mixed[a:a + 1, b:b + 1], (a, b))[:, 0, 0]
            true_p = solver.value(cuts, reps)[0]
            if (true_p, sum(reps)) < (inc_p, inc_d):
                inc_p, inc_d, inc = true_p, sum(reps), (cuts, reps)
    if proved is None:  # no bounds, or not settled: the forward programme decides
        solver.forward(low, inc_p)
        full = np.full((n + 1, n + 1), _INF)
        for a, b in list(memo):
            if 0 <= a < b <= n:
                full[a, b] = solver.c(a, b)
        got = solver.best(full, solver.scaled(full))
        if got is None:
            raise ValueError("no finite plan: every segment is impossible")
        p, d, cuts, reps = got
        inc_p, inc_d, inc = p, d, (cuts, reps)
        mixed = full
        settled = True
    else:
        settled = False
    if not inc_p < _INF:
        raise ValueError("no finite plan: every segment is impossible")
    if inc_d == 1:
        c = solver.c(0, n)
        return ReplicaPartition((), (1,), c, c)
    cuts, reps = _shortest(solver, mixed, inc_p, inc_d, inc, settled, min(rounds, FILL_ROUNDS))
    period, latency = solver.value(cuts, reps)
    return ReplicaPartition(cuts, reps, period, latency)


def _shortest(solver: _Solver, mixed: np.ndarray, period: float, devices: int,
              plan: tuple[tuple[int, ...], tuple[int, ...]], settled: bool,
              rounds: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The latency tie-break among plans of ``period`` on ``devices``: lazy evaluation on the
    relaxation when segments are unevaluated (``not settled``; exact when it settles within
    ``rounds``), then the best plan over the evaluated segments."""
    n, memo = solver.n, solver.memo
    current = solver.value(plan[0], plan[1])[1]
    w = mixed.copy()
    if not settled:
        by_r = solver.by_replicas(w, solver.fewest(solver.scaled(w), period))
        for _ in range(rounds):
            got = solver.shortest(by_r, period, devices)
            if got is None:
                return plan
            _, cuts, _ = got
            todo = [seg for seg in spans(n, cuts) if seg not in memo]
            if not todo:
                break
            for a, b in todo:
                w[a, b] = solver.c(a, b)
                one = w[a:a + 1, b:b + 1]
                by_r[:, a, b] = solver.by_replicas(one, solver.fewest(solver.scaled(one, (a, b)),
                                                                       period))[:, 0, 0]
        w = np.full((n + 1, n + 1), _INF)
        for a, b in list(memo):
            if 0 <= a < b <= n:
                w[a, b] = solver.c(a, b)
    got = solver.shortest(solver.by_replicas(w, solver.fewest(solver.scaled(w), period)),
                          period, devices)
    if got is None:
        return plan
    total, cuts, reps = got
    return (cuts, reps) if total < current else plan
