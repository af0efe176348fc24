"""``tpusplit calibrate``: fit an Edge TPU device profile to your own measurements."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tpusplit.api.tools import calibrate, read_any, save_profile
from tpusplit.cli.app import app
from tpusplit.report.console import console as make_console


@app.command("calibrate")
def calibrate_command(
    measurements: list[Path] = typer.Argument(..., help="CSV files: model,cuts,host,ms[,batch]"
                                              "[,runner][,link] (README), or the sweep files "
                                              "of data/edgetpu-measurements."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the profile JSON."),
    base: str = typer.Option("edgetpu-usb3", "--base", help="Profile whose Edge TPU terms and "
                             "caching rule are kept (and whose values fill what is not fitted)."),
    name: str = typer.Option("edgetpu-custom", "--name", help="Name of the new profile."),
    host: str = typer.Option("", "--host", help="Treat every measurement as this host's."),
    refit_tpu: bool = typer.Option(False, "--refit-tpu", help="Also refit the Edge TPU terms "
                                   "(needs many models, single-TPU and pipelined)."),
    as_json: bool = typer.Option(False, "--json", help="Print the fit summary as JSON."),
) -> None:
    """Fit a host's fixed cost, link rate and CPU factor (and optionally the chip's terms)."""
    observations = [o for f in measurements for o in read_any(f, host or None)]
    profile, summary = calibrate(observations, base=base, name=name, refit_tpu=refit_tpu)
    save_profile(profile, output)
    if as_json:
        print(json.dumps({"profile": str(output), **summary}, indent=1))
        return
    make_console().print(f"wrote {output}: fitted on {int(summary['rows'])} measurements, "
                         f"MAPE {summary['mape']:.1f}%")
