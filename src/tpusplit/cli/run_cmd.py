"""``tpusplit run``: run a model's segments as a pipeline, measure it, check it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tpusplit.cli.app import app
from tpusplit.cli.common import parse_cuts
from tpusplit.errors import TpusplitError, first_line
from tpusplit.graph import load
from tpusplit.pipeline import check_outputs, load_stages, make_backend, measure_pipeline
from tpusplit.pipeline.assemble import Feeds, io_names, random_feeds, whole_model
from tpusplit.pipeline.backend import Backend, Stage
from tpusplit.pipeline.runner import wire
from tpusplit.report.console import console as make_console
from tpusplit.report.run import check_line, run_dict, stage_table, summary_table


def _read_segments(paths: list[Path], backend: Backend) -> list[Stage]:
    stages = []
    for i, p in enumerate(paths):
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise TpusplitError(f"{p}: cannot read ({exc.strerror or 'no such file'})") from None
        stages.append(backend.load(data, i))
    produced: set[str] = set()
    for i, st in enumerate(stages):
        if i and not produced & set(st.input_names):
            raise TpusplitError(f"{paths[i]}: uses nothing the segments before it produce; "
                                "give the segments in pipeline order")
        produced.update(st.output_names)
    return stages


def _spec(stages: list[Stage], name: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
    for st in stages:
        if name in st.input_names:
            return st.input_spec(name)
    raise TpusplitError(f"no stage reads {name!r}")


def _coerce(arr: np.ndarray, shape: tuple[int, ...], dtype: np.dtype[Any], source: str,
            name: str) -> list[np.ndarray]:
    """A file's array as a list of inputs of ``shape``: one input, or a batch of them."""
    if arr.shape == shape:
        items = [arr]
    elif arr.shape[1:] == shape:
        items = list(arr)
    elif len(shape) and shape[0] == 1 and arr.shape[1:] == shape[1:]:
        items = [a[None] for a in arr]
    else:
        raise TpusplitError(f"{source}: {name!r} has shape {arr.shape}; expected {shape} or a "
                            f"batch of them")
    if arr.dtype != dtype:
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            if arr.size and (arr.min() < info.min or arr.max() > info.max
                             or not np.issubdtype(arr.dtype, np.integer)):
                raise TpusplitError(f"{source}: {name!r} is {arr.dtype}; expected {dtype} values")
        items = [a.astype(dtype) for a in items]
    return items


