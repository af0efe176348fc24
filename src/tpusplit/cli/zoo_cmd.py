"""``tpusplit zoo``: build and list the reference Keras zoo as int8 TFLite (extra ``zoo``)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tpusplit.api.tools import zoo as zoo_lib
from tpusplit.cli.app import app

zoo_app = typer.Typer(help="Build and list the reference zoo (Keras applications, int8).",
                      no_args_is_help=True)
app.add_typer(zoo_app, name="zoo")


@zoo_app.command("build")
def build(
    names: list[str] = typer.Argument(None, help="Models to build (default: all)."),
    force: bool = typer.Option(False, "--force", help="Rebuild models already cached."),
) -> None:
    """Convert Keras applications (weights=None) to full-int8 TFLite and cache them."""
    todo = names or list(zoo_lib.ZOO)
    for n in todo:
        zoo_lib.check_name(n)
    console = Console(stderr=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("zoo", total=len(todo))
        for n in todo:
            progress.update(task, description=f"building {n}")
            zoo_lib.build(n, force=force, log=progress.console.print)
            progress.advance(task)
    print(f"zoo: {len(todo)} model(s) in {zoo_lib.zoo_dir()}")


@zoo_app.command("list")
def list_models() -> None:
    """List the zoo models and whether each is built."""
    built = set(zoo_lib.available())
    width = max(map(len, zoo_lib.ZOO))
    for name in zoo_lib.ZOO:
        where = str(zoo_lib.zoo_dir() / f"{name}.tflite") if name in built else "not built"
        print(f"{name:{width}s} {where}")
