"""The facade: plan, simulate and run a model in one call each (what the commands do).

Every function takes the model as a path, TFLite bytes or a loaded
:class:`~tpusplit.graph.Graph`, and a device name from :data:`tpusplit.devices.catalogue.REGISTRY`
(``edgetpu-usb3``, ``edgetpu-pcie``, ``edgetpu-usb2``, ``cpu``, ...)::

    import tpusplit

    plan = tpusplit.plan("model.tflite", tpus=4, device="edgetpu-usb3")
    sim = tpusplit.simulate("model.tflite", plan, device="edgetpu-usb3")
    run = tpusplit.run("model.tflite", plan, inputs=16, check=True)  # LiteRT on CPU cores
    print(plan.cuts, sim.time_per_inference_ms, run.measurement.time_per_inference_ms)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tpusplit.costs.base import CostSource
from tpusplit.devices.catalogue import resolve
from tpusplit.graph import Graph, check_cuts, load
from tpusplit.pipeline import (
    CheckResult,
    PipelineMeasurement,
    check_outputs,
    load_stages,
    make_backend,
    measure_pipeline,
    random_feeds,
)
from tpusplit.pipeline.assemble import io_names, whole_model
from tpusplit.pipeline.measure import whole_model_ms
from tpusplit.profiling.sources import make_cost
from tpusplit.sim import SimResult, check_batch
from tpusplit.sim import simulate as simulate_pipeline
from tpusplit.strategies import Plan
from tpusplit.strategies import plan as plan_with
from tpusplit.strategies.base import DEFAULT_BATCH, rebatch

Model = str | Path | bytes | Graph
Feeds = Mapping[str, np.ndarray]


def graph_of(model: Model) -> Graph:
    """A loaded graph from a path, TFLite bytes or a graph (returned as is)."""
    return model if isinstance(model, Graph) else load(model)


def _cuts(graph: Graph, plan: Plan | Sequence[int]) -> list[int]:
    if isinstance(plan, Plan):
        plan.check_graph(graph, f"plan of {plan.model}")
        return list(plan.cuts)
    return check_cuts(graph, list(plan))


def plan(model: Model, tpus: int, *, device: str = "edgetpu-usb3", strategy: str = "optimal",
         cost: CostSource | None = None, batch: int = DEFAULT_BATCH, runner: str = "python",
         host_ms: float | None = None, clock: str | None = None) -> Plan:
    """Where to cut ``model`` into ``tpus`` segments for ``device`` (or on ``cost``, any cost
    source of that graph), with ``strategy``; its time per inference for ``batch`` inputs in
    flight, including the host time per stage of ``runner`` (``python``, ``coral``, ``none``;
    ``host_ms`` overrides the profile's) at the Edge TPU ``clock`` (``max``, ``std``). Save it
    with :meth:`Plan.save`."""
    graph = cost.graph if cost is not None else graph_of(model)
    source = cost if cost is not None else make_cost(graph, device, runner, host_ms, clock)
    return rebatch(plan_with(graph, tpus, source, strategy), source, batch)


def simulate(model: Model, plan: Plan | Sequence[int] = (), *, device: str = "edgetpu-usb3",
             batch: int = DEFAULT_BATCH, shared_bus: bool = False, runner: str = "python",
             host_ms: float | None = None, clock: str | None = None) -> SimResult:
    """What the segments of ``plan`` (a :class:`Plan` or cuts; none: one device) would do on
    ``device``: a discrete-event simulation of ``batch`` inputs (:func:`tpusplit.sim.
    simulate`), with ``runner``, ``host_ms`` and ``clock`` as :func:`plan` takes them."""
    graph = graph_of(model)
    check_batch(batch)
    return simulate_pipeline(make_cost(graph, device, runner, host_ms, clock),
                             _cuts(graph, plan), batch=batch, shared_bus=shared_bus)


@dataclass
class Run:
    """A batch through a real pipeline: its measurement, the results in input order, and the
    check against the whole model (None unless asked)."""

    measurement: PipelineMeasurement
    outputs: list[dict[str, np.ndarray]] = field(repr=False)
    check: CheckResult | None = None


def run(model: Model, plan: Plan | Sequence[int], inputs: int | Sequence[Feeds] = 16, *,
        device: str = "cpu", check: bool = False, seed: int = 0, threads: int = 1) -> Run:
    """Split ``model`` as ``plan`` says and run ``inputs`` (a count of random inputs, or the
    inputs themselves, by input name) through a pipeline on ``device``: one worker per
    segment, LiteRT on CPU cores (``cpu``) or one Edge TPU per segment. With ``check``,
    every output is compared with the whole model's. On ``cpu`` the whole model is also
    timed on one thread (``measurement.baseline_ms``)."""
    graph = graph_of(model)
    dev = resolve(device)
    cuts = _cuts(graph, plan)
    feeds = random_feeds(graph, inputs, seed) if isinstance(inputs, int) else list(inputs)
    stages = load_stages(graph, cuts, make_backend(dev.backend, num_threads=threads))
    m = measure_pipeline(stages, feeds, outputs=io_names(graph)[1], keep_results=True)
    whole = whole_model(graph)
    if dev.backend == "cpu" and threads == 1:
        m.baseline_ms = whole_model_ms(whole, feeds)
    outputs, m.results = m.results, []
    return Run(m, outputs, check_outputs(whole, feeds, outputs) if check else None)
