"""Run tpusplit's segments with Coral's own runner: pycoral's ``PipelinedModelRunner``.

tpusplit runs its segments itself (``tpusplit run``); this script shows the other way, for a
program already built on pycoral/libcoral. From a model to a pipeline on three Edge TPUs::

    tpusplit devices                                   # usb:0, usb:1, pci:0, ...
    tpusplit plan model.tflite --tpus 3 --cost profile --device edgetpu:usb -o plan.json
    tpusplit split model.tflite --plan plan.json --compile -o segments/
    python examples/pycoral_pipeline.py segments/model_segment_*_edgetpu.tflite \\
        --tpus usb:0,usb:1,usb:2 --count 100

What it relies on, and what tpusplit guarantees:

* **Order.** Segment files are named ``<stem>_segment_<i>_of_<N>[_edgetpu].tflite`` (Coral's
  naming); :func:`segment_order` sorts them by ``i``, whatever order the shell gives them.
* **Tensor names.** The runner hands tensors from segment to segment by name: push takes
  ``{name: array}`` with the first segment's input names, pop returns ``{name: array}`` with
  the last segment's output names; tpusplit keeps the model's tensor names across cuts.
* **Every output consumed by the next segment.** libcoral checks it, and gives a segment
  only its predecessor's outputs. Edge TPU plans are split with ``--coral`` (the default for
  ``split --compile`` and Edge TPU plans): a tensor needed later (a long skip connection, a
  model output produced early) passes through the segments in between, so the last
  segment's outputs are all the model's outputs.

Needs pycoral and libedgetpu (https://coral.ai/software/); tests/examples check its logic
against tpusplit's own runner with stand-ins for both.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SEGMENT = re.compile(r"_segment_(\d+)_of_(\d+)(?:_edgetpu)?\.tflite$")


def segment_order(paths: Iterable[str | Path]) -> list[Path]:
    """The segment files in pipeline order (by the ``_segment_<i>_of_<N>`` in their names);
    a ValueError when one is missing, repeated, or not named that way."""
    found: dict[int, Path] = {}
    count = None
    for p in map(Path, paths):
        m = SEGMENT.search(p.name)
        if m is None:
            raise ValueError(f"{p}: not a segment file (<stem>_segment_<i>_of_<N>.tflite)")
        i, n = int(m.group(1)), int(m.group(2))
        if count is not None and n != count:
            raise ValueError(f"{p}: segment of {n}, the others are of {count}")
        if i in found:
            raise ValueError(f"{p}: segment {i} given twice ({found[i]})")
        count = n
        found[i] = p
    if count is None or sorted(found) != list(range(count)):
        missing = sorted(set(range(count or 0)) - set(found))
        raise ValueError(f"segments missing: {missing or 'all'}")
    return [found[i] for i in range(count)]


def make_runner(files: Sequence[Path], tpus: Sequence[str] | None,
                make_interpreter: Callable[..., Any], runner_class: Callable[..., Any]) -> Any:
    """One interpreter per segment, segment i on ``tpus[i]`` (default: the i-th TPU, ``:i``),
    wrapped in a ``PipelinedModelRunner``."""
    devices = list(tpus) if tpus else [f":{i}" for i in range(len(files))]
    if len(devices) != len(files):
        raise ValueError(f"{len(devices)} TPU(s) for {len(files)} segments")
    interpreters = []
    for path, device in zip(files, devices, strict=True):
        interpreter = make_interpreter(str(path), device=device)
        interpreter.allocate_tensors()
        interpreters.append(interpreter)
    return runner_class(interpreters)


def input_names(runner: Any) -> list[str]:
    """What ``push`` takes: the first segment's input tensor names."""
    return [d["name"] for d in runner.interpreters()[0].get_input_details()]


def run(runner: Any, inputs: Sequence[Mapping[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """Push every input from a producer thread, pop every result here (in order)."""
    names = input_names(runner)

    def producer() -> None:
        for feeds in inputs:
            runner.push({n: feeds[n] for n in names})
        runner.push({})  # no more input

    thread = threading.Thread(target=producer, daemon=True)
    thread.start()
    results = []
    while True:
        result = runner.pop()
        if not result:
            break
        results.append(dict(result))
    thread.join()
    return results


def random_inputs(runner: Any, count: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """``count`` random inputs of the first segment's input shapes and types."""
    rng = np.random.default_rng(seed)
    details = runner.interpreters()[0].get_input_details()
    out = []
    for _ in range(count):
        feeds = {}
        for d in details:
            info = np.iinfo(d["dtype"]) if np.issubdtype(d["dtype"], np.integer) else None
            feeds[d["name"]] = (rng.integers(info.min, info.max + 1, size=d["shape"],
                                             dtype=d["dtype"]) if info is not None
                                else rng.standard_normal(d["shape"]).astype(d["dtype"]))
        out.append(feeds)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("segments", nargs="+", help="compiled segment files (any order)")
    parser.add_argument("--tpus", help="TPU per segment, e.g. usb:0,usb:1,pci:0")
    parser.add_argument("--count", type=int, default=100, help="random inputs to run")
    args = parser.parse_args(argv)
    try:
        from pycoral.pipeline.pipelined_model_runner import PipelinedModelRunner
        from pycoral.utils.edgetpu import make_interpreter
    except ImportError:
        print("error: pycoral is not installed (https://coral.ai/software/)", file=sys.stderr)
        return 2
    try:
        files = segment_order(args.segments)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runner = make_runner(files, args.tpus.split(",") if args.tpus else None,
                         make_interpreter, PipelinedModelRunner)
    inputs = random_inputs(runner, args.count)
    t0 = time.perf_counter()
    results = run(runner, inputs)
    wall = time.perf_counter() - t0
    print(f"{len(results)} inferences through {len(files)} segments in {wall:.3f} s: "
          f"{1e3 * wall / max(len(results), 1):.2f} ms per inference; outputs: "
          f"{', '.join(results[0]) if results else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
