"""``tpusplit devices``: the Edge TPUs libedgetpu sees, as ``--tpu-map`` names them."""

from __future__ import annotations

import json
import sys

import typer
from rich.table import Table

from tpusplit.api.tools import COMPILER, find_compiler, library_name, list_devices
from tpusplit.cli.app import app
from tpusplit.errors import TpusplitError
from tpusplit.report.console import console as make_console


@app.command("devices")
def devices_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead."),
) -> None:
    """List the attached Edge TPUs (type usb/pci, delegate name, system path)."""
    compiler = find_compiler()
    try:
        found, runtime, why = list_devices(), True, ""
    except TpusplitError as exc:  # no libedgetpu: nothing to list, not a mistake
        found, runtime, why = [], False, str(exc).split(": ", 1)[-1]
    if as_json:
        print(json.dumps({"library": library_name() if runtime else None, "runtime": runtime,
                          "compiler": compiler, "devices": [{"name": d.name, "type": d.kind,
                                                             "path": d.path} for d in found],
                          **({"note": why} if why else {})}, indent=1))
        return
    if not found:
        what = (f"no Edge TPU runtime ({why})" if not runtime else
                f"{library_name()}: no Edge TPU found: plug one in (a USB Accelerator needs a "
                "USB 3 port for full speed; a PCIe card needs the gasket/apex driver)")
        print(f"{what}; {COMPILER} {'at ' + compiler if compiler else 'not found'}. Plan "
              "and simulate without hardware with the Edge TPU model (--cost model).")
        return
    out = make_console()
    table = Table(title=f"{len(found)} Edge TPU(s) seen by {library_name()}")
    for col in ("#", "name", "type", "path"):
        table.add_column(col)
    for i, d in enumerate(found):
        table.add_row(str(i), d.name, d.kind, d.path)
    out.print(table)
    if compiler:
        out.print(f"{COMPILER}: {compiler}", highlight=False)
    else:
        print(f"warning: {COMPILER} is not on the PATH: segments cannot be compiled here "
              "(plan --cost profile and run on uncompiled segments need it)", file=sys.stderr)
