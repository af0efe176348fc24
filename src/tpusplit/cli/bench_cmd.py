"""``tpusplit bench``: run a benchmark of the source checkout's ``benchmarks/`` folder."""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from pathlib import Path
from typing import NoReturn
from unittest.mock import patch

import typer

from tpusplit.cli.app import app
from tpusplit.errors import TpusplitError


def benchmarks_dir() -> Path:
    """``benchmarks/`` of the current directory's checkout, else of the installed source tree."""
    for base in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        cand = base / "benchmarks"
        if cand.is_dir() and any(cand.glob("*/run.py")):
            return cand
    raise TpusplitError("benchmarks/: not found; run `tpusplit bench` inside a tpusplit checkout")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="Benchmark to run (a folder of benchmarks/); "
                               "none lists them. Extra arguments go to the benchmark."),
    results: Path = typer.Option(Path("bench-results"), "--results", help="Where the "
                                 "results go (markdown, JSON, PNG)."),
    commit: bool = typer.Option(False, "--commit", help="Write into the checkout's "
                                "benchmarks/results/ instead, over the committed figures."),
) -> None:
    """Run a reproducible benchmark; results go to --results (bench-results/ by default)."""
    root = benchmarks_dir()
    names = sorted(p.parent.name for p in root.glob("*/run.py"))
    if name is None:
        for n in names:
            print(n)
        return
    if name not in names:
        raise TpusplitError(f"{root / name}: no such benchmark; choose from {', '.join(names)}")
    out = root / "results" if commit else results.resolve()
    before = os.environ.get("TPUSPLIT_RESULTS")
    os.environ["TPUSPLIT_RESULTS"] = str(out)  # every benchmark's RESULTS honours it
    print(f"note: results go to {out}", file=sys.stderr)
    def bad_arguments(_parser: argparse.ArgumentParser, message: str) -> NoReturn:
        raise TpusplitError(f"bench {name}: {message} (see python {root / name / 'run.py'} "
                            "-h)")

    try:
        module = runpy.run_path(str(root / name / "run.py"), run_name="tpusplit_bench")
        with patch.object(argparse.ArgumentParser, "error", bad_arguments):
            code = module["main"](list(ctx.args))
    finally:
        if before is None:
            os.environ.pop("TPUSPLIT_RESULTS", None)
        else:
            os.environ["TPUSPLIT_RESULTS"] = before
    raise typer.Exit(int(code or 0))
