"""Edge TPU device profiles: the latency- and caching-model parameters, as editable JSON files.

A profile file is one JSON object (see ``profiles/edgetpu-usb3.json``, which documents every
field in its ``"fields"`` entry)::

    {
      "name": "edgetpu-usb3",
      "description": "...",
      "fixed_ms": 0.1,                      # per invoke (driver, USB round trip)
      "compute_ms_per_gmac": {"CONV_2D": 0.79, "DEPTHWISE_CONV_2D": ..., "FULLY_CONNECTED": ...,
                              "OTHER": ...}, # per 1e9 MACs on channel-padded shapes
      "element_ms_per_mop": 0.5,            # per 1e6 element ops (add, pool, tanh, quantize...)
      "stream_ms_per_mib": {"CONV_2D": 8, "DEPTHWISE_CONV_2D": 8, "FULLY_CONNECTED": 2.8,
                            "OTHER": 2.8},   # per MiB of parameters streamed at every inference
      "in_ms_per_mib": 3.0,                 # host -> device, per MiB of segment input
      "out_ms_per_mib": 9.8,                # device -> host, per MiB of segment output
      "cache": {"base_mib": 7.77, "in_coef": 0.6, "out_coef": 0.2}
    }

Every number must be finite and >= 0. :func:`load_profile` accepts a shipped profile name
(:data:`DEVICES`), a path, or a :class:`DeviceProfile`, and raises a one-line
:class:`~tpusplit.errors.TpusplitError` naming the file and the field for anything else.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from tpusplit.errors import TpusplitError

#: Op types with their own compute and streaming coefficients; anything else is ``OTHER``.
COSTED_OPS: tuple[str, ...] = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "OTHER")

#: The shipped profiles (``src/tpusplit/costs/profiles/<name>.json``).
DEVICES: tuple[str, ...] = ("edgetpu-usb3", "edgetpu-usb2", "edgetpu-pcie")

_FIELDS_DOC = {
    "fixed_ms": "fixed cost of one invoke (driver call, link round trip), ms",
    "compute_ms_per_gmac": "ms per 1e9 MACs, per op type, MACs counted on channel-padded "
                           "shapes (cin to 4, cout to 64)",
    "element_ms_per_mop": "ms per 1e6 element-wise ops (ADD, pooling, TANH, QUANTIZE, ...)",
    "stream_ms_per_mib": "ms per MiB of parameters streamed from the host at every inference",
    "in_ms_per_mib": "ms per MiB of segment input moved host -> device",
    "out_ms_per_mib": "ms per MiB of segment output moved device -> host",
    "act_ms_per_mib": "ms per MiB of activations written by ops with MACs (optional, 0)",
    "cache": "capacity = base_mib MiB - in_coef * input bytes - out_coef * output bytes",
}


@dataclass(frozen=True)
class DeviceProfile:
    """Parameters of the Edge TPU latency and caching models for one device/link."""

    name: str
    description: str = ""
    fixed_ms: float = 0.0
    compute_ms_per_gmac: dict[str, float] = field(default_factory=dict)
    element_ms_per_mop: float = 0.0
    stream_ms_per_mib: dict[str, float] = field(default_factory=dict)
    in_ms_per_mib: float = 0.0
    out_ms_per_mib: float = 0.0
    act_ms_per_mib: float = 0.0
    cache_base_mib: float = 7.77
    cache_in_coef: float = 0.0
    cache_out_coef: float = 0.0
    source: str = "<built-in>"

    def compute(self, op_type: str) -> float:
        """ms per GMAC for ``op_type`` (``OTHER`` for types without their own entry)."""
        d = self.compute_ms_per_gmac
        return d.get(op_type, d.get("OTHER", 0.0))

    def stream(self, op_type: str) -> float:
        """ms per streamed MiB for ``op_type`` (``OTHER`` for types without their own entry)."""
        d = self.stream_ms_per_mib
        return d.get(op_type, d.get("OTHER", 0.0))

    def to_json(self) -> dict[str, Any]:
        """The profile as the JSON object :func:`load_profile` reads."""
        d = asdict(self)
        d.pop("source")
        cache = {"base_mib": d.pop("cache_base_mib"), "in_coef": d.pop("cache_in_coef"),
                 "out_coef": d.pop("cache_out_coef")}
        d["cache"] = cache
        d["fields"] = _FIELDS_DOC
        return d

    def with_name(self, name: str, description: str | None = None) -> DeviceProfile:
        """A copy with another name (and description)."""
        return replace(self, name=name, description=self.description if description is None
                       else description)


def _number(value: Any, where: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TpusplitError(f"{source}: {where} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise TpusplitError(f"{source}: {where} must be a finite number >= 0, got {value!r}")
    return v


def _per_op(value: Any, where: str, source: str) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise TpusplitError(f"{source}: {where} must be an object mapping op types to numbers")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str):
            raise TpusplitError(f"{source}: {where} keys must be op type names")
        out[k] = _number(v, f"{where}.{k}", source)
    if "OTHER" not in out:
        raise TpusplitError(f"{source}: {where} needs an 'OTHER' entry (the default)")
    return out


def profile_from_dict(data: Any, source: str) -> DeviceProfile:
    """Validate a parsed profile object; ``source`` names it in error messages."""
    if not isinstance(data, dict):
        raise TpusplitError(f"{source}: a device profile must be a JSON object")
    required = ("name", "fixed_ms", "compute_ms_per_gmac", "element_ms_per_mop",
                "stream_ms_per_mib", "in_ms_per_mib", "out_ms_per_mib", "cache")
    missing = [k for k in required if k not in data]
    if missing:
        raise TpusplitError(f"{source}: device profile lacks {', '.join(missing)}")
    name = data["name"]
    if not isinstance(name, str) or not name:
        raise TpusplitError(f"{source}: name must be a non-empty string")
    cache = data["cache"]
    if not isinstance(cache, dict) or not {"base_mib", "in_coef", "out_coef"} <= set(cache):
        raise TpusplitError(f"{source}: cache must be an object with base_mib, in_coef, "
                            f"out_coef")
    base = _number(cache["base_mib"], "cache.base_mib", source)
    if not 0 < base <= 64:
        raise TpusplitError(f"{source}: cache.base_mib must be in (0, 64] MiB, got {base}")
    return DeviceProfile(
        name=name,
        description=str(data.get("description", "")),
        fixed_ms=_number(data["fixed_ms"], "fixed_ms", source),
        compute_ms_per_gmac=_per_op(data["compute_ms_per_gmac"], "compute_ms_per_gmac", source),
        element_ms_per_mop=_number(data["element_ms_per_mop"], "element_ms_per_mop", source),
        stream_ms_per_mib=_per_op(data["stream_ms_per_mib"], "stream_ms_per_mib", source),
        in_ms_per_mib=_number(data["in_ms_per_mib"], "in_ms_per_mib", source),
        out_ms_per_mib=_number(data["out_ms_per_mib"], "out_ms_per_mib", source),
        act_ms_per_mib=_number(data.get("act_ms_per_mib", 0.0), "act_ms_per_mib", source),
        cache_base_mib=base,
        cache_in_coef=_number(cache["in_coef"], "cache.in_coef", source),
        cache_out_coef=_number(cache["out_coef"], "cache.out_coef", source),
        source=source,
    )


def shipped_path(name: str) -> Path:
    """Path of the shipped profile ``name``."""
    return Path(str(resources.files("tpusplit.costs") / "profiles" / f"{name}.json"))


def load_profile(profile: str | Path | DeviceProfile) -> DeviceProfile:
    """A :class:`DeviceProfile` from a shipped name, a JSON file path, or a profile.

    Raises:
        TpusplitError: unknown name, missing/unreadable file, bad JSON, bad or negative values.
    """
    if isinstance(profile, DeviceProfile):
        return profile
    text = str(profile)
    if isinstance(profile, str) and text in DEVICES:
        path = shipped_path(text)
    else:
        path = Path(text)
        if not path.suffix and not path.exists():
            raise TpusplitError(f"{text}: unknown device; use one of {', '.join(DEVICES)} "
                                f"or a profile .json file")
    try:
        raw = path.read_text()
    except FileNotFoundError:
        raise TpusplitError(f"{path}: device profile not found") from None
    except OSError as exc:
        raise TpusplitError(f"{path}: cannot read device profile ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise TpusplitError(f"{path}: device profile is not UTF-8 JSON text") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TpusplitError(f"{path}: malformed JSON at line {exc.lineno}: {exc.msg}") from None
    return profile_from_dict(data, str(path))


def save_profile(profile: DeviceProfile, path: str | Path) -> None:
    """Write ``profile`` as an indented JSON file (the format :func:`load_profile` reads)."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(profile.to_json(), indent=2) + "\n")
    except OSError as exc:
        raise TpusplitError(f"{p}: cannot write device profile ({exc.strerror})") from None
