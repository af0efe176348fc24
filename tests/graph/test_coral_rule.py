"""Coral runner compatibility on every plan the strategies produce for the branching nets.

libcoral's ``PipelinedModelRunner`` feeds each segment its predecessor's outputs only and
returns the last segment's outputs only. :class:`CoralRunner` below does exactly that (and
refuses segments that break the chain, as libcoral does), on LiteRT: segments pass when it
accepts them and its results equal the whole model's, bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from tpusplit.costs.coral_runner import CoralExclude, check_plan, coral_note, for_coral
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load, split
from tpusplit.graph.coral import (
    carried,
    chain_violations,
    compatible,
    extract_coral,
    split_coral,
    violations,
)
from tpusplit.models.random_net import random_net
from tpusplit.pipeline import LiteRTStage, random_inputs
from tpusplit.pipeline.assemble import io_names
from tpusplit.predictor import Predictor
from tpusplit.strategies import names, plan

SEEDS = range(6)


class CoralRunner:
    """What libcoral's runner does with segments: push feeds segment 0, segment i + 1 gets
    segment i's outputs (by name) and nothing else, pop returns the last segment's outputs.
    The constructor refuses a chain where an output is not consumed by the next segment."""

    def __init__(self, stages: Sequence[LiteRTStage]) -> None:
        ios = [(s.input_names, s.output_names) for s in stages]
        problems = chain_violations(ios)
        if problems:
            raise ValueError(problems[0])
        self.stages = stages

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = {n: feeds[n] for n in self.stages[0].input_names}
        for st in self.stages:
            tensors = st.run({n: tensors[n] for n in st.input_names})
        return tensors


class ModelPredictor(Predictor):
    """A predictor for predicted/hybrid: the Edge TPU model, 10% high."""

    kind = "edgetpu-model"

    def fit(self, data: Any) -> ModelPredictor:
        return self

    def predict_spans(self, graph: Any, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        g = getattr(graph, "graph", graph)
        cost = EdgeTPUCost(g, "edgetpu-usb3")
        return np.array([1.1 * cost.latency(a, b) for a, b in spans])

    def _predict(self, vectors: np.ndarray, tokens: Sequence[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> ModelPredictor:
        return cls()


@pytest.fixture(scope="module")
def nets() -> list[tuple[bytes, Graph]]:
    return [(data, load(data, name=f"net{s}")) for s in SEEDS
            for data in [random_net(s)]]


@pytest.fixture(autouse=True)
def predictor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tpusplit.strategies.predicted.find_predictor",
                        lambda device: ModelPredictor())


def _check_coral(data: bytes, graph: Graph, blobs: list[bytes], where: str) -> None:
    stages = [LiteRTStage(b) for b in blobs]
    ins, outs = io_names(graph)
    ios = [(s.input_names, s.output_names) for s in stages]
    assert chain_violations(ios, ins, outs) == [], where
    whole = LiteRTStage(data)
    for seed in range(2):
        feeds = random_inputs(whole, seed=seed)
        want = whole.run(feeds)
        got = CoralRunner(stages).run(feeds)
        assert set(got) == set(want), where
        for name, value in want.items():
            assert np.array_equal(got[name], value), (where, name)


def test_plain_splits_break_the_rule_on_the_branching_nets(nets: list[tuple[bytes, Graph]]
                                                            ) -> None:
    """The bug of issue 10: a side output in a middle segment, lost by Coral's runner."""
    data, g = nets[0]
    side = g.output_ops[0]
    cuts = [side - 2, side + 3]
    problems = violations(g, cuts)
    assert problems and "model output" in problems[0]
    stages = [LiteRTStage(b) for b in split(g, cuts)]
    with pytest.raises(ValueError, match="does not read"):
        CoralRunner(stages)
    _check_coral(data, g, split_coral(g, cuts), "carry fixes it")


@pytest.mark.parametrize("tpus", [2, 3, 4])
def test_every_strategy_plan_runs_in_coral_runner_when_carried(
        nets: list[tuple[bytes, Graph]], tpus: int) -> None:
    for data, g in nets:
        cost = for_coral(EdgeTPUCost(g, "edgetpu-usb3"), "carry")
        for strategy in names():
            try:
                p = plan(g, tpus, cost, strategy)
            except TpusplitError as exc:  # the compiler rule refuses early side outputs
                assert strategy in ("compiler", "profiled"), exc
                continue
            where = f"{g.name} {strategy} {p.cuts}"
            _check_coral(data, g, split_coral(g, list(p.cuts)), where)
            assert coral_note(g, p.cuts, "carry").startswith("coral: carry")


@pytest.mark.parametrize("tpus", [2, 3])
def test_excluding_plans_need_no_carrying(nets: list[tuple[bytes, Graph]], tpus: int) -> None:
    for data, g in nets:
        cost = for_coral(EdgeTPUCost(g, "edgetpu-usb3"), "exclude")
        assert isinstance(cost, CoralExclude)
        produced = 0
        for strategy in names():
            try:
                p = plan(g, tpus, cost, strategy)
                check_plan(g, p.cuts, strategy, "exclude")
            except TpusplitError as exc:
                assert "Coral" in str(exc) or "first output" in str(exc), exc
                continue
            produced += 1
            assert violations(g, list(p.cuts)) == []
            assert all(carried(g, s.start, s.end) == () for s in p.segments)
            # no pass-through needed: the plain split already satisfies the rule
            _check_coral(data, g, split(g, list(p.cuts)), f"{g.name} {strategy} exclude")
        assert produced >= 2  # optimal and balanced at least (predicted ignores the rule)


def test_exclusion_costs_inf_and_is_never_evaluated() -> None:
    g = load(random_net(0))
    inner = EdgeTPUCost(g, "edgetpu-usb3")
    cost = CoralExclude(inner)
    n = len(g.ops)
    bad = [(a, b) for a in range(n) for b in range(a + 1, n + 1) if not compatible(g, a, b)]
    assert bad
    for a, b in bad[:20]:
        assert cost.latency(a, b) == float("inf")
    assert inner.evaluations == 0 and cost.excluded == 20
    opt = plan(g, 3, cost, "optimal")
    carry = plan(g, 3, EdgeTPUCost(g, "edgetpu-usb3"), "optimal")
    assert opt.bottleneck_ms >= carry.bottleneck_ms  # the price of excluding


def test_extract_coral_is_the_split_segment() -> None:
    g = load(random_net(1))
    cuts = [6, 15, 22]
    blobs = split_coral(g, cuts)
    edges = [0, *cuts, len(g.ops)]
    for k, blob in enumerate(blobs):
        assert extract_coral(g, edges[k], edges[k + 1]) == blob


def test_split_json_names_the_pass_through_tensors(cli: Any, tmp_path: Any) -> None:
    import json

    model = tmp_path / "net.tflite"
    model.write_bytes(random_net(3))
    g = load(model)
    side = g.output_ops[0]
    code, out, err = cli("split", model, "--cuts", f"{side - 2},{side + 3}", "-o",
                         tmp_path / "s", "--coral", "--json")
    assert code == 0, err
    doc = json.loads(out)
    side_name = g.tensors[g.outputs[0]].name
    assert doc["coral"] is True
    assert doc["segments"][2]["passed_through"] == [side_name]
    assert side_name in doc["segments"][2]["inputs"] and side_name in doc["segments"][2]["outputs"]
    code, out, _ = cli("split", model, "--cuts", f"{side - 2},{side + 3}", "-o",
                       tmp_path / "p", "--json")
    assert json.loads(out)["coral"] is False  # plain cuts on CPU keep the plain split
