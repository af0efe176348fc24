"""What the columns of the tables mean: one short legend under each (and the README's
"Reading the numbers" section says the same)."""

from __future__ import annotations

PLAN = ("bottleneck: the slowest stage's time per input (with the runner's host time, over "
        "its replicas): the steady-state period. time per inference: simulated for the "
        "batch in flight, so it includes filling and draining the pipeline. Ops [a, b) are "
        "a up to b - 1. streamed: parameters read from the host at every inference.")
COMPARE = (f"{PLAN} x 1 device / x compiler: time per inference of one device / of the "
           "compiler's split, over this plan's. evaluations: distinct segments the strategy "
           "costed (profiling runs, with --cost profile). solve s: planning time.")
SIM = ("latency: one input through the segment alone (link, compute, streaming). busy %: "
       "the share of the simulated run the device computes. Ops [a, b) are a up to b - 1.")
RUN = ("ms/inference: wall time over the inputs (all pushed at once). ideal: the slowest "
       "stage's busy time per item; share of ideal: how close the pipeline gets to it. "
       "first result: latency of the first input. p50/p90/p99: per-input latency, which "
       "includes queueing, since every input is pushed at the start. speed-up: against "
       "the whole model on one thread, on the same inputs.")
STAGES = ("busy ms/item: compute per input. utilisation: busy share of the wall time. "
          "waiting: idle for input; blocked: waiting for room in the next queue.")