def read_inputs(path: Path, names: tuple[str, ...], stages: list[Stage]) -> list[Feeds]:
    """Inputs from an .npy (single-input models), an .npz (keys = input names) or a directory
    of them (sorted by name); each file holds one input or a batch."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".npy", ".npz"))
        if not files:
            raise TpusplitError(f"{path}: no .npy or .npz files in the directory")
        return [f for p in files for f in read_inputs(p, names, stages)]
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):
            raise ValueError("not an .npy or .npz file")
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or first_line(exc)
        raise TpusplitError(f"{path}: cannot read inputs ({why})") from None
    if isinstance(loaded, np.ndarray):
        if len(names) != 1:
            raise TpusplitError(f"{path}: the model has {len(names)} inputs; give an .npz with "
                                f"keys {', '.join(names)}")
        arrays = {names[0]: loaded}
    else:
        with loaded:
            missing = [n for n in names if n not in loaded.files]
            if missing:
                raise TpusplitError(f"{path}: no array named {missing[0]!r} (the model's inputs: "
                                    f"{', '.join(names)})")
            arrays = {n: loaded[n] for n in names}
    columns = {n: _coerce(a, *_spec(stages, n), str(path), n) for n, a in arrays.items()}
    counts = {len(v) for v in columns.values()}
    if len(counts) != 1:
        raise TpusplitError(f"{path}: the inputs have different batch sizes {sorted(counts)}")
    return [{n: columns[n][k] for n in names} for k in range(counts.pop())]


@app.command("run")
def run_command(
    paths: list[Path] = typer.Argument(..., help="A model (with --plan or --cuts), or its "
                                       "segment files in pipeline order."),
    plan: Path = typer.Option(None, "--plan", help="A plan JSON (tpusplit plan --json)."),
    cuts: str = typer.Option(None, "--cuts", help="Op indices where segments 2..N begin."),
    device: str = typer.Option("cpu", "--device", help="cpu (LiteRT) or edgetpu."),
    threads: int = typer.Option(1, "--threads", min=1, help="LiteRT threads per stage."),
    inputs: Path = typer.Option(None, "--inputs", help="An .npy/.npz file or a directory of "
                                "them (one input or a batch per file)."),
    random: int = typer.Option(None, "--random", min=1, help="Run N random inputs "
                               "(default 100 without --inputs)."),
    check: bool = typer.Option(False, "--check", help="Compare every output with the whole "
                               "model (exit status 1 when one differs)."),
    reference: Path = typer.Option(None, "--reference", help="The whole model for --check "
                                   "when segment files are given."),
    pin: bool = typer.Option(False, "--pin", help="Pin stage i's thread to core i mod #cores."),
    queue_size: int = typer.Option(4, "--queue-size", min=1, help="Capacity of each queue."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random inputs."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead."),
) -> None:
    """Run segments as a pipeline (one worker per segment): throughput, latency, utilisation."""
    if inputs is not None and random is not None:
        raise TpusplitError("give --inputs or --random, not both")
    if plan is not None and cuts is not None:
        raise TpusplitError("give --plan or --cuts, not both")
    options: dict[str, Any] = {"num_threads": threads}
    backend = make_backend(device, **options)
    context: dict[str, Any] = {"device": device}
    graph = None
    if plan is not None or cuts is not None:
        if len(paths) != 1:
            raise TpusplitError(f"{paths[1]}: with --plan/--cuts give exactly one model")
        graph = load(paths[0])
        if plan is not None:
            from tpusplit.strategies import Plan

            p = Plan.load(plan)
            p.check_graph(graph, str(plan))
            cut_list = list(p.cuts)
        else:
            cut_list = parse_cuts(cuts, str(paths[0]))
        stages = load_stages(graph, cut_list, backend)
        outputs: list[str] | None = io_names(graph)[1]
        context.update(model=str(paths[0]), cuts=cut_list)
    else:
        stages = _read_segments(paths, backend)
        outputs = None
        context.update(model=str(paths[0]) if len(paths) == 1 else None,
                       segment_files=[str(p) for p in paths])
    context["segments"] = len(stages)
    names = wire(stages, outputs).inputs
    if inputs is not None:
        feeds = read_inputs(inputs, names, stages)
    elif graph is not None:
        feeds = random_feeds(graph, random or 100, seed)
    else:
        from tpusplit.pipeline.sequential import random_inputs

        rng_feeds = []
        for k in range(random or 100):
            one: Feeds = {}
            for st in stages:
                one.update({n: v for n, v in random_inputs(st, seed + k).items()
                            if n in names and n not in one})
            rng_feeds.append(one)
        feeds = rng_feeds
    whole: bytes | None = None
    if check:
        if graph is not None:
            whole = whole_model(graph)
        elif reference is not None or len(paths) == 1:
            ref = reference or paths[0]
            try:
                whole = ref.read_bytes()
            except OSError as exc:
                raise TpusplitError(f"{ref}: cannot read ({exc.strerror})") from None
        else:
            raise TpusplitError("--check with segment files needs --reference WHOLE_MODEL")
    cores = None
    if pin:
        import os

        ncores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        avail = sorted(os.sched_getaffinity(0)) if ncores > 1 else [0]
        cores = [avail[i % len(avail)] for i in range(len(stages))]
    err = make_console(stderr=True)
    with Progress(TextColumn("run"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=as_json) as bar:
        task = bar.add_task("inputs", total=len(feeds))
        m = measure_pipeline(stages, feeds, outputs=outputs, queue_size=queue_size, cores=cores,
                             keep_results=check,
                             progress=lambda k: bar.update(task, completed=k))
    result = check_outputs(whole, feeds, m.results) if whole is not None else None
    if as_json:
        print(json.dumps(run_dict(m, result, **context), indent=1))
    else:
        out = make_console()
        out.print(summary_table(m, title=f"{context.get('model') or 'segments'} on {device}: "
                                f"{len(stages)} stage(s)"))
        out.print(stage_table(m))
        if result is not None:
            out.print(check_line(result))
    if result is not None and not result.ok:
        raise typer.Exit(1)
