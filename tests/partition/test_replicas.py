"""The replica optimiser against its brute-force oracle: stages and replicas on N devices."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategy_costs import random_costs, tied_costs

from tpusplit.partition import (
    ReplicaPartition,
    minmax,
    replica_brute_force,
    replica_partition,
    replica_value,
)

KINDS = ("additive", "boundary", "cliff", "tied", "arbitrary")


def _costs(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Segment costs of one kind; ``arbitrary``: any positive value per segment, some
    impossible (inf) ones, nothing monotone."""
    if kind == "tied":
        return tied_costs(n, rng)
    if kind == "arbitrary":
        lat = np.where(rng.random((n + 1, n + 1)) < 0.1, np.inf,
                       rng.integers(1, 20, (n + 1, n + 1)).astype(float))
        lat[0, n] = float(rng.integers(1, 40))  # the whole model is always possible
        return lat
    return random_costs(n, kind, rng)[0]


def _same(got: ReplicaPartition, want: ReplicaPartition) -> None:
    assert got.value == want.value
    assert got.devices == want.devices
    assert got.latency == pytest.approx(want.latency, rel=1e-12, abs=1e-12)


def _check_plan(n: int, devices: int, got: ReplicaPartition, lat: np.ndarray, host: float,
                serial: float, max_stages: int | None, max_replicas: int | None,
                link: np.ndarray | None = None) -> None:
    assert list(got.cuts) == sorted(set(got.cuts)) and all(0 < c < n for c in got.cuts)
    assert got.stages == len(got.cuts) + 1 and min(got.replicas) >= 1
    assert got.devices <= devices
    assert max_stages is None or got.stages <= max_stages
    assert max_replicas is None or max(got.replicas) <= max_replicas
    assert (got.value, got.latency) == replica_value(
        n, got.cuts, got.replicas, lambda i, j: float(lat[i, j]), host, serial,
        None if link is None else lambda i, j: float(link[i, j]))


@settings(max_examples=250, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 8), devices=st.integers(1, 5),
       kind=st.sampled_from(KINDS), host=st.sampled_from([0.0, 0.5, 2.0]),
       serial=st.sampled_from([0.0, 0.25, 3.0]),
       max_stages=st.one_of(st.none(), st.integers(1, 3)),
       max_replicas=st.one_of(st.none(), st.integers(1, 3)),
       bound=st.sampled_from(["none", "loose", "exact"]), rounds=st.sampled_from([0, 2, 64]),
       shared=st.booleans())
def test_equals_brute_force_on_random_chains(seed: int, n: int, devices: int, kind: str,
                                             host: float, serial: float,
                                             max_stages: int | None, max_replicas: int | None,
                                             bound: str, rounds: int, shared: bool) -> None:
    rng = np.random.default_rng(seed)
    lat = _costs(n, kind, rng)
    shrink = rng.random((n + 1, n + 1))
    # a link the replicas of a stage share: a part of the segment's time (up to all of it)
    share = np.where(rng.random((n + 1, n + 1)) < 0.3, 1.0, rng.random((n + 1, n + 1)))
    link_m = np.where(np.isfinite(lat), lat * share, 0.0) if shared else None
    link = None if link_m is None else (lambda i, j: float(link_m[i, j]))
    calls: list[tuple[int, int]] = []

    def cost(i: int, j: int) -> float:
        calls.append((i, j))
        return float(lat[i, j])

    lower = {"none": None, "exact": lambda i, j: lat[i, j],
             "loose": lambda i, j: lat[i, j] * shrink[i, j]}[bound]
    want = replica_brute_force(n, devices, lambda i, j: float(lat[i, j]), host=host,
                               serial=serial, max_stages=max_stages, max_replicas=max_replicas,
                               link=link)
    got = replica_partition(n, devices, cost, lower=lower, host=host, serial=serial,
                            max_stages=max_stages, max_replicas=max_replicas, rounds=rounds,
                            link=link)
    _same(got, want)
    _check_plan(n, devices, got, lat, host, serial, max_stages, max_replicas, link_m)
    assert len(calls) == len(set(calls)), "each segment evaluated at most once"
    assert all(0 <= i < j <= n for i, j in calls)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 8), devices=st.integers(1, 6),
       kind=st.sampled_from(KINDS[:4]))
def test_hybrid_never_worse_than_pure_replicas_or_pure_pipeline(seed: int, n: int,
                                                               devices: int, kind: str) -> None:
    lat = _costs(n, kind, np.random.default_rng(seed))

    def cost(i: int, j: int) -> float:
        return float(lat[i, j])

    hybrid = replica_partition(n, devices, cost)
    replicas = replica_partition(n, devices, cost, max_stages=1)
    pipeline = replica_partition(n, devices, cost, max_replicas=1)
    assert hybrid.value <= min(replicas.value, pipeline.value)
    assert replicas.stages == 1 and replicas.value == min(float(lat[0, n]),
                                                          float(lat[0, n]) / devices)
    # the pure pipeline is today's minmax over every number of stages up to N
    best = min(minmax(n, k, cost).value for k in range(1, min(n, devices) + 1))
    assert pipeline.value == best and set(pipeline.replicas) == {1}


