"""Argument parsing shared by the commands."""

from __future__ import annotations

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
