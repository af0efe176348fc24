"""``tpusplit calibrate``: fit an Edge TPU device profile to your own measurements."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tpusplit.cli.app import app
from tpusplit.costs.calibrate import calibrate
from tpusplit.costs.profile import save_profile
from tpusplit.report.console import console as make_console


@app.command("calibrate")
def calibrate_command(
    measurements: list[Path] = typer.Argument(..., help="CSV files in the format of "
                                              "edgetpu-measurements (conv_1tpu.csv, ...)."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the profile JSON."),
    base: str = typer.Option("edgetpu-usb3", "--base", help="Profile whose values are kept for "
                             "what the data cannot fit."),
    name: str = typer.Option("edgetpu-custom", "--name", help="Name of the new profile."),
    fit_cache: bool = typer.Option(False, "--fit-cache", help="Also fit the cache capacity "
                                   "rule to the on/off-chip columns."),
    as_json: bool = typer.Option(False, "--json", help="Print the fit summary as JSON."),
) -> None:
    """Fit the latency (and optionally caching) parameters; write a device-profile file."""
    profile, summary = calibrate(measurements, base=base, name=name, fit_cache=fit_cache)
    save_profile(profile, output)
    if as_json:
        print(json.dumps({"profile": str(output), **summary}, indent=1))
        return
    make_console().print(f"wrote {output}: fitted on {int(summary['single_rows'])} single-TPU "
                         f"rows, MAPE {summary['mape']:.1f}%")