def test_host_terms_follow_the_documented_formulas() -> None:
    lat = {(0, 1): 4.0, (1, 2): 4.0, (0, 2): 8.0}

    def c(i: int, j: int) -> float:
        return lat[(i, j)]

    # one device: no host time at all
    assert replica_value(2, (), (1,), c, host=5.0, serial=5.0) == (8.0, 8.0)
    # two stages: each stage pays host; the serial term is stages * serial
    assert replica_value(2, (1,), (1, 1), c, host=1.0, serial=3.0) == (6.0, 10.0)
    # one stage on two replicas: (8 + 1) / 2, and serial counts the stage once
    assert replica_value(2, (), (2,), c, host=1.0, serial=3.0) == (4.5, 9.0)
    # with a heavy serial term replicas of one stage beat two stages
    best = replica_partition(2, 2, c, host=1.0, serial=3.0)
    assert (best.cuts, best.replicas, best.value) == ((), (2,), 4.5)
    # without host terms two stages and two replicas tie on period, devices and latency
    tie = replica_partition(2, 2, c)
    assert tie.value == 4.0 and tie.devices == 2 and tie.latency == 8.0


def test_fewest_devices_win_ties_on_the_period() -> None:
    # a pipeline's bottleneck op: two stages reach it, more stages only add devices
    w = [10.0, 1.0, 1.0]

    def cost(i: int, j: int) -> float:
        return sum(w[i:j])

    got = replica_partition(3, 8, cost, max_replicas=1)
    assert (got.cuts, got.value, got.devices) == ((1,), 10.0, 2)
    # with replicas, the whole model on two devices does better: 12 / 2 = 6
    assert replica_partition(3, 2, cost).replicas == (2,)


def test_an_exact_bound_settles_with_few_evaluations() -> None:
    w = np.arange(1, 41, dtype=float)
    prefix = np.concatenate([[0.0], np.cumsum(w)])
    calls: set[tuple[int, int]] = set()

    def cost(i: int, j: int) -> float:
        calls.add((i, j))
        return float(prefix[j] - prefix[i] + 3.0)

    got = replica_partition(40, 8, cost, lower=lambda i, j: prefix[j] - prefix[i] + 3.0)
    want = replica_partition(40, 8, cost)
    assert got == want
    assert len(calls) < 40 * 41 // 2


def test_known_evaluations_are_shared_and_reused() -> None:
    lat = random_costs(7, "cliff", np.random.default_rng(3))[0]
    known: dict[tuple[int, int], float] = {}
    first = replica_partition(7, 4, lambda i, j: float(lat[i, j]), known=known)
    assert known and all(known[s] == lat[s] for s in known)

    def fail(i: int, j: int) -> float:
        raise AssertionError(f"segment {(i, j)} evaluated again")

    again = replica_partition(7, 4, lambda i, j: known[(i, j)] if (i, j) in known
                              else fail(i, j), known=dict(known))
    assert again == first


def test_bad_arguments_and_impossible_chains() -> None:
    def one(i: int, j: int) -> float:
        return 1.0

    for args, kw in (((0, 2), {}), ((3, 0), {}), ((3, 2), {"host": -1.0}),
                     ((3, 2), {"serial": math.inf}), ((3, 2), {"max_stages": 0}),
                     ((3, 2), {"max_replicas": 0})):
        with pytest.raises(ValueError):
            replica_partition(*args, one, **kw)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            replica_brute_force(*args, one, **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no finite plan"):
        replica_partition(3, 2, lambda i, j: math.inf)
    with pytest.raises(ValueError, match="no finite plan"):
        replica_brute_force(3, 2, lambda i, j: math.inf)
    with pytest.raises(ValueError, match="replica counts"):
        replica_value(3, (1,), (1,), one)


def test_replicas_sharing_a_link_pass_one_input_per_link_time() -> None:
    # the whole model takes 12, of which 9 on the link its replicas share: its replicas
    # pass one input per 9 (not 12 / r), so two stages of 6 each (link 4.5) do better
    lat = {(0, 1): 6.0, (1, 2): 6.0, (0, 2): 12.0}

    def c(i: int, j: int) -> float:
        return lat[(i, j)]

    def link(i: int, j: int) -> float:
        return 0.75 * lat[(i, j)]

    assert replica_value(2, (), (4,), c) == (3.0, 12.0)
    assert replica_value(2, (), (4,), c, link=link) == (9.0, 12.0)
    assert replica_value(2, (), (1,), c, link=link) == (12.0, 12.0)  # one device: no turns
    assert replica_value(2, (1,), (2, 2), c, link=link) == (4.5, 12.0)
    assert replica_partition(2, 3, c).replicas == (3,)
    got = replica_partition(2, 3, c, link=link)
    assert (got.cuts, got.replicas, got.value) == ((1,), (1, 1), 6.0)
