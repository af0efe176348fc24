"""The predictor interface, predictor files, and the predictor as a cost source."""

from __future__ import annotations

import pickle
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.errors import TpusplitError
from tpusplit.files import write_file
from tpusplit.graph import Graph
from tpusplit.predictor.dataset import Dataset
from tpusplit.predictor.encoding import SegmentEncoder

_MAGIC = "tpusplit-predictor"
_VERSION = 1


class Predictor(ABC):
    """Predicts the latency (ms) of a segment from its features; trained on a :class:`Dataset`.

    Subclasses set ``kind`` and implement :meth:`fit`, :meth:`_predict`, :meth:`_state` and
    :meth:`_from_state`. ``device`` is the device the training labels came from.
    """

    kind: ClassVar[str] = "abstract"
    #: Whether the predictor reads op tokens (else only the fixed-length vector).
    uses_tokens: ClassVar[bool] = False

    def __init__(self) -> None:
        self.device = "unknown"
        self.trained_on = 0

    @abstractmethod
    def fit(self, data: Dataset) -> Predictor:
        """Train on ``data`` (replacing any earlier training); return ``self``."""

    @abstractmethod
    def _predict(self, vectors: np.ndarray, tokens: Sequence[np.ndarray]) -> np.ndarray:
        """Latencies (ms) for feature vectors ``(N, F)`` and matching token matrices."""

    @abstractmethod
    def _state(self) -> dict[str, Any]:
        """Everything needed to rebuild the trained predictor (picklable, plain types)."""

    @classmethod
    @abstractmethod
    def _from_state(cls, state: dict[str, Any]) -> Predictor:
        """Rebuild from :meth:`_state`."""

    def _trained_on(self, data: Dataset) -> None:
        """Record what the fit saw: the labels' device and the number of segments."""
        self.device = data.devices[0]
        self.trained_on = len(data)

    def predict(self, data: Dataset) -> np.ndarray:
        """Predicted latencies (ms) of every row of ``data``."""
        if len(data) == 0:
            return np.zeros(0)
        return self._predict(data.X, data.tokens if self.uses_tokens else [])

    def predict_spans(self, graph: Graph | SegmentEncoder, spans: Sequence[tuple[int, int]]
                      ) -> np.ndarray:
        """Predicted latencies (ms) of segments ``spans`` of ``graph`` (one batch).

        Pass a :class:`SegmentEncoder` to reuse its precomputation across calls.
        """
        if not spans:
            return np.zeros(0)
        feats = graph if isinstance(graph, SegmentEncoder) else SegmentEncoder(graph)
        vectors = np.array([feats.vector(a, b) for a, b in spans])
        tokens = [feats.tokens(a, b) for a, b in spans] if self.uses_tokens else []
        return self._predict(vectors, tokens)

    def save(self, path: str | Path) -> None:
        """Write the trained predictor to ``path`` (all or nothing)."""
        path = Path(path)
        blob = {"format": _MAGIC, "version": _VERSION, "kind": self.kind,
                "device": self.device, "trained_on": self.trained_on, "state": self._state()}
        write_file(path, pickle.dumps(blob, protocol=pickle.HIGHEST_PROTOCOL), "predictor")


def load_predictor(path: str | Path) -> Predictor:
    """Read a predictor written by :meth:`Predictor.save`.

    The file is a pickle: load only predictors you trained or trust.
    """

    path = Path(path)
    if not path.is_file():
        raise TpusplitError(f"{path}: no such predictor file")
    try:
        with path.open("rb") as fh:
            blob = pickle.load(fh)
    except ModuleNotFoundError as exc:
        raise TpusplitError(f"{path}: this predictor needs {exc.name!r} (pip install "
                            "'tpusplit[predict]')") from None
    except Exception:  # a pickle can fail in many ways; all mean "not a predictor"
        raise TpusplitError(f"{path}: not a tpusplit predictor file") from None
    if not isinstance(blob, dict) or blob.get("format") != _MAGIC:
        raise TpusplitError(f"{path}: not a tpusplit predictor file")
    if blob.get("version") != _VERSION:
        raise TpusplitError(f"{path}: predictor file version {blob.get('version')} is not "
                            f"supported (expected {_VERSION})")
    cls = predictor_class(str(blob["kind"]))
    pred = cls._from_state(blob["state"])
    pred.device = str(blob["device"])
    pred.trained_on = int(blob["trained_on"])
    return pred


