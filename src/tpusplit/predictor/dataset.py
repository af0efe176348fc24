"""Segment-latency datasets: random segments of generated models, their features and labels.

``collect`` builds models (NASBench-101-space networks plus the synthetic conv/fc families),
draws random contiguous segments of each, labels every segment with a :class:`CostSource`
(the real CPU profiler, the Edge TPU model, or real Edge TPUs) and stores per segment: the
model id, the range, the label, the fixed-length feature vector and the op tokens. Files are
CSV (always) or parquet (when pyarrow is installed); the tokens are stored as base64 float32
so a file is self-contained (training needs neither the models nor the device).
"""

from __future__ import annotations

import base64
import csv
import io
import sys
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError, first_line
from tpusplit.files import write_file
from tpusplit.graph import Graph, load
from tpusplit.models.specs import build_spec
from tpusplit.predictor.encoding import SEGMENT_DIM, SEGMENT_NAMES, TOKEN_DIM, SegmentEncoder

#: Columns before the feature vector.
META = ("model", "start", "end", "model_ops", "latency_ms", "device")


def build_model(spec: str) -> bytes:
    """Model bytes for a spec string (:func:`tpusplit.models.specs.build_spec`)."""
    return build_spec(spec)


def model_specs(count: int, first_seed: int = 0, synthetic_every: int = 10) -> list[str]:
    """``count`` model specs: NASBench-101-space networks with seeds from ``first_seed``,
    every ``synthetic_every``-th one replaced by a conv or fc family member (0: none)."""
    conv_f = (16, 32, 64, 128, 256, 512)
    fc_n = (64, 128, 256, 512, 1024, 2048)
    specs = []
    for i in range(count):
        j = first_seed + i
        if synthetic_every and i % synthetic_every == synthetic_every - 1:
            k = i // synthetic_every
            specs.append(f"conv-{conv_f[(k // 2) % 6]}" if k % 2 == 0
                         else f"fc-{fc_n[(k // 2) % 6]}")
        else:
            specs.append(f"nasbench-{j}")
    return specs


