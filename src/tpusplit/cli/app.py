"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tpusplit",
    help="Split int8 TFLite CNNs into pipeline segments for several Edge TPUs, plan, "
    "simulate and run them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
