"""Edge TPU device profiles: one host and link's latency and caching parameters, as JSON files.

A profile describes one Edge TPU attached to one host over one link (``edgetpu-usb3``: an
x86-64 desktop with a USB Accelerator on USB 3). It holds three kinds of parameter; what each
term means, and why the model has it, is documented in :mod:`tpusplit.costs.edgetpu`:

- **host and link** (differ per host): ``fixed_ms`` per invoke, ``link_ms_per_mib`` for any
  byte crossing the link (input and output activations, streamed parameters), and
  ``host_ops_ms`` for known ops that run on the host CPU next to the Edge TPU graph;
- **Edge TPU** (the same chip everywhere, fitted on every host's data at once):
  ``conv_ms_per_mcycle``, ``depthwise_ms_per_mcycle``, ``fc_ms_per_ktile``,
  ``element_ms_per_mib``, ``op_ms``, ``act_in_ms_per_mib``, ``act_out_ms_per_mib`` and
  ``reread_mib``;
- **caching** (the compiler's rule): ``cache.base_mib``, ``cache.in_coef``, ``cache.out_coef``.

Every number must be finite and >= 0. :func:`load_profile` accepts a shipped profile name
(:data:`DEVICES`, or an alias of :data:`ALIASES`), a path, or a :class:`DeviceProfile`, and
raises a one-line :class:`~tpusplit.errors.TpusplitError` naming the file and the field for
anything else. Profiles written by tpusplit 0.1 (``compute_ms_per_gmac`` ...) are rejected with
a message saying so.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from tpusplit.errors import TpusplitError, read_json
from tpusplit.files import write_files

#: Version of the profile format written by :func:`save_profile`.
FORMAT = 2

#: The shipped profiles (``src/tpusplit/devices/edgetpu_profiles/<name>.json``).
DEVICES: tuple[str, ...] = ("edgetpu-usb3", "edgetpu-pcie", "edgetpu-usb2", "edgetpu-devboard",
                            "edgetpu-rpi4-usb3", "edgetpu-rpi3-usb2", "edgetpu-usb3-sweeps")

#: Other names accepted for shipped profiles.
ALIASES: dict[str, str] = {"edgetpu": "edgetpu-usb3", "edgetpu-usb3-x86": "edgetpu-usb3",
                           "edgetpu:usb": "edgetpu-usb3", "edgetpu:pci": "edgetpu-pcie"}

#: Per-host fields (the rest describe the Edge TPU itself and the compiler's caching rule).
HOST_FIELDS: tuple[str, ...] = ("fixed_ms", "link_ms_per_mib", "cpu_factor")

#: Per-host fields of a pipeline runner: host time per stage and input (see
#: :mod:`tpusplit.costs.runner`).
RUNNER_FIELDS: tuple[str, ...] = ("python_stage_ms", "coral_stage_ms")

#: Edge TPU fields, the same in every profile fitted together.
TPU_FIELDS: tuple[str, ...] = ("conv_ms_per_mcycle", "depthwise_ms_per_mcycle", "fc_ms_per_ktile",
                               "element_ms_per_mib", "op_ms", "act_in_ms_per_mib",
                               "act_out_ms_per_mib", "reread_mib", "reread_max",
                               "overflow_reads")

FIELDS_DOC: dict[str, str] = {
    "fixed_ms": "fixed cost of one invoke on this host (driver call, link round trip), ms",
    "link_ms_per_mib": "ms per MiB crossing the host link: segment inputs and outputs, "
                       "parameters streamed from host memory",
    "cpu_factor": "time of host-side ops (e.g. SSD post-processing) on this host's CPU relative "
                  "to the reference CPU they were timed on (data/coral-reference/host_cpu.csv)",
    "conv_ms_per_mcycle": "ms per million 64x64 array passes of CONV_2D (one pass: 64 output "
                          "channels x 64 reduction lanes at one output position)",
    "depthwise_ms_per_mcycle": "ms per million depthwise passes (64 channels, one kernel tap, one "
                               "output position)",
    "fc_ms_per_ktile": "ms per thousand 64x64 weight tiles of FULLY_CONNECTED layers",
    "element_ms_per_mib": "ms per MiB written by element-wise, pooling and concatenation ops",
    "op_ms": "ms per op run on the Edge TPU (issue and synchronisation)",
    "act_in_ms_per_mib": "ms per MiB of segment input on top of the link (host-side handling)",
    "act_out_ms_per_mib": "ms per MiB of segment output on top of the link (host-side handling)",
    "reread_mib": "a streamed layer's weights are read once per reread_mib MiB of its input + "
                  "output activations (channels padded to 64; at least once)",
    "reread_max": "at most this many reads from the activations alone (0: no limit)",
    "overflow_reads": "when the layer's activations plus the segment's input and output "
                      "(the demand) exceed the on-chip memory cache.base_mib, reads are "
                      "multiplied by overflow_reads * demand / cache.base_mib",
    "python_stage_ms": "host time per pipeline stage and input of a Python thread-and-queue "
                       "runner (tpusplit run); serialised across stages by the GIL",
    "coral_stage_ms": "host time per pipeline stage and input of libcoral's C++ "
                      "PipelinedModelRunner; stages overlap",
    "clock_mhz": "Edge TPU clock the chip's terms describe (500: libedgetpu1-max, 250: -std)",
    "expected_error_pct": "expected error of one TPU on a network the fit never saw (MAPE of "
                          "leave-one-model-out on this host's measured networks; 0: unknown)",
    "pipeline_error_pct": "expected error of a pipeline of several TPUs (MAPE on the measured "
                          "conv and fc pipelines; 0: unknown)",
    "pipeline_error_host": "the profile of the host those pipelines were measured on (the only "
                           "one that ran pipelines)",
    "cache": "capacity = base_mib MiB - in_coef * input bytes - out_coef * output bytes",
}


@dataclass(frozen=True)
class Reads:
    """How often streamed weights cross the link (:func:`tpusplit.costs.edgetpu.stream_reads`):
    ``reread_mib``, ``reread_max``, ``overflow_reads``, the on-chip memory (MiB) and the power
    of the demand in the overflow term (1 in every shipped profile; other values are what-ifs,
    ``benchmarks/edgetpu_model/what_if.py``)."""

    reread_mib: float = 0.0
    reread_max: float = 0.0
    overflow_reads: float = 0.0
    onchip_mib: float = 7.76
    overflow_power: float = 1.0


@dataclass(frozen=True)
class DeviceProfile:
    """Parameters of the Edge TPU latency and caching models for one host and link."""

    name: str
    description: str = ""
    host: str = ""
    link: str = ""
    fixed_ms: float = 0.0
    link_ms_per_mib: float = 0.0
    cpu_factor: float = 0.0
    conv_ms_per_mcycle: float = 0.0
    depthwise_ms_per_mcycle: float = 0.0
    fc_ms_per_ktile: float = 0.0
    element_ms_per_mib: float = 0.0
    op_ms: float = 0.0
    act_in_ms_per_mib: float = 0.0
    act_out_ms_per_mib: float = 0.0
    reread_mib: float = 0.0
    reread_max: float = 0.0
    overflow_reads: float = 0.0
    python_stage_ms: float = 0.0
    coral_stage_ms: float = 0.0
    clock_mhz: float = 500.0
    expected_error_pct: float = 0.0
    pipeline_error_pct: float = 0.0
    #: The profile of the host whose measured pipelines ``pipeline_error_pct`` comes from.
    pipeline_error_host: str = ""
    cache_base_mib: float = 7.76
    cache_in_coef: float = 0.0
    cache_out_coef: float = 0.0
    fit: dict[str, Any] = field(default_factory=dict)
    source: str = "<built-in>"

    def to_json(self) -> dict[str, Any]:
        """The profile as the JSON object :func:`load_profile` reads."""
        d = asdict(self)
        d.pop("source")
        d["cache"] = {"base_mib": d.pop("cache_base_mib"), "in_coef": d.pop("cache_in_coef"),
                      "out_coef": d.pop("cache_out_coef")}
        return {"format": FORMAT, **d, "fields": FIELDS_DOC}

    @property
    def cache(self) -> tuple[float, float, float]:
        """The compiler's caching rule: ``(base_mib, in_coef, out_coef)``."""
        return self.cache_base_mib, self.cache_in_coef, self.cache_out_coef

    @property
    def reads(self) -> Reads:
        """The profile's read parameters, with its cache size as the on-chip memory."""
        return Reads(self.reread_mib, self.reread_max, self.overflow_reads, self.cache_base_mib)

    def with_name(self, name: str, description: str | None = None) -> DeviceProfile:
        """A copy with another name (and description)."""
        return replace(self, name=name, description=self.description if description is None
                       else description)

    def with_tpu(self, other: DeviceProfile) -> DeviceProfile:
        """A copy whose Edge TPU and caching fields are ``other``'s (host fields kept)."""
        keep = {f: getattr(other, f) for f in TPU_FIELDS}
        return replace(self, **keep, cache_base_mib=other.cache_base_mib,
                       cache_in_coef=other.cache_in_coef, cache_out_coef=other.cache_out_coef)


