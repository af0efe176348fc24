"""Moving replicas between pipeline stages at run time: when, where to, and the record.

CodeProject.AI's Coral module rebalances a running pipeline by moving a TPU from a fast segment
to a slow one; :class:`~tpusplit.pipeline.runner.Pipeline` does the same when given a
:class:`Rebalance`. :func:`plan_move` is the decision (the best single move, brute-force
tested), :class:`Move` the record a run reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tpusplit.pipeline.backend import Stage


@dataclass
class Rebalance:
    """How :class:`Pipeline` may move replicas between stages at run time.

    ``load(stage, device)`` loads segment ``stage`` on ``device`` (called in the moving
    worker's thread); ``devices[i][j]`` is the device replica ``j`` of stage ``i`` runs on.
    Every ``interval_s`` seconds the watcher takes each stage's time per input over the
    inputs since the last look (at least ``min_items`` per stage) and moves one replica
    from the stage that spares it best to the slowest stage when the bottleneck would fall
    below ``gain`` times what it is; at most ``max_moves`` moves in all (measured times are
    noisy: no endless back and forth).
    """

    load: Callable[[int, int], Stage]
    devices: Sequence[Sequence[int]]
    interval_s: float = 0.5
    min_items: int = 8
    gain: float = 0.9
    max_moves: int = 4


@dataclass(frozen=True)
class Move:
    """One replica moved at run time: ``device`` from stage ``source`` to ``target``, after
    ``after_items`` results, when the measured bottleneck was ``before_ms`` per input and the
    move was expected to bring it to ``expected_ms``."""

    source: int
    target: int
    device: int
    after_items: int
    before_ms: float
    expected_ms: float

    def describe(self) -> str:
        """One line for reports."""
        return (f"moved the replica on device {self.device} from stage {self.source} to "
                f"stage {self.target} after {self.after_items} results: measured bottleneck "
                f"{self.before_ms:.2f} ms per input, expected {self.expected_ms:.2f}")


def plan_move(times_ms: Sequence[float], replicas: Sequence[int], gain: float
              ) -> tuple[int, int, float, float] | None:
    """The best single move of a replica: ``(source, target, before, after)`` periods (ms
    per input) when stage ``i`` takes ``times_ms[i]`` per input on each of its
    ``replicas[i]`` workers and the move brings the period below ``gain`` times today's;
    None otherwise. O(stages^2)."""
    periods = [t / r for t, r in zip(times_ms, replicas, strict=True)]
    before = max(periods)
    best: tuple[int, int, float, float] | None = None
    for a, ra in enumerate(replicas):
        if ra < 2:
            continue
        for b in range(len(replicas)):
            if b == a:
                continue
            after = max(times_ms[k] / (replicas[k] - (k == a) + (k == b))
                        for k in range(len(replicas)))
            if after < gain * before and (best is None or after < best[3]):
                best = (a, b, before, after)
    return best
