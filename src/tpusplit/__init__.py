"""tpusplit: split int8 TFLite CNNs into pipeline segments for several Edge TPUs and run them.

From a file to a running pipeline::

    import tpusplit

    plan = tpusplit.plan("model.tflite", tpus=4, device="edgetpu-usb3")  # choose the cuts
    print(plan.cuts, plan.bottleneck_ms, plan.throughput_ips)
    plan.save("plan.json")                                # for `tpusplit split/run --plan`
    sim = tpusplit.simulate("model.tflite", plan)         # what 4 Edge TPUs would do
    run = tpusplit.run("model.tflite", plan, inputs=16, check=True)  # LiteRT, one core each
    print(run.measurement.time_per_inference_ms, run.check.ok)
    with tpusplit.pipeline("model.tflite", plan) as pipe:  # streaming: push / pop
        pipe.push(inputs)
        result = pipe.pop()

    segments = tpusplit.split(tpusplit.load("model.tflite"), plan.cuts)  # .tflite bytes

Layers (each imports only the ones above it; ``errors``, ``units``, ``files`` and
``accuracy`` are leaves every layer but ``partition`` may use):

0. ``partition``  chain partitioning as pure functions over (n, k, cost(i, j))
1. ``graph``      read .tflite, costs per op, cuts, write segments
2. ``models``     model builders: synthetic families, random nets, NASBench-101 cells, zoo
3. ``devices``     the catalogue: device names, kinds, mixes, targets, clusters, profiles, power
4. ``pipeline``    backends (LiteRT CPU, Edge TPU delegate, null) and the pipeline runners
5. ``costs``       the cost-source interface, the additive and analytic Edge TPU models
6. ``profiling``   measured cost sources (CPU, Edge TPU) and which source a device gets
7. ``calibration`` fitting the Edge TPU model to measurement files
8. ``predictor``   learned segment-latency predictors
9. ``sim``         multi-device pipeline simulator
10. ``strategies`` one file per strategy, a registry, the Plan type, the comparison
11. ``report``     tables, JSON, plots
12. ``api``        the application layer: plan, simulate, run, pipeline over a target
13. ``cli``        thin commands: flags into ``api``, results through ``report``
"""

from tpusplit.api import Run, Target, parse_target, pipeline, plan, run, simulate
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load, split
from tpusplit.strategies import Plan

__all__ = ["Graph", "Plan", "Run", "Target", "TpusplitError", "load", "parse_target", "pipeline",
           "plan", "run", "simulate", "split"]
__version__ = "0.1.0"
