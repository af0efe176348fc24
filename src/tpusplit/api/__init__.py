"""The application layer: plan, simulate, run and stream a model over a typed target.

The only place that orchestrates: ``tpusplit``'s commands parse their flags into these
functions and print what they return, and the facade (``tpusplit.plan``, ``simulate``,
``run``, ``pipeline``) is the same code, so both give the same plans::

    import tpusplit

    plan = tpusplit.plan("model.tflite", tpus=4, device="edgetpu-usb3")
    sim = tpusplit.simulate("model.tflite", plan)          # the plan's own target
    run = tpusplit.run("model.tflite", plan, inputs=16, check=True)  # LiteRT on CPU cores
    with tpusplit.pipeline("model.tflite", plan) as pipe:  # streaming, push / pop
        ...

Modules: :mod:`~tpusplit.api.planning` (one path to a plan), :mod:`~tpusplit.api.running`
(one path to a measured run), :mod:`~tpusplit.api.facade` (simulate, run, pipeline),
:mod:`~tpusplit.api.tools` (what the other commands call).
"""

from tpusplit.api.facade import pipeline, run, simulate, simulation
from tpusplit.api.planning import Planning, cores_note, graph_of, make_plans, plan
from tpusplit.api.running import Run, execute, prepare
from tpusplit.devices.target import Target, parse_target

__all__ = ["Planning", "Run", "Target", "cores_note", "execute", "graph_of", "make_plans",
           "parse_target", "pipeline", "plan", "prepare", "run", "simulate", "simulation"]
