"""The rebalancing decision against brute force over every single move."""

from __future__ import annotations

import numpy as np
import pytest

from tpusplit.pipeline.rebalance import Move, plan_move


def test_plan_move_picks_the_best_single_move() -> None:
    # stage 0 takes 20 ms on 1 worker, stage 1 4 ms on 3: move one of stage 1's to stage 0
    assert plan_move([20.0, 4.0], [1, 3], 0.9) == (1, 0, 20.0, 10.0)
    assert plan_move([20.0, 4.0], [1, 1], 0.9) is None  # nothing to spare
    assert plan_move([10.0, 10.0], [1, 2], 0.9) is None  # no gain: 10 -> 10
    # brute force over every single move on random cases
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(1, 5))
        times = [float(t) for t in rng.uniform(1, 20, k)]
        reps = [int(r) for r in rng.integers(1, 4, k)]
        got = plan_move(times, reps, 0.9)
        before = max(t / r for t, r in zip(times, reps, strict=True))
        best = None
        for a in range(k):
            for b in range(k):
                if a == b or reps[a] < 2:
                    continue
                moved = list(reps)
                moved[a] -= 1
                moved[b] += 1
                after = max(t / r for t, r in zip(times, moved, strict=True))
                if after < 0.9 * before and (best is None or after < best):
                    best = after
        assert (got is None) == (best is None)
        if got is not None:
            assert got[3] == pytest.approx(best) and got[2] == pytest.approx(before)


def test_a_move_describes_itself_in_one_line() -> None:
    line = Move(1, 0, 2, 55, 9.02, 4.51).describe()
    assert line == ("moved the replica on device 2 from stage 1 to stage 0 after 55 results: "
                    "measured bottleneck 9.02 ms per input, expected 4.51")
