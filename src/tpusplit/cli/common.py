"""Argument parsing shared by the commands."""

from __future__ import annotations

import sys
from pathlib import Path

from tpusplit.errors import TpusplitError


def parse_cuts(text: str, source: str) -> list[int]:
    """Parse ``"12,40"`` into ``[12, 40]`` (range and order are checked against the graph)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise TpusplitError(f"{source}: --cuts is empty; give op indices like 12,40")
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise TpusplitError(f"{source}: --cuts {text!r} must be comma-separated op indices") \
            from None


#: Help of the options that say what a pipeline of Edge TPUs runs under (simulate, plan, demo).
RUNNER_HELP = ("The pipeline runner whose host time per stage the figures include: python (a "
               "thread per stage under the GIL, as tpusplit run; default), coral (libcoral's "
               "C++ PipelinedModelRunner) or none. Measured per host: the device profile's "
               "python_stage_ms / coral_stage_ms.")
HOST_MS_HELP = "Host time per pipeline stage and input in ms, instead of the profile's."
CLOCK_HELP = ("Edge TPU clock: max (libedgetpu1-max, 500 MHz, as Coral's published figures; "
              "default) or std (libedgetpu1-std, half the clock).")
COST_HELP = ("model: the Edge TPU performance model (default for Edge TPUs); profile: compile "
             "every segment a strategy asks for with edgetpu_compiler and time it on the "
             "attached Edge TPUs (all of them in parallel; cached on disk). CPU devices are "
             "always profiled.")
CORAL_HELP = ("carry (default for Edge TPUs): segments pass on tensors later segments need, "
              "so libcoral's PipelinedModelRunner takes any cut; exclude: only cuts where "
              "every output feeds the next segment; off: tpusplit's runner only.")


def warn(message: str) -> None:
    """Print a warning line on stderr (what the commands do with the api's warnings)."""
    print(f"warning: {message}", file=sys.stderr)


def check_output(output: Path | None) -> None:
    """A one-line error before any work when ``-o`` names a directory."""
    if output is not None and output.is_dir():
        raise TpusplitError(f"{output}: is a directory; give a file name like plan.json")


def parse_tpus(text: str | None, source: str) -> int | None:
    """``--tpus``: a number of devices, or None for ``auto`` (and when not given)."""
    if text is None or text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise TpusplitError(f"{source}: --tpus must be a number of devices or 'auto', "
                            f"got {text!r}") from None
