"""The study benchmarks' own arithmetic (benchmarks/whole_space_rankings, search_ranking,
whole_space_search, gpu_equivalent), on small hand-made tables."""
import numpy as np
import pandas as pd

from benchmarks import gpu_equivalent, search_ranking, whole_space_rankings, whole_space_search
from knas.results import stats


def test_a_smaller_is_better_proxy_is_turned_once_in_the_rankings_table():
    truth = pd.Series([90.0, 80.0, 70.0, 60.0])
    scores = pd.DataFrame({"gram_cond": [1.0, 2.0, 3.0, 4.0], "params": [4.0, 3.0, 2.0, 1.0]})
    rankings = whole_space_rankings.ranking_frame(scores, ["gram_cond", "params",
                                                           "logrank:gram_cond+params"])
    table = stats.correlation_table(rankings, list(rankings.columns), truth).set_index("proxy")
    assert table["spearman"].tolist() == [1.0, 1.0, 1.0]  # a double turn made gram_cond -1


def test_search_outcome_picks_by_the_fine_stage_among_each_pools_top_k():
    ranking = pd.Series([5.0, 4.0, 3.0, 2.0, 1.0])
    fine = np.array([10.0, 30.0, 20.0, 99.0, 0.0])  # cell 3 is best at 12 epochs, ranked 4th
    test = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    pools = np.array([[0, 1, 2, 3], [4, 3, 2, 1]])
    # k = 2: pool 0 keeps cells 0 and 1, picks 1; pool 1 keeps 1 and 2, picks 1
    assert search_ranking.search_outcome(ranking, pools, fine, test, 2) == 2.0
    # k = 4: both pools keep cell 3 and pick it
    assert search_ranking.search_outcome(ranking, pools, fine, test, 4) == 4.0


def test_whole_space_picks_and_seed_lists():
    order = np.array([2, 0, 1, 3])
    fine = np.array([5.0, 1.0, 3.0, 9.0])
    assert whole_space_search.picks(order, fine, [1, 2, 4]) == {1: 2, 2: 0, 4: 3}
    assert whole_space_search.seeds_arg("0-3") == [0, 1, 2, 3]
    assert whole_space_search.seeds_arg("0,5") == [0, 5]


def test_kept_scores_come_back_bit_for_bit_and_only_for_their_own_batch(tmp_path, capsys):
    import pytest

    size = whole_space_search.NB201.size
    rng = np.random.default_rng(0)
    scores = pd.DataFrame({"meco": rng.normal(size=size), "gram_cond": rng.normal(size=size)})
    scores.loc[3, "gram_cond"] = np.inf  # a singular Gram matrix ranks worst
    path = whole_space_search.kept_file(tmp_path, 4)
    whole_space_search.write_kept(path, scores, ("cifar10:abc", "s1"))
    back = whole_space_search.read_kept(path, ("cifar10:abc", "s1"))
    assert list(back.columns) == ["meco", "gram_cond"]
    assert (back.to_numpy() == scores.to_numpy()).all() and back.index.equals(scores.index)
    other = whole_space_search.read_kept(path, ("cifar10:abd", "s1"))  # another image batch
    assert other.empty and len(other.index) == size and "not used" in capsys.readouterr().out
    assert whole_space_search.read_kept(tmp_path / "seed5.npz", ("cifar10:abc", "s1")).empty
    with pytest.raises(ValueError, match="every cell"):
        whole_space_search.write_kept(path, scores.iloc[:10], ("cifar10:abc", "s1"))


def test_classic_rows_report_the_test_accuracy_of_each_simulated_searchs_cell():
    from knas import spaces
    from knas.search import classic

    space = spaces.get("nb201")
    columns = space.truth_columns("cifar100")
    rewards = np.random.default_rng(0).uniform(1, 70, space.size)
    table12 = pd.DataFrame({columns.short: rewards})
    test = rewards + 1.0  # the reported accuracy is the test column, not the reward
    lines = whole_space_search._classic_lines("cifar100", test, table12, None, repeats=2)
    rows = {line.split(" | ")[0].strip("| "): line for line in lines if line.startswith("| ")}
    assert set(rows) == {"search", "rs", "rea", "reinforce", "tpe"}  # not bohb (trains), nsga2
    oracle = classic.table_oracle(space, "cifar100", table12)
    chosen = [classic.run("rea", oracle, seed)[1].chosen for seed in (0, 1)]
    assert rows["rea"].split(" | ")[1] == whole_space_search._pm(test[chosen])
    assert "40,000 s" in lines[0]  # CIFAR-100's simulated budget


def test_gpu_speedup_compares_seconds_per_training_image():
    # NAS-Bench-201: 2.5 s an epoch of 25,000 images is 1e-4 s an image; 2e-3 s here is 20x slower
    ratios = gpu_equivalent.speedups([2e-3, 5e-4], [2.5, 2.5])
    np.testing.assert_allclose(ratios, [20.0, 5.0])