#: No term of a real Edge TPU comes near this (ms, ms per unit, MiB, factors, MHz): a larger
#: value is a typo (or 1e308) that would plan absurd figures without a word.
PLAUSIBLE_MAX = 1e5


def _number(value: Any, where: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TpusplitError(f"{source}: {where} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise TpusplitError(f"{source}: {where} must be a finite number >= 0, got {value!r}")
    if v > PLAUSIBLE_MAX:
        raise TpusplitError(f"{source}: {where} = {value!r} is not a plausible value (at most "
                            f"{PLAUSIBLE_MAX:g})")
    return v


_NUMBERS = tuple(f.name for f in fields(DeviceProfile)
                 if f.type == "float" and not f.name.startswith("cache_"))
_DEFAULTS: dict[str, float] = {f.name: float(f.default) for f in fields(DeviceProfile)  # type: ignore[arg-type]
                               if f.name in _NUMBERS}


def profile_from_dict(data: Any, source: str) -> DeviceProfile:
    """Validate a parsed profile object; ``source`` names it in error messages."""
    if not isinstance(data, dict):
        raise TpusplitError(f"{source}: a device profile must be a JSON object")
    if "compute_ms_per_gmac" in data and "format" not in data:
        raise TpusplitError(f"{source}: a tpusplit 0.1 profile (format 1), no longer read; fit a "
                            f"new one with `tpusplit calibrate`")
    if data.get("format", FORMAT) != FORMAT:
        raise TpusplitError(f"{source}: profile format {data.get('format')!r}, expected {FORMAT}")
    required = ("name", "fixed_ms", "link_ms_per_mib", "conv_ms_per_mcycle", "cache")
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
    numbers = {k: _number(data.get(k, _DEFAULTS[k]), k, source) for k in _NUMBERS}
    if numbers["clock_mhz"] <= 0:
        raise TpusplitError(f"{source}: clock_mhz must be > 0, got {numbers['clock_mhz']}")
    fit = data.get("fit", {})
    if not isinstance(fit, dict):
        raise TpusplitError(f"{source}: fit must be an object")
    return DeviceProfile(
        name=name, description=str(data.get("description", "")), host=str(data.get("host", "")),
        link=str(data.get("link", "")),
        pipeline_error_host=str(data.get("pipeline_error_host", "")),
        cache_base_mib=base,
        cache_in_coef=_number(cache["in_coef"], "cache.in_coef", source),
        cache_out_coef=_number(cache["out_coef"], "cache.out_coef", source),
        fit=fit, source=source, **numbers)


def shipped_path(name: str) -> Path:
    """Path of the shipped profile ``name``."""
    return Path(str(resources.files("tpusplit.devices") / "edgetpu_profiles" / f"{name}.json"))


def load_profile(profile: str | Path | DeviceProfile) -> DeviceProfile:
    """A :class:`DeviceProfile` from a shipped name, a JSON file path, or a profile.

    Raises:
        TpusplitError: unknown name, missing/unreadable file, bad JSON, bad or negative values.
    """
    if isinstance(profile, DeviceProfile):
        return profile
    text = str(profile)
    text = ALIASES.get(text, text)
    if isinstance(profile, str) and text in DEVICES:
        path = shipped_path(text)
    else:
        path = Path(text)
        if not path.suffix and not path.exists():
            raise TpusplitError(f"{text}: unknown device; use one of {', '.join(DEVICES)} "
                                f"or a profile .json file")
    return profile_from_dict(read_json(path, "device profile (JSON)"), str(path))


def save_profile(profile: DeviceProfile, path: str | Path) -> None:
    """Write ``profile`` as an indented JSON file (the format :func:`load_profile` reads)."""
    write_files({Path(path): json.dumps(profile.to_json(), indent=2) + "\n"},
                "device profile")
