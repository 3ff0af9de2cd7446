"""Search configs and the two-stage pipeline on the real CIFAR-10 subset and real ground truth."""
import math

import pytest

from knas.spaces.nb201 import cells as space
from knas.scoring.cache import ScoreCache
from knas.search.config import ConfigError, SearchConfig
from knas.search.pipeline import Search, summarise
from knas.search.specs import FineStage, Pool
from tests.conftest import NB201


@pytest.fixture(scope="module")
def paths(shared_data):
    return {
        "data": str(shared_data / "cifar10" / "cifar10_small.npz"),
        "truth": str(shared_data / "nb201" / "nb201_accuracies.csv"),
        "table12": str(shared_data / "nb201" / "nb201_12epoch.csv"),
        "costs": str(shared_data / "nb201" / "nb201_costs.csv"),
    }


def _config(paths, **changes):
    values = dict(data=paths["data"], truth=paths["truth"], pool="random:24", proxy="params", k=4,
                  n=4, fine="lookup:cifar10_valid", costs=paths["costs"])
    values.update(changes)
    return SearchConfig(**values)


@pytest.mark.parametrize("changes, field, message", [
    ({"k": 25}, "k", "larger than the pool (24 cells)"),
    ({"k": 0}, "k", "at least 1"),
    ({"pool": "random:15626"}, "pool", "bad pool"),
    ({"pool": "range:10:5"}, "pool", "bad pool"),
    ({"n": 1}, "n", "at least 2 samples"),
    ({"proxy": "zenith"}, "proxy", "unknown proxy 'zenith'"),
    ({"proxy": "ensemble:mgm+zenith"}, "proxy", "unknown proxy 'zenith'"),
    ({"baselines": ("random", "zenith")}, "baselines", "unknown proxy 'zenith'"),
    ({"data": "/no/such/cifar"}, "data", "does not exist"),
    ({"data": ""}, "data", "no dataset path"),
    ({"dataset": "mnist"}, "dataset", "unknown dataset"),
    ({"truth": "/no/such.csv"}, "truth", "does not exist"),
    ({"truth": "", "fine": "lookup:cifar10_valid"}, "fine", "needs a ground-truth table"),
    ({"fine": "lookup:cifar10_nope"}, "fine", "no column 'cifar10_nope'"),
    ({"fine": "train:0"}, "fine", "bad fine stage"),
    ({"fine": "guess"}, "fine", "bad fine stage"),
    ({"repeats": 0}, "repeats", "at least 1"),
    ({"report": "imagenet16_nope"}, "report", "no column"),
    ({"params": "first:11"}, "params", "bad parameter selection"),
    ({"proxy": "ensemble:"}, "proxy", "choose at least one proxy"),
    ({"proxy": "rea"}, "proxy", "is a baseline"),
    ({"baselines": ("rea",), "budget": 0.0}, "budget", "positive number of seconds"),
    ({"baselines": ("rea",), "budget": -5.0}, "budget", "positive number of seconds"),
    ({"baselines": ("rs",), "costs": ""}, "costs", "give the costs table"),
    ({"baselines": ("tpe",), "fine": "lookup:cifar10_valid"}, "table12", "12-epoch table"),
    ({"baselines": ("bohb",)}, "budget", "trains cells for real"),
    ({"costs": "/no/costs.csv"}, "costs", "does not exist"),
    ({"n": "32"}, "n", "whole number"),
    ({"seed": -1}, "seed", "0 or a positive"),
])
def test_each_impossible_setting_is_rejected_with_its_field(paths, changes, field, message):
    config = _config(paths, **changes)
    errors = config.errors()
    assert field in errors and message in errors[field], errors
    with pytest.raises(ConfigError) as info:
        config.validate()
    assert field in info.value.errors


def test_valid_config_has_no_errors_and_a_stable_key(paths):
    config = _config(paths)
    assert config.errors() == {}
    assert config.key() == _config(paths).key() == SearchConfig.from_dict(config.to_dict()).key()
    assert config.key() != _config(paths, seed=1).key()
    assert len(config.key()) == 16
    with pytest.raises(ConfigError, match="unknown setting"):
        SearchConfig.from_dict({**config.to_dict(), "colour": "red"})


