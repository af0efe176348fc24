"""Help texts the commands share that list what the catalogue and the registries hold."""

from __future__ import annotations

from tpusplit.devices.catalogue import REGISTRY, device_help
from tpusplit.strategies import names

#: ``--device`` of the commands that run or simulate (every device name).
DEVICE_HELP = device_help()
#: ``--device`` of the commands that plan (devices with a cost source).
DEVICE_HELP_PLANNING = device_help(planning=True)
#: The Edge TPU device names (the demo simulates one of them).
EDGETPUS = [name for name, d in REGISTRY.items() if d.backend == "edgetpu"]
#: ``--strategy``.
STRATEGY_HELP = (f"One of {', '.join(names(include_oracles=True))} (default optimal; profiled "
                 "with --cost profile).")
