"""The ops a layer split adds are ones Coral's compiler maps to the Edge TPU (by the mapping
rule of :mod:`tpusplit.graph.edgetpu_part`; the real compiler is not here to ask)."""

from __future__ import annotations

import pytest

import tpusplit
from tpusplit.files import data_dir
from tpusplit.graph.edgetpu_part import edgetpu_ops
from tpusplit.graph.layer_split import propose, split_graph
from tpusplit.models.synthetic import conv, fc
from tpusplit.strategies.split_layers import splittable

CORAL = data_dir() / "coral-reference" / "models"


@pytest.mark.parametrize("name", ["conv", "fc", "mobilenet_v1", "mobilenet_v2"])
def test_every_new_op_maps_to_the_edge_tpu(name: str) -> None:
    data = {"conv": lambda: conv(256, size=16), "fc": lambda: fc(1024),
            "mobilenet_v1": lambda: (CORAL / "mobilenet_v1_0.75_192_quant.tflite").read_bytes(),
            "mobilenet_v2": lambda: (CORAL / "mobilenet_v2_1.0_224_quant.tflite").read_bytes()
            }[name]()
    graph = tpusplit.load(data)
    cands = splittable(graph, min_bytes=1)
    assert cands, "expected layers to split"
    kinds = {c.kind for c in cands}
    rewritten = split_graph(graph, [propose(graph, c.op, min(c.slices, 4)) for c in cands])
    before = len(graph.ops) - len(edgetpu_ops(graph.model))
    after = len(rewritten.ops) - len(edgetpu_ops(rewritten.model))
    assert after == before, f"{after - before} new op(s) left on the CPU ({kinds})"
    assert len(rewritten.ops) > len(graph.ops)