def sample_spans(n: int, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Up to ``count`` distinct segments of an ``n``-op model: a third prefixes ``[0, k)``, a
    third suffixes ``[k, n)`` (what 2-stage plans evaluate), the rest random ``[a, b)``; the
    whole model is always included."""
    spans = {(0, n)}
    tries = 0
    while len(spans) < min(count, n * (n + 1) // 2) and tries < 50 * count:
        tries += 1
        kind = len(spans) % 3
        if kind == 0:
            spans.add((0, int(rng.integers(1, n + 1))))
        elif kind == 1:
            spans.add((int(rng.integers(0, n)), n))
        else:
            a, b = sorted(int(v) for v in rng.choice(n + 1, size=2, replace=False))
            spans.add((a, b))
    return sorted(spans)


def encode_tokens(tokens: np.ndarray) -> str:
    """Tokens as compressed base64 float32 (the dataset's ``tokens`` column)."""
    raw = np.ascontiguousarray(tokens, dtype=np.float32).tobytes()
    return base64.b64encode(zlib.compress(raw)).decode("ascii")


def decode_tokens(text: str) -> np.ndarray:
    """Inverse of :func:`encode_tokens`."""
    raw = zlib.decompress(base64.b64decode(text))
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, TOKEN_DIM).copy()


@dataclass
class Dataset:
    """Labelled segments. Row ``i``: ``models[i]`` ops ``[start[i], end[i])`` took
    ``latency_ms[i]`` on ``devices[i]``; ``vectors[i]`` and ``tokens[i]`` are its features."""

    models: list[str] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    model_ops: list[int] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    tokens: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.models)

    def add(self, model: str, feats: SegmentEncoder, start: int, end: int, latency_ms: float,
            device: str) -> None:
        """Append one labelled segment of ``feats.graph`` (features computed here)."""
        self.models.append(model)
        self.start.append(start)
        self.end.append(end)
        self.model_ops.append(feats.n)
        self.latency_ms.append(float(latency_ms))
        self.devices.append(device)
        self.vectors.append(feats.vector(start, end))
        self.tokens.append(feats.tokens(start, end))

    @property
    def X(self) -> np.ndarray:
        """Feature vectors as an ``(N, SEGMENT_DIM)`` array."""
        return np.asarray(self.vectors, dtype=np.float64).reshape(-1, SEGMENT_DIM)

    @property
    def y(self) -> np.ndarray:
        """Labels (ms) as an array."""
        return np.asarray(self.latency_ms, dtype=np.float64)

    def subset(self, rows: Iterable[int]) -> Dataset:
        """The rows ``rows`` as a new dataset."""
        out = Dataset()
        for i in rows:
            out.models.append(self.models[i])
            out.start.append(self.start[i])
            out.end.append(self.end[i])
            out.model_ops.append(self.model_ops[i])
            out.latency_ms.append(self.latency_ms[i])
            out.devices.append(self.devices[i])
            out.vectors.append(self.vectors[i])
            out.tokens.append(self.tokens[i])
        return out

    def split_by_model(self, test_fraction: float = 0.2, seed: int = 0
                       ) -> tuple[Dataset, Dataset]:
        """Train/test split by MODEL (no model has segments on both sides)."""
        names = sorted(set(self.models))
        rng = np.random.default_rng(seed)
        rng.shuffle(names)
        n_test = max(1, round(len(names) * test_fraction)) if len(names) > 1 else 0
        test = set(names[:n_test])
        tr = [i for i, m in enumerate(self.models) if m not in test]
        te = [i for i, m in enumerate(self.models) if m in test]
        return self.subset(tr), self.subset(te)

    # ------------------------------------------------------------------ files
    def _columns(self) -> dict[str, list[object]]:
        cols: dict[str, list[object]] = {
            "model": list(self.models), "start": list(self.start), "end": list(self.end),
            "model_ops": list(self.model_ops), "latency_ms": list(self.latency_ms),
            "device": list(self.devices),
        }
        x = self.X
        for j, name in enumerate(SEGMENT_NAMES):
            cols[name] = [float(v) for v in x[:, j]]
        cols["tokens"] = [encode_tokens(t) for t in self.tokens]
        return cols

    def save(self, path: str | Path) -> None:
        """Write CSV, or parquet when ``path`` ends in ``.parquet`` (needs pyarrow); all or
        nothing."""
        path = Path(path)
        cols = self._columns()
        if path.suffix == ".parquet":
            pq = _pyarrow(path)
            import pyarrow as pa

            sink = pa.BufferOutputStream()
            pq.write_table(pa.table(cols), sink)
            data: bytes | str = sink.getvalue().to_pybytes()
        else:
            text = io.StringIO(newline="")
            w = csv.writer(text)
            w.writerow(list(cols))
            w.writerows(zip(*cols.values(), strict=True))
            data = text.getvalue()
        write_file(path, data, "dataset")

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        """Read a file written by :meth:`save` (CSV or parquet)."""
        path = Path(path)
        if not path.is_file():
            raise TpusplitError(f"{path}: no such dataset file")
        try:
            if path.suffix == ".parquet":
                cols = _pyarrow(path).read_table(path).to_pydict()
            else:
                csv.field_size_limit(sys.maxsize)
                with path.open(newline="") as fh:
                    rows = list(csv.reader(fh))
                if not rows:
                    raise TpusplitError(f"{path}: empty dataset file")
                header = rows[0]
                cols = {h: [r[j] for r in rows[1:]] for j, h in enumerate(header)}
            missing = [c for c in (*META, *SEGMENT_NAMES, "tokens") if c not in cols]
            if missing:
                raise TpusplitError(f"{path}: not a tpusplit dataset (missing column "
                                    f"{missing[0]!r})")
            out = cls()
            out.models = [str(v) for v in cols["model"]]
            out.start = [int(v) for v in cols["start"]]
            out.end = [int(v) for v in cols["end"]]
            out.model_ops = [int(v) for v in cols["model_ops"]]
            out.latency_ms = [float(v) for v in cols["latency_ms"]]
            out.devices = [str(v) for v in cols["device"]]
            x = np.array([[float(v) for v in cols[name]] for name in SEGMENT_NAMES]).T
            out.vectors = list(x.reshape(len(out.models), SEGMENT_DIM))
            out.tokens = [decode_tokens(str(v)) for v in cols["tokens"]]
        except TpusplitError:
            raise
        except (ValueError, KeyError, TypeError, zlib.error, OSError) as exc:
            raise TpusplitError(f"{path}: cannot read the dataset ({type(exc).__name__}: "
                                f"{first_line(exc, default='')})") from None
        for i, (a, b) in enumerate(zip(out.start, out.end, strict=True)):
            if out.tokens[i].shape[0] != b - a:
                raise TpusplitError(f"{path}: row {i + 1} has {out.tokens[i].shape[0]} tokens "
                                    f"for a {b - a}-op segment")
        return out


def _pyarrow(path: Path):  # type: ignore[no-untyped-def]
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise TpusplitError(f"{path}: parquet needs pyarrow (pip install pyarrow), or use "
                            ".csv") from None
    return pq


def collect(specs: Sequence[str], make_cost: Callable[[Graph], CostSource],
            segments_per_model: int = 15, seed: int = 0,
            progress: Callable[[int], None] | None = None) -> Dataset:
    """Label ``segments_per_model`` random segments of every model in ``specs``.

    ``progress(k)`` is called after each model. Complexity: one cost evaluation per segment.
    """
    if seed < 0:
        raise TpusplitError(f"the sampling seed must be >= 0, got {seed}")
    data = Dataset()
    rng = np.random.default_rng(seed)
    for k, spec in enumerate(specs):
        graph = load(build_model(spec))
        cost = make_cost(graph)
        feats = SegmentEncoder(graph)
        for a, b in sample_spans(len(graph.ops), segments_per_model, rng):
            data.add(spec, feats, a, b, cost.latency(a, b), cost.device)
        if progress is not None:
            progress(k + 1)
    return data
