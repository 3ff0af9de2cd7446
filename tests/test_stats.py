"""knas.results.stats: rank correlations and rank aggregation, each proxy's direction honoured."""
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from knas import proxies
from knas.results import stats
from knas.search.specs import Method


@pytest.fixture
def smaller_is_better(monkeypatch):
    """A registered proxy whose smaller scores are better (as TE-NAS's NTK condition number)."""
    entry = replace(proxies.CATALOG["params"], name="small", bigger_is_better=False)
    monkeypatch.setitem(proxies.CATALOG, "small", entry)
    return "small"


def test_log_rank_is_azs_sum_of_log_rank_fractions():
    frame = pd.DataFrame({"a": [3.0, 1.0, 2.0, 2.0], "b": [10.0, 30.0, 20.0, 40.0]})
    ranks_a, ranks_b = np.array([4, 1, 2.5, 2.5]), np.array([1, 3, 2, 4])
    expected = np.log(ranks_a / 4) + np.log(ranks_b / 4)
    assert np.allclose(stats.log_rank(frame, ["a", "b"]), expected)
    geo = stats.geometric_mean_rank(frame, ["a", "b"])
    assert np.allclose(geo, np.sqrt(ranks_a / 4 * ranks_b / 4))
    assert list(geo.rank()) == list(stats.log_rank(frame, ["a", "b"]).rank())


def test_log_rank_punishes_one_bad_member_more_than_the_mean_rank():
    # cell 0: best on a, worst on b; cell 1: in the middle on both. Mean rank ties them.
    frame = pd.DataFrame({"a": [5.0, 3.0, 4.0, 2.0, 1.0], "b": [1.0, 3.0, 5.0, 4.0, 2.0]})
    mean = stats.rank_ensemble(frame, ["a", "b"])
    log = stats.log_rank(frame, ["a", "b"])
    assert mean[0] == pytest.approx(mean[1])
    assert log[1] > log[0]


def test_missing_scores_rank_worst_in_the_log_rank():
    frame = pd.DataFrame({"a": [1.0, math.nan, 3.0], "b": [1.0, 5.0, 3.0]})
    log = stats.log_rank(frame, ["a", "b"])
    assert log.notna().all() and log.idxmax() == 2 and log[1] < log[2]


def test_direction_is_honoured_in_rankings_and_correlations(smaller_is_better):
    frame = pd.DataFrame({"small": [1.0, 2.0, 3.0, 4.0], "params": [4.0, 3.0, 2.0, 1.0]})
    truth = pd.Series([90.0, 80.0, 70.0, 60.0])
    table = stats.correlation_table(frame, ["small", "params"], truth).set_index("proxy")
    assert table.loc["small", "spearman"] == pytest.approx(1.0)
    assert table.loc["params", "spearman"] == pytest.approx(1.0)
    assert list(stats.aggregate(frame, Method(("small",))).rank()) == [4.0, 3.0, 2.0, 1.0]
    for how in ("ensemble", "logrank", "geomean"):
        ranking = stats.aggregate(frame, Method(("small", "params"), how))
        assert ranking.idxmax() == 0 and ranking.idxmin() == 3, how


def test_every_named_ranking_parses_to_its_members_and_is_offered_where_they_apply():
    from knas import spaces
    from knas.ui import forms

    nb201, scratch = spaces.get("nb201"), spaces.get("text-scratch")
    for name, named in proxies.RANKINGS.items():
        method = Method.parse(name)
        assert str(method) == name and method.members == named.members
        assert method.aggregation == named.aggregation and named.good_at
        assert all(m in proxies.CATALOG for m in named.members)
        assert name in forms.applicable_methods(nb201) and name in forms.proxy_label(name, nb201)
        # a space where a member does not apply is not offered the ranking
        assert (name in forms.applicable_methods(scratch)) == all(
            proxies.unmet(m, scratch.capabilities) is None for m in named.members)
    assert "recommended_top" not in forms.applicable_methods(scratch)  # swap_reg: no size prior


def test_ndcg_rewards_the_top_of_the_ranking_as_vkdnw_defines_it():
    truth = np.array([4.0, 3.0, 2.0, 1.0])  # gains 2^a - 1: 15, 7, 3, 1
    assert stats.ndcg(truth, truth) == pytest.approx(1.0)
    # by hand: gains in the proxy's order over the ideal order, each position i discounted 1/log2(i+1)
    ideal = 15 / 1 + 7 / np.log2(3) + 3 / 2 + 1 / np.log2(5)
    swapped_top = (7 / 1 + 15 / np.log2(3) + 3 / 2 + 1 / np.log2(5)) / ideal
    assert stats.ndcg(np.array([3.0, 4.0, 2.0, 1.0]), truth) == pytest.approx(swapped_top)
    swapped_bottom = stats.ndcg(np.array([4.0, 3.0, 1.0, 2.0]), truth)
    assert swapped_bottom > swapped_top  # a swap costs less lower down
    tied = (11 / 1 + 11 / np.log2(3)) / (15 / 1 + 7 / np.log2(3))  # a tie shares its gains
    assert stats.ndcg(np.array([1.0, 1.0, 0.0, 0.0]), truth, k=2) == pytest.approx(tied)
    # cells tied at the cut are all in: 82 and 90 share the first place
    assert stats.regret(np.array([1.0, 0.0, 1.0, 0.0]), np.array([82.0, 94.0, 90.0, 86.0]), 1) == 4.0


def test_regret_and_top_precision_speak_of_the_cells_a_search_keeps():
    truth = np.arange(200, dtype=float)
    scores = truth.copy()
    scores[199], scores[0] = 0.0, 199.0  # the best cell ranked last, the worst first
    assert stats.regret(scores, truth, 1) == 199.0
    assert stats.regret(scores, truth, 10) == 1.0
    assert stats.top_overlap(scores, truth, 0.01) == 0.5  # 2 cells: one of the truly best two
    table = stats.correlation_table(pd.DataFrame({"p": scores}), ["p"], pd.Series(truth))
    assert table.loc[0, ["regret_top1", "regret_top10", "top1_precision"]].tolist() == [199.0, 1.0, 0.5]


def test_bootstrap_interval_holds_the_statistic_and_narrows_with_more_cells():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=400)
    scores = truth + rng.normal(size=400)
    rho = stats.spearman(scores, truth)
    lo, hi = stats.bootstrap_interval(stats.spearman, scores, truth, draws=300)
    assert lo < rho < hi and hi - lo < 0.2
    few_lo, few_hi = stats.bootstrap_interval(stats.spearman, scores[:40], truth[:40], draws=300)
    assert few_hi - few_lo > hi - lo  # fewer cells, wider interval
    assert all(math.isnan(v) for v in stats.bootstrap_interval(stats.spearman, scores[:2], truth[:2]))