#: Environment variable naming the predictor file the ``predicted``/``hybrid`` strategies use.
PREDICTOR_ENV = "TPUSPLIT_PREDICTOR"


def default_predictor_path(device: str) -> Path:
    """Where the strategies look for a predictor for ``device`` when $TPUSPLIT_PREDICTOR is
    unset: ``~/.cache/tpusplit/predictor-<device>.pkl``."""
    return Path.home() / ".cache" / "tpusplit" / f"predictor-{device}.pkl"


def find_predictor(device: str) -> Predictor:
    """The predictor for ``device``: $TPUSPLIT_PREDICTOR, else :func:`default_predictor_path`.

    A one-line error says how to train one when there is none.
    """
    import os

    env = os.environ.get(PREDICTOR_ENV)
    path = Path(env) if env else default_predictor_path(device)
    if not env and not path.is_file():
        raise TpusplitError(f"{path}: no latency predictor for device {device!r}; train one "
                            f"(tpusplit predictor collect --device {device} -o data.csv; "
                            f"tpusplit predictor train data.csv -o {path}) or set "
                            f"{PREDICTOR_ENV}")
    pred = load_predictor(path)
    if pred.device not in ("unknown", device):
        raise TpusplitError(f"{path}: a latency predictor trained on {pred.device} "
                            f"measurements, not {device}: its latencies would be another "
                            f"device's; train one for {device} or set {PREDICTOR_ENV}")
    if pred.trained_on < MIN_ROWS:
        raise TpusplitError(f"{path}: a latency predictor trained on {pred.trained_on} "
                            f"segment(s); at least {MIN_ROWS} are needed for its figures to "
                            "mean anything (tpusplit predictor collect gathers thousands)")
    return pred


#: Fewest training segments for a predictor to be used for planning.
MIN_ROWS = 50


class PredictorCost(CostSource):
    """A trained :class:`Predictor` as a cost source: no device, no measurement.

    ``evaluations`` counts predicted segments. :meth:`prefetch` predicts many segments in
    one batch (much faster per segment than one by one).
    """

    measured = False

    def __init__(self, graph: Graph, predictor: Predictor) -> None:
        super().__init__(graph)
        self.predictor = predictor
        self.device = f"predicted-{predictor.device}"
        self.features = SegmentEncoder(graph)

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        ms = float(self.predictor.predict_spans(self.features, [(start, end)])[0])
        return SegmentCost(start, end, ms)

    def prefetch(self, spans: Sequence[tuple[int, int]]) -> None:
        """Predict every span not yet cached in one batch and cache the results."""
        wanted = {(a, b) for a, b in spans}
        self._asked(wanted)
        todo = sorted(wanted - set(self._cache))
        if not todo:
            return
        n = len(self.graph.ops)
        for a, b in todo:
            if not 0 <= a < b <= n:
                raise IndexError(f"segment [{a}, {b}) outside [0, {n}]")
        t0 = time.perf_counter()
        ms = self.predictor.predict_spans(self.features, todo)
        self.seconds += time.perf_counter() - t0
        self.evaluations += len(todo)
        for (a, b), v in zip(todo, ms, strict=True):
            self._cache[(a, b)] = SegmentCost(a, b, float(v))

    def prefetch_all(self) -> None:
        """Predict every contiguous segment of the graph (n(n+1)/2 of them)."""
        n = len(self.graph.ops)
        self.prefetch([(a, b) for a in range(n) for b in range(a + 1, n + 1)])


#: kind -> (module, class, pip extra that provides its dependencies)
KINDS: dict[str, tuple[str, str, str]] = {
    "gbt": ("tpusplit.predictor.gbt", "GBTPredictor", "predict-light"),
    "transformer": ("tpusplit.predictor.transformer", "TransformerPredictor", "predict"),
}


def predictor_class(kind: str) -> type[Predictor]:
    """The predictor class for ``kind``; a one-line error when unknown or not installed."""
    if kind not in KINDS:
        raise TpusplitError(f"unknown predictor kind {kind!r}: expected one of "
                            f"{', '.join(KINDS)}")
    module, name, extra = KINDS[kind]
    try:
        cls: type[Predictor] = getattr(import_module(module), name)
    except ImportError as exc:
        raise TpusplitError(f"predictor {kind!r} needs {exc.name!r}: pip install "
                            f"'tpusplit[{extra}]'") from None
    return cls
