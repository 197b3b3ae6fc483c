import numpy as np
import pytest

from benchmarks.m4_claim import bootstrap_mean_difference, subset_claims, tail_vs_naive


def test_bootstrap_interval_of_a_constant_difference_is_that_difference():
    ours = np.array([1.0, 2.0, 3.5, 0.5])
    assert bootstrap_mean_difference(ours, ours + 0.25) == pytest.approx((-0.25, -0.25, -0.25))


def test_bootstrap_interval_matches_the_normal_approximation():
    rng = np.random.default_rng(0)
    reference = rng.gamma(2.0, 1.0, 400)
    ours = reference + rng.normal(-0.1, 0.5, 400)
    diff, low, high = bootstrap_mean_difference(ours, reference)
    assert diff == pytest.approx(np.mean(ours - reference))
    half = 1.96 * np.std(ours - reference, ddof=1) / np.sqrt(400)
    assert low == pytest.approx(diff - half, abs=0.2 * half) and high == pytest.approx(diff + half, abs=0.2 * half)
    assert bootstrap_mean_difference(ours, reference) == (diff, low, high)  # seeded: reproducible


def test_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="need two equal non-empty 1-d arrays"):
        bootstrap_mean_difference(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="non-finite MASE values"):
        bootstrap_mean_difference(np.array([1.0, np.nan]), np.ones(2))


def test_subsets_are_every_sixth_series_in_file_order():
    ids = [f"W{i}" for i in range(1, 14)]
    ours = {k: 1.0 for k in ids} | {"W1": 4.0}
    reference = {k: 2.0 for k in ids}
    rows = subset_claims(ours, reference, ids)
    assert [r["subset"] for r in rows][:2] == ["all", "offset 0 (every 6th from W1)"] and len(rows) == 7
    offset0 = rows[1]  # W1, W7, W13
    assert offset0["n"] == 3 and offset0["ours"] == pytest.approx(2.0) and offset0["relative"] == pytest.approx(0.0)
    assert rows[2]["n"] == 2 and rows[2]["difference"] == pytest.approx(-1.0)
    # on a selection of the file, subsets keep the file's offsets
    chosen = {k: ours[k] for k in ("W2", "W7", "W8")}
    rows = subset_claims(chosen, reference, ids)
    assert [(r["subset"], r["n"]) for r in rows] == [
        ("all", 3),
        ("offset 0 (every 6th from W1)", 1),
        ("offset 1 (every 6th from W2)", 2),
    ]


def test_tail_counts_series_worse_than_naive_by_half():
    ours = {"a": 3.0, "b": 1.4, "c": 0.0, "d": 1.0}
    naive = {"a": 1.0, "b": 1.0, "c": 0.0, "d": 0.0}
    tail = tail_vs_naive(ours, naive, worst=2)
    assert tail["count"] == 2  # a (3x) and d (Naive perfect, ours not); c ties at 0
    assert [w["id"] for w in tail["worst"]] == ["d", "a"] and tail["worst"][1]["ratio"] == 3.0
