"""Coral runner compatibility: segments whose outputs are exactly the next segment's inputs.

libcoral's ``PipelinedModelRunner`` (and pycoral's wrapper) feeds segment ``i + 1`` with the
output tensors of segment ``i`` and nothing else: the caller pushes the inputs of segment 0
only, a tensor produced in segment ``i`` reaches segment ``i + 2`` only if segment ``i + 1``
outputs it, ``pop()`` returns the outputs of the last segment only, and the runner checks that
every intermediate output is consumed by the next segment. tpusplit's own runner carries any
tensor in host memory (:mod:`tpusplit.pipeline.runner`), so a plain split that runs bit-exact
there can still be refused, or lose a model output, in Coral's runner. Two tensors break the
chain: a model output produced before the last segment, and a tensor (a model input, or a long
skip connection) used two or more segments after the one producing it.

The rule is a property of each segment alone. Let ``X(k)`` be what must be alive at cut ``k``:
the tensors crossing it (:meth:`~tpusplit.graph.Graph.crossing`), plus the model outputs
produced before it; ``X(0)`` is the model inputs and ``X(n)`` the model outputs. A chain of
segments satisfies Coral's rule exactly when, for every segment ``[a, b)``, nothing is alive
at both of its ends: ``X(a) & X(b)`` is empty (:func:`carried`). Then the outputs of each
segment are exactly the inputs of the next, the inputs of the first are the model's inputs
and the outputs of the last the model's outputs.

Two ways to obey it, both here:

* **carry** (tpusplit's default for Edge TPU plans): segment ``[a, b)`` also takes every tensor
  of ``X(a) & X(b)`` as an input and hands it on unchanged as an output of the same name (a
  pass-through: no op touches it, so the Edge TPU never sees it; the runner copies it in host
  memory). Any cut then works, and outputs stay bit-exact. :func:`coral_io`,
  :func:`extract_coral`, :func:`split_coral`.
* **exclude**: only segments with nothing to carry are allowed (:func:`compatible`); the
  ``--coral exclude`` planning mode gives the others an infinite cost, so no strategy picks
  them. No pass-through tensor in any file, at the price of far fewer usable cuts (on a
  model with an early output, every cut must come before it).

:func:`chain_violations` checks the rule on the inputs and outputs of segment files (what
Coral's runner would check), :func:`violations` on a graph and cuts written without carrying.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from tpusplit.graph.graph import Graph
from tpusplit.graph.slicing import Segment, _segment_model, bounds, unique_names

#: The planning modes of ``--coral``.
MODES = ("carry", "exclude", "off")


def alive(graph: Graph, k: int) -> frozenset[int]:
    """``X(k)``: the tensors alive at cut ``k`` (see the module docstring)."""
    return _alive(graph)[k]


@lru_cache(maxsize=16)
def _alive(graph: Graph) -> tuple[frozenset[int], ...]:
    out: list[frozenset[int]] = [frozenset(graph.inputs)]
    for k in range(1, len(graph.ops) + 1):
        live = set(graph.crossing(k))
        live.update(t for t in graph.outputs if graph.producer[t] < k)
        out.append(frozenset(live))
    return tuple(out)


def carried(graph: Graph, start: int, end: int) -> tuple[int, ...]:
    """The tensors segment ``[start, end)`` must hand on untouched for Coral's runner: alive
    both before and after it (produced earlier, needed later or a model output). Sorted by
    tensor index. Empty for a segment that needs no carrying."""
    live = _alive(graph)
    return tuple(sorted(live[start] & live[end]))


def compatible(graph: Graph, start: int, end: int) -> bool:
    """True when segment ``[start, end)`` needs nothing carried through it."""
    live = _alive(graph)
    return live[start].isdisjoint(live[end])


def coral_io(graph: Graph, start: int, end: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Inputs and outputs of segment ``[start, end)`` with the carried tensors added.

    Inputs: the segment's own (:meth:`~tpusplit.graph.Graph.segment_io`), then the carried
    tensors it does not read. Outputs: the model outputs it produces or carries, in model
    order, then its other outputs, then the other carried tensors.
    """
    ins, outs = graph.segment_io(start, end)
    carry = carried(graph, start, end)
    inputs = ins + tuple(t for t in carry if t not in ins)
    model_out = {t: k for k, t in enumerate(graph.outputs)}
    mine = [t for t in outs if t not in model_out]
    extra = [t for t in carry if t not in model_out and t not in outs]
    firsts = sorted({*(t for t in outs if t in model_out), *(t for t in carry if t in model_out)},
                    key=lambda t: model_out[t])
    return inputs, tuple(firsts + mine + extra)


