"""``tpusplit predictor collect|train|eval``: learn segment latencies to plan without profiling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from tpusplit.api.tools import (
    Dataset,
    collect,
    cost_factory,
    device_help,
    evaluate,
    load_predictor,
    model_specs,
    predictor_class,
)
from tpusplit.cli.app import app
from tpusplit.errors import TpusplitError
from tpusplit.report.console import console as make_console
from tpusplit.report.predictor import metrics_dict, metrics_table
from tpusplit.report.progress import counting

predictor_app = typer.Typer(no_args_is_help=True, help="Learned segment-latency predictor: "
                            "collect a dataset on a device, train, evaluate.")
app.add_typer(predictor_app, name="predictor")


def _check_output(path: Path, suffixes: tuple[str, ...]) -> None:
    if path.suffix not in suffixes:
        raise TpusplitError(f"{path}: expected a {' or '.join(suffixes)} file name")
    if not path.parent.is_dir():
        raise TpusplitError(f"{path}: directory {path.parent} does not exist")


@predictor_app.command("collect")
def collect_command(
    output: Path = typer.Option(..., "-o", "--output", help="Dataset file (.csv or .parquet)."),
    device: str = typer.Option("cpu", "--device", help="Where the labels come from: "
                               + device_help(planning=True)),
    models: int = typer.Option(200, "--models", min=1, help="Number of generated models."),
    segments: int = typer.Option(20, "--segments", min=1, help="Random segments per model."),
    first_seed: int = typer.Option(0, "--first-seed", min=0, help="Seed of the first "
                                   "NASBench-101 "
                                   "model (use disjoint ranges for training and test sets)."),
    synthetic_every: int = typer.Option(10, "--synthetic-every", min=0, help="Every k-th "
                                        "model is a synthetic conv/fc one (0: none)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the segment sampling."),
) -> None:
    """Label random segments of NASBench-101-space and synthetic models on DEVICE."""
    _check_output(output, (".csv", ".parquet"))
    if output.suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise TpusplitError(f"{output}: parquet needs pyarrow (pip install pyarrow), or "
                                "use .csv") from None
    make = cost_factory(device)
    specs = model_specs(models, first_seed=first_seed, synthetic_every=synthetic_every)
    with counting("collect", len(specs), transient=False) as update:
        data = collect(specs, make, segments_per_model=segments, seed=seed, progress=update)
    data.save(output)
    print(f"{output}: {len(data)} segments of {len(specs)} models on {data.devices[0]}")


@predictor_app.command("train")
def train_command(
    data: Path = typer.Argument(..., help="Dataset from `tpusplit predictor collect`."),
    output: Path = typer.Option(..., "-o", "--output", help="Predictor file to write."),
    kind: str = typer.Option("gbt", "--kind", help="gbt (scikit-learn) or transformer "
                             "(PyTorch)."),
    holdout: float = typer.Option(0.2, "--holdout", min=0.0, max=0.9, help="Share of MODELS "
                                  "kept out of training and used to report accuracy (0: "
                                  "train on all)."),
    epochs: int = typer.Option(120, "--epochs", min=1, help="Transformer epochs."),
) -> None:
    """Train a predictor; report its accuracy on held-out models."""
    cls = predictor_class(kind)
    _check_output(output, (output.suffix,) if output.suffix else (".pkl",))
    dataset = Dataset.load(data)
    train, test = dataset.split_by_model(holdout) if holdout > 0 else (dataset, Dataset())
    pred = cls(**({"epochs": epochs} if kind == "transformer" else {}))
    pred.fit(train)
    pred.save(output)
    print(f"{output}: {kind} predictor trained on {len(train)} segments of "
          f"{len(set(train.models))} models")
    if len(test):
        _print_metrics(f"held-out: {len(set(test.models))} models", pred.predict(test), test)


def _print_metrics(title: str, predicted: np.ndarray, data: Dataset,
                   as_json: bool = False) -> None:
    m = evaluate(predicted, data.y)
    if as_json:
        print(json.dumps(metrics_dict(m, data), indent=1))
    else:
        make_console().print(metrics_table(m, title))


@predictor_app.command("eval")
def eval_command(
    predictor: Path = typer.Argument(..., help="Predictor from `tpusplit predictor train`."),
    data: Path = typer.Argument(..., help="Labelled dataset of models NOT used in training."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """RMSE, RMSPE and the share of segments within ±10% on DATA."""
    pred = load_predictor(predictor)
    dataset = Dataset.load(data)
    if len(dataset) == 0:
        raise TpusplitError(f"{data}: the dataset has no segments")
    devices = set(dataset.devices)
    if devices != {pred.device}:
        raise TpusplitError(f"{data}: labels from {', '.join(sorted(devices))} but the "
                            f"predictor was trained on {pred.device}")
    _print_metrics(f"{predictor.name} on {data.name}: {len(set(dataset.models))} models",
                   pred.predict(dataset), dataset, as_json)