def test_fine_stage_parsing():
    assert FineStage.parse("lookup:cifar10_valid") == FineStage("lookup", column="cifar10_valid")
    assert FineStage.parse("lookup:/a/b:c.csv:col") == FineStage("lookup", column="col", table="/a/b:c.csv")
    assert FineStage.parse("train:3") == FineStage("train", epochs=3)


def test_full_small_search_with_12_epoch_lookup(paths, tmp_path):
    import pandas as pd

    config = _config(paths, proxy="mgm", baselines=("random", "synflow"), repeats=2,
                     fine=f"lookup:{paths['table12']}:cifar10_test_12ep")
    search = Search(config, ScoreCache(tmp_path), workers=1)
    events = list(search.events())
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("method_done") == 6  # 3 methods x 2 repeats
    assert kinds.count("scored") == 2 * 2 * 24  # mgm and synflow score every cell, random none
    truth = pd.read_csv(paths["truth"]).set_index("index")
    table12 = pd.read_csv(paths["table12"]).set_index("index")
    for result in search.results:
        pool = Pool.parse("random:24", NB201.size).indices(NB201, result.seed)
        assert result.chosen in result.topk and len(result.topk) == 4 and set(result.topk) <= set(pool)
        # The fine stage picks the best of the k by the 12-epoch column; the report is the test column.
        assert result.fine_score == max(table12.loc[result.topk, "cifar10_test_12ep"])
        assert result.test_accuracy == truth.at[result.chosen, "cifar10_test"]
        assert result.arch_str == space.to_str(space.arch_at(result.chosen))
        assert result.networks_trained == 0
        if result.method == "random":
            assert result.networks_scored == 0
        else:
            assert 0 < result.networks_scored <= 24
    # The coarse stage really keeps the k best by the proxy.
    mgm_first = next(r for r in search.results if r.method == "mgm" and r.repeat == 0)
    scores = {e.index: e.values["mgm"] for e in events
              if e.kind == "scored" and e.method == "mgm" and e.repeat == 0}
    assert set(mgm_first.topk) == set(sorted(scores, key=scores.get, reverse=True)[:4])
    summary = {row["method"]: row for row in events[-1].summary}
    assert set(summary) == {"mgm", "random", "synflow"}
    accs = [r.test_accuracy for r in search.results if r.method == "mgm"]
    assert summary["mgm"]["test_accuracy_mean"] == pytest.approx(sum(accs) / 2)
    assert events[0].best_possible == {"index": 6111, "value": pytest.approx(94.37, abs=0.01),
                                          "column": "cifar10_test"}


def test_search_with_real_training_fine_stage(paths, tmp_path):
    config = _config(paths, k=2, pool="random:6", fine="train:1", train_samples=128)
    search = Search(config, ScoreCache(tmp_path), workers=1)
    events = list(search.events())
    trained = [e for e in events if e.kind == "trained"]
    assert len(trained) == 2 and all(0 <= e.val_accuracy <= 100 for e in trained)
    result = search.results[0]
    assert result.networks_trained == 2 and result.fine_seconds > 0
    assert result.fine_score == max(e.val_accuracy for e in trained)
    assert not math.isnan(result.test_accuracy)


def test_search_without_truth_reports_nan(paths, tmp_path):
    config = _config(paths, truth="", fine=f"lookup:{paths['table12']}:cifar10_test_12ep")
    search = Search(config, ScoreCache(tmp_path), workers=1)
    list(search.events())
    assert math.isnan(search.results[0].test_accuracy)


def test_summary_mean_and_std():
    from knas.search.pipeline import MethodResult

    rows = summarise([MethodResult("mgm", r, r, 1, "", acc, 0.0, coarse_seconds=2.0)
                      for r, acc in enumerate([90.0, 92.0])])
    assert rows[0]["test_accuracy_mean"] == 91.0 and rows[0]["test_accuracy_std"] == 1.0


