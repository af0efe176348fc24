"""Model spec strings: one name for every model tpusplit can build (``InceptionV4-slim``).

- ``conv-<F>``: the synthetic conv family (:func:`tpusplit.models.synthetic.conv`);
- ``fc-<N>``: the synthetic fully connected family (:func:`tpusplit.models.synthetic.fc`);
- ``nasbench-<seed>[-c<channels>][-i<size>]``: a NASBench-101-space network
  (:func:`tpusplit.models.nasbench.nasbench_net`; defaults 32 channels, 32x32 input);
- a zoo name (``tpusplit zoo list``): built-in architectures are built on the spot, Keras
  ones are read from the zoo cache (``tpusplit zoo build NAME`` first).
"""

from __future__ import annotations

from tpusplit.errors import TpusplitError
from tpusplit.models import zoo
from tpusplit.models.nasbench import nasbench_net
from tpusplit.models.synthetic import conv, fc

#: Scale of the NASBench-101-space models: a 32x32x3 input as in the space, but a 32-channel
#: stem instead of 128 so a CPU profiles thousands of segments in minutes.
NASBENCH_SIZE = 32
NASBENCH_CHANNELS = 32


def build_spec(spec: str) -> bytes:
    """The model bytes of ``spec`` (see the module docstring).

    Raises:
        TpusplitError: a spec in none of the forms, or a Keras zoo model not built yet.
    """
    if spec in zoo.ZOO:
        entry = zoo.ZOO[spec]
        return zoo.zoo_path(spec).read_bytes() if entry.kind == "keras" else \
            zoo.model_bytes(spec)
    parts = spec.split("-")
    try:
        if parts[0] == "nasbench":
            opts = {p[0]: int(p[1:]) for p in parts[2:]}
            if not set(opts) <= {"c", "i"}:
                raise ValueError(spec)
            return nasbench_net(int(parts[1]), size=opts.get("i", NASBENCH_SIZE),
                                channels=opts.get("c", NASBENCH_CHANNELS))
        if parts[0] == "conv" and len(parts) == 2 and int(parts[1]) > 0:
            return conv(int(parts[1]))
        if parts[0] == "fc" and len(parts) == 2 and int(parts[1]) > 0:
            return fc(int(parts[1]))
    except (ValueError, IndexError):
        pass
    raise TpusplitError(f"model spec {spec!r}: expected conv-<F>, fc-<N>, nasbench-<seed> or a "
                        f"zoo name")
