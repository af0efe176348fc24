"""Partitioning a chain: cut ops ``[0, n)`` into ``k`` contiguous segments, slowest segment first.

Pure functions over ``(n, k, cost(i, j))`` (``cost(i, j)`` is what segment ``[i, j)`` costs);
they import nothing else of tpusplit, so every layer can use them. In the spirit of
torchgpipe's ``balance/blockpartition.py``, with the reference oracle kept beside the fast
algorithms (onnx's ``reference`` style)::

    >>> from tpusplit.partition import minmax
    >>> weights = [3, 1, 4, 1, 5, 9, 2, 6]
    >>> minmax(8, 3, lambda i, j: sum(weights[i:j])).cuts
    (4, 6)

* :func:`minmax`: the exact minimum-bottleneck partition for arbitrary costs (a pruned
  dynamic programme ordered by optional lower bounds), with a streamed-bytes objective and a
  shortest-fill tie-break as options;
* :func:`probe` and :func:`bisect`: probe-and-bisect (Pinar & Aykanat 2004), exact for
  monotone costs and a fast incumbent otherwise;
* :func:`brute_force`: every partition tried, the oracle the others are tested against;
* :func:`spans` and :func:`bottleneck`: cuts to segment bounds, and a partition's value;
* :func:`replica_partition`: stages *and* replicas per stage on at most N devices, exactly
  (:func:`replica_brute_force`, its oracle; :func:`replica_value`, a plan's period and
  latency);
* :func:`cluster_partition` / :func:`hetero_partition`: a mix of device kinds, on several
  hosts or one, exactly (one programme; :func:`cluster_brute_force`,
  :func:`hetero_brute_force`, their oracles).
"""

from tpusplit.partition.bisection import bisect, probe
from tpusplit.partition.chain import Partition, bottleneck, check_counts, spans
from tpusplit.partition.device_chain import (
    ClusterPartition,
    cluster_brute_force,
    cluster_partition,
    hetero_brute_force,
    hetero_partition,
)
from tpusplit.partition.dp import minmax, shortest_fill
from tpusplit.partition.oracle import brute_force
from tpusplit.partition.replicas import (
    ReplicaPartition,
    replica_brute_force,
    replica_partition,
    replica_value,
)

__all__ = ["ClusterPartition", "Partition", "ReplicaPartition", "bisect", "bottleneck",
           "brute_force", "check_counts", "cluster_brute_force", "cluster_partition",
           "hetero_brute_force", "hetero_partition", "minmax", "probe", "replica_brute_force",
           "replica_partition", "replica_value", "shortest_fill", "spans"]
