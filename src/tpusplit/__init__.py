"""tpusplit: split int8 TFLite CNNs into pipeline segments for several Edge TPUs and run them.

From a file to a running pipeline::

    import tpusplit

    plan = tpusplit.plan("model.tflite", tpus=4, device="edgetpu-usb3")  # choose the cuts
    print(plan.cuts, plan.bottleneck_ms, plan.throughput_ips)
    plan.save("plan.json")                                # for `tpusplit split/run --plan`
    sim = tpusplit.simulate("model.tflite", plan)         # what 4 Edge TPUs would do
    run = tpusplit.run("model.tflite", plan, inputs=16, check=True)  # LiteRT, one core each
    print(run.measurement.time_per_inference_ms, run.check.ok)

    segments = tpusplit.split(tpusplit.load("model.tflite"), plan.cuts)  # .tflite bytes

Layers (each imports only the ones above it; ``errors``, ``units``, ``files`` and
``accuracy`` are leaves every layer but ``partition`` may use):

0. ``partition``  chain partitioning as pure functions over (n, k, cost(i, j))
1. ``graph``      read .tflite, costs per op, cuts, write segments
2. ``models``     model builders: synthetic families, random nets, NASBench-101 cells, zoo
3. ``pipeline``   backends (LiteRT CPU, Edge TPU delegate, null) and the pipeline runner
4. ``costs``      cost sources: Edge TPU model and device profiles, profiler, predictor
5. ``sim``        multi-device pipeline simulator
6. ``strategies`` one file per strategy, a registry, the Plan type, the comparison
7. ``report``     tables, JSON, plots
8. ``api``        this facade: plan, simulate, run
9. ``cli``        thin command line
"""

from tpusplit.api import Run, plan, run, simulate
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load, split
from tpusplit.strategies import Plan

__all__ = ["Graph", "Plan", "Run", "TpusplitError", "load", "plan", "run", "simulate", "split"]
__version__ = "0.1.0"