def test_every_method_lands_on_one_cost_axis(paths, tmp_path, truth):
    """A lookup fine stage costs the recorded training time of its k candidates for the
    looked-up epochs (12 for the 12-epoch table); a strategy costs its simulated clock, within
    its budget, one event per evaluation; the same seed repeats the same run."""
    import pandas as pd

    costs = pd.read_csv(paths["costs"]).set_index("index")["train_seconds_200ep_cifar10_valid"]
    config = _config(paths, baselines=("random", "rea", "tpe"), repeats=2, budget=6000.0,
                     fine=f"lookup:{paths['table12']}:cifar10_test_12ep")
    search = Search(config, ScoreCache(tmp_path), workers=1)
    events = list(search.events())
    for result in search.results:
        if result.method in ("params", "random"):
            recorded = sum(costs[i] for i in result.topk) * 12 / 200
            assert result.search_seconds == pytest.approx(result.coarse_seconds + recorded)
            assert result.simulated and not result.cost_estimated
        else:
            mine = [e for e in events if e.kind == "evaluated" and e.method == result.method
                    and e.repeat == result.repeat]
            assert len(mine) == result.networks_trained > 0
            assert result.search_seconds == mine[-1].clock <= 6000.0
            assert sum(e.seconds for e in mine) == pytest.approx(result.search_seconds)
            assert result.chosen == mine[-1].best_index
            assert mine[-1].best_test == result.test_accuracy == truth.at[result.chosen, "cifar10_test"]
    again = Search(config, ScoreCache(tmp_path), workers=1)
    list(again.events())
    strategies = [(r.method, r.repeat, r.chosen, r.search_seconds) for r in search.results
                  if r.method in ("rea", "tpe")]
    assert strategies == [(r.method, r.repeat, r.chosen, r.search_seconds) for r in again.results
                          if r.method in ("rea", "tpe")]
    summary = {row["method"]: row for row in events[-1].summary}
    assert summary["rea"]["search_seconds_mean"] == pytest.approx(
        sum(r.search_seconds for r in search.results if r.method == "rea") / 2)


def test_a_trained_fine_stage_costs_what_it_measured(paths, tmp_path):
    config = _config(paths, k=2, pool="random:6", fine="train:1", train_samples=64)
    search = Search(config, ScoreCache(tmp_path), workers=1)
    list(search.events())
    result = search.results[0]
    assert not result.simulated and result.device == "cpu"
    assert result.search_seconds == pytest.approx(result.coarse_seconds + result.fine_seconds)


def test_without_a_costs_table_lookup_costs_are_flagged_estimates(paths, tmp_path):
    config = _config(paths, costs="", fine=f"lookup:{paths['table12']}:cifar10_test_12ep")
    search = Search(config, ScoreCache(tmp_path), workers=1)
    events = list(search.events())
    result = search.results[0]
    assert result.cost_estimated and result.search_seconds > result.coarse_seconds
    assert events[-1].summary[0]["cost_estimated"]


def test_search_cli_json_carries_accuracy_and_search_seconds_per_repeat(paths, tmp_path):
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    args = ["search", "--dataset", "cifar10", "--data", paths["data"], "--truth", paths["truth"],
            "--costs", paths["costs"], "--pool", "random:20", "--k", "3",
            "--fine", f"lookup:{paths['table12']}:cifar10_test_12ep", "--proxy", "params",
            "--repeats", "2", "--seed", "0", "--baselines", "rs,rea,reinforce,tpe",
            "--budget", "3000", "--n", "4", "--workers", "1", "--cache", str(tmp_path), "--json"]
    out = subprocess.run([sys.executable, "-m", "knas", *args], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result["methods"]) == {"params", "rs", "rea", "reinforce", "tpe"}
    for method, entry in result["methods"].items():
        assert len(entry["test_accuracy"]) == len(entry["search_seconds"]) == 2
        assert all(80 < a < 95 for a in entry["test_accuracy"])
        if method != "params":
            assert all(0 < s <= 3000 for s in entry["search_seconds"])
    bad = subprocess.run([sys.executable, "-m", "knas", *args[:-1], "--budget", "0"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "budget" in bad.stderr and "Traceback" not in bad.stderr


def test_a_fixed_weights_seed_reuses_one_scoring_across_repeats(paths, tmp_path):
    def scores(**changes):
        config = _config(paths, pool="range:0:6", k=2, proxy="synflow", repeats=2, **changes)
        events = list(Search(config, ScoreCache(tmp_path), workers=1).events())
        return [{e.index: e.values["synflow"] for e in events
                 if e.kind == "scored" and e.repeat == r} for r in (0, 1)]

    first, second = scores()
    assert first != second  # each repeat draws its own weights and batch
    first, second = scores(weights_seed=0)
    assert first == second  # the same networks: the second repeat is read from the cache
