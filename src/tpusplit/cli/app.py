"""The typer application every command module registers on."""

from __future__ import annotations

import typer

import tpusplit


def _version(value: bool) -> None:
    if value:
        print(f"tpusplit {tpusplit.__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="tpusplit",
    help="Split int8 TFLite CNNs into pipeline segments for several Edge TPUs, plan, "
    "simulate and run them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no boxes, flags without a <bool> type
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version,
                                       is_eager=True, help="Print the version and exit.")
          ) -> None:
    """Split int8 TFLite CNNs into pipeline segments for several Edge TPUs, plan, simulate and
    run them."""