def coral_segments(graph: Graph, cuts: Sequence[int]) -> list[Segment]:
    """The segments of ``graph`` cut at ``cuts``, wired for Coral's runner (:func:`coral_io`)."""
    return [Segment(s, a, b, *coral_io(graph, a, b))
            for s, (a, b) in enumerate(bounds(graph, cuts))]


def extract_coral(graph: Graph, start: int, end: int) -> bytes:
    """The standalone model of ops ``[start, end)`` with its carried tensors (what
    :func:`split_coral` writes for it), e.g. to compile or profile that very file."""
    seg = Segment(0, start, end, *coral_io(graph, start, end))
    return _segment_model(graph, seg, unique_names(graph))


def split_coral(graph: Graph, cuts: Sequence[int]) -> list[bytes]:
    """Like :func:`~tpusplit.graph.split` but every segment's outputs are the next one's
    inputs (tensors alive across a segment pass through it): runnable by libcoral's
    ``PipelinedModelRunner`` as well as by tpusplit's runner, bit-exact with the model."""
    names = unique_names(graph)
    return [_segment_model(graph, seg, names) for seg in coral_segments(graph, cuts)]


def violations(graph: Graph, cuts: Sequence[int]) -> list[str]:
    """Why a plain split at ``cuts`` would not run in Coral's runner (empty: it would)."""
    names = unique_names(graph)
    out = []
    for s, (a, b) in enumerate(bounds(graph, cuts)):
        for t in carried(graph, a, b):
            out.append(f"segment {s} (ops [{a}, {b})): tensor {names[t]!r} "
                       f"{_why(graph, t, a, b)} but is not an output of this segment")
    return out


def _why(graph: Graph, t: int, a: int, b: int) -> str:
    if t in graph.inputs:
        return "is a model input read after it"
    if t in graph.outputs and not any(u >= b for u in graph.consumers[t]):
        return f"is a model output produced before op {a}"
    return f"is produced before op {a} and read at or after op {b}"


def chain_violations(ios: Sequence[tuple[Sequence[str], Sequence[str]]],
                     model_inputs: Sequence[str] | None = None,
                     model_outputs: Sequence[str] | None = None) -> list[str]:
    """Check Coral's rule on segments given as ``(input names, output names)`` in pipeline
    order: each segment's outputs are exactly the next one's inputs; with ``model_inputs`` /
    ``model_outputs``, the first segment reads only model inputs and the last one produces
    every model output. Returns one line per problem (empty: Coral's runner takes them)."""
    out: list[str] = []
    for i in range(len(ios) - 1):
        produced, wanted = set(ios[i][1]), set(ios[i + 1][0])
        for name in sorted(produced - wanted):
            out.append(f"segment {i} outputs {name!r}, which segment {i + 1} does not read "
                       "(Coral's runner needs every output consumed by the next segment)")
        for name in sorted(wanted - produced):
            out.append(f"segment {i + 1} reads {name!r}, which segment {i} does not output "
                       "(Coral's runner feeds a segment only its predecessor's outputs)")
    if ios and model_inputs is not None:
        for name in sorted(set(ios[0][0]) - set(model_inputs)):
            out.append(f"segment 0 reads {name!r}, which is not a model input")
    if ios and model_outputs is not None:
        for name in sorted(set(model_outputs) - set(ios[-1][1])):
            out.append(f"model output {name!r} is not an output of the last segment "
                       "(Coral's runner returns the last segment's outputs only)")
    return out
