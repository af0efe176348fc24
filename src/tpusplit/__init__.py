"""tpusplit: split int8 TFLite CNNs into pipeline segments for several Edge TPUs and run them.

Layers (each imports only the ones above it; ``errors`` is a leaf every layer may use):

1. ``graph``      read .tflite, costs per op, cuts, write segments
2. ``models``     model builders: synthetic families, random nets, NASBench-101 cells, zoo
3. ``pipeline``   backends (LiteRT CPU, Edge TPU delegate) and the pipeline runner
4. ``costs``      cost sources: Edge TPU model and device profiles, profiler, predictor
5. ``sim``        multi-device pipeline simulator
6. ``strategies`` one file per strategy, a registry, the Plan type
7. ``report``     tables, JSON, plots
8. ``cli``        thin command line
"""

from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load, split

__all__ = ["Graph", "TpusplitError", "load", "split"]
__version__ = "0.1.0"
