"""Cuts inside a layer: plan on a chain refined by slicing large layers by output channels.

Every partitioner cuts between layers, so a layer larger than an Edge TPU's cache share always
lands whole on one TPU. :func:`plan_split_layers` lets any strategy cut inside a layer:

1. **Candidates** (:func:`splittable`): every ``CONV_2D``, ``DEPTHWISE_CONV_2D`` and
   ``FULLY_CONNECTED`` op with at least ``min_bytes`` of parameters, proposed into up to
   ``max_slices`` slices at multiples of ``granularity`` output channels (the Edge TPU's
   64-wide array; :func:`tpusplit.graph.layer_split.propose`).
2. **Refined chain**: the model with every candidate split (:func:`~tpusplit.graph.
   layer_split.split_layers`, bit-exact), costed by the caller's cost source: a slice costs
   its share, and a cut between slices carries the layer's input and the slices done so far
   (the graph's crossing tensors). The strategy plans the refined chain as any other
   (``optimal`` stays exact on it: every whole-layer plan is a refined plan).
3. **Final rewrite**: the refined plan as it is, or, when as fast, its cuts on a model where
   only the layers a cut falls inside stay split, at the channels the cuts chose (slices in
   one segment merged back), re-costed on that model. Slices help even where no cut falls
   inside: the Edge TPU caches whole layers in order, so the slices of a layer too large
   for what is left of the cache are cached one by one and only the rest streams. If
   neither is faster than the best whole-layer plan of the same strategy, that plan is
   returned.

The plan records the rewrite (``layer_splits``, with the original model's op count and
fingerprint), so ``split``, ``run`` and ``simulate`` rebuild the same model from the
original; ``run --check`` compares with the original model.

Complexity: the strategy's own on a chain of at most ``n + (2 max_slices) c`` ops for ``c``
candidates (ResNet-152: 50 candidates onto 8 TPUs in a fraction of a second with ``optimal``
on the Edge TPU model), plus three rewrites (each O(model size)).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tpusplit.costs.base import CostSource
from tpusplit.graph import Graph
from tpusplit.graph.layer_split import (
    EDGETPU_CHANNELS,
    SPLITTABLE,
    LayerSplit,
    layer_channels,
    op_ranges,
    propose,
    split_graph,
)
from tpusplit.strategies.base import Plan, Timer, make_plan
from tpusplit.units import MiB

#: Layers with fewer parameter bytes are not split (a slice of a small layer buys nothing).
MIN_BYTES = MiB
#: At most this many slices per layer on the refined chain.
MAX_SLICES = 16

Planner = Callable[[Graph, int, CostSource], Plan]


@dataclass(frozen=True)
class Splittable:
    """A layer that can be cut inside: op index, type, output channels, parameter bytes and
    how many slices the refined chain gives it."""

    op: int
    kind: str
    channels: int
    param_bytes: int
    slices: int


def splittable(graph: Graph, min_bytes: int = MIN_BYTES, granularity: int = EDGETPU_CHANNELS,
               max_slices: int = MAX_SLICES) -> list[Splittable]:
    """The layers of ``graph`` a plan may cut inside (module docstring), in op order. O(n)."""
    out = []
    for i, op in enumerate(graph.ops):
        if op.name not in SPLITTABLE:
            continue
        size = graph.segment_param_bytes(i, i + 1)
        if size < min_bytes:
            continue
        channels, multiplier = layer_channels(graph, i)
        step = math.lcm(granularity, multiplier)
        units = -(-channels // step)
        if units >= 2:
            out.append(Splittable(i, op.name, channels, size, min(max_slices, units)))
    return out


@dataclass(frozen=True)
class SplitPlan:
    """A plan that may cut inside layers: the plan (on ``graph``, the rewritten model, or the
    original when no cut inside a layer helps), the refined chain's plan, and the best
    whole-layer plan it was checked against."""

    plan: Plan
    graph: Graph
    refined: Plan
    whole: Plan


def _where(graph: Graph, splits: Sequence[LayerSplit], cut: int
           ) -> tuple[int, int | None]:
    """Where refined cut ``cut`` falls on the original graph: ``(i, None)`` before original
    op ``i``, or ``(i, channel)`` inside op ``i`` before output channel ``channel``."""
    ranges = op_ranges(graph, splits)
    by_op = {s.op: s for s in splits}
    for i, r in enumerate(ranges):
        if cut == r.start:
            return i, None
        if r.start < cut < r.stop:
            s = by_op[i]
            k = s.count
            offset = cut - r.start
            if graph.ops[i].name == "DEPTHWISE_CONV_2D":
                offset -= k  # after the k SLICE ops of the inputs
                if offset <= 0:  # between SLICE ops: nothing computed yet
                    return i, None
            if offset >= k:  # after the last slice, before the concatenation
                return i + 1, None
            return i, s.boundaries[offset - 1]
    return len(graph.ops), None


def _final_cut(graph: Graph, splits: Sequence[LayerSplit], where: tuple[int, int | None]
               ) -> int:
    """The op index of the final rewritten model where the cut ``where`` falls."""
    i, channel = where
    ranges = op_ranges(graph, splits)
    if i >= len(ranges):
        return ranges[-1].stop
    if channel is None:
        return ranges[i].start
    s = next(x for x in splits if x.op == i)
    j = s.boundaries.index(channel) + 1
    skip = s.count if graph.ops[i].name == "DEPTHWISE_CONV_2D" else 0
    return ranges[i].start + skip + j


def _minimal(graph: Graph, proposed: Sequence[LayerSplit], refined: Plan,
             make_cost: Callable[[Graph], CostSource]
             ) -> tuple[Plan, Graph, list[LayerSplit]] | None:
    """The refined plan's cuts on a model where only the layers a cut falls inside are split,
    at the channels the cuts chose (slices of one segment merged), or None when no cut falls
    inside a layer or the mapping would merge segments."""
    places = [_where(graph, proposed, c) for c in refined.cuts]
    inside: dict[int, set[int]] = {}
    for i, channel in places:
        if channel is not None:
            inside.setdefault(i, set()).add(channel)
    if not inside:
        return None
    splits = [LayerSplit(i, tuple(sorted(b))) for i, b in sorted(inside.items())]
    final_graph = split_graph(graph, splits)
    cuts = sorted({_final_cut(graph, splits, w) for w in places})
    if len(cuts) != len(refined.cuts) or any(c <= 0 or c >= len(final_graph.ops)
                                             for c in cuts):
        return None
    cost = make_cost(final_graph)
    plan = make_plan(refined.strategy, final_graph, cost, cuts, Timer(cost),
                     batch=refined.batch, notes=refined.notes, replicas=refined.replicas)
    return plan, final_graph, splits


def plan_split_layers(graph: Graph, num_devices: int, make_cost: Callable[[Graph], CostSource],
                      planner: Planner, *, min_bytes: int = MIN_BYTES,
                      granularity: int = EDGETPU_CHANNELS, max_slices: int = MAX_SLICES,
                      whole: Plan | None = None) -> SplitPlan:
    """Plan ``graph`` for ``num_devices`` with ``planner`` (a strategy: ``fn(graph, n,
    cost)``), letting it cut inside large layers (module docstring). ``make_cost`` builds
    the cost source of a graph (the same kind for the original, refined and final models);
    ``whole``: the whole-layer plan if already made."""
    t0 = time.perf_counter()
    base = whole if whole is not None else planner(graph, num_devices, make_cost(graph))
    candidates = splittable(graph, min_bytes, granularity, max_slices)
    if not candidates:
        return SplitPlan(base, graph, base, base)
    proposed = [propose(graph, c.op, c.slices, granularity) for c in candidates]
    refined_graph = split_graph(graph, proposed)
    refined = planner(refined_graph, num_devices, make_cost(refined_graph))
    options: list[tuple[Plan, Graph, list[LayerSplit]]] = [(refined, refined_graph, proposed)]
    minimal = _minimal(graph, proposed, refined, make_cost)
    if minimal is not None:
        options.insert(0, minimal)  # fewer ops: preferred when as fast
    plan, final_graph, final_splits = min(options, key=lambda o: o[0].bottleneck_ms)
    if not plan.bottleneck_ms < base.bottleneck_ms * (1 - 1e-9):
        note = (f"no cut inside a layer beats the whole-layer plan (best found "
                f"{plan.bottleneck_ms:.3f} ms, whole layers {base.bottleneck_ms:.3f} ms)")
        return SplitPlan(replace(base, notes=(*base.notes, note)), graph, refined, base)
    layers = ", ".join(f"op {s.op} at channels {list(s.boundaries)}" for s in final_splits)
    plan = replace(plan, notes=(*plan.notes, f"{len(final_splits)} layer(s) split: {layers}"),
                   layer_splits=tuple(final_splits), source_ops=len(graph.ops),
                   source_fingerprint=graph.fingerprint,
                   cost_evaluations=plan.cost_evaluations + refined.cost_evaluations
                   + base.cost_evaluations, solve_seconds=time.perf_counter() - t0)
    return SplitPlan(plan, final_graph, refined, base)
