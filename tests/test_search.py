"""Search configs and the two-stage pipeline on the real CIFAR-10 subset and real ground truth."""
import math

import pytest

from knas import space
from knas.cache import ScoreCache
from knas.config import ConfigError, SearchConfig
from knas.search import Search, summarise
from knas.specs import FineStage, Pool


@pytest.fixture(scope="module")
def paths(shared_data):
    return {
        "data": str(shared_data / "cifar10" / "cifar10_small.npz"),
        "truth": str(shared_data / "nb201" / "nb201_accuracies.csv"),
        "table12": str(shared_data / "nb201" / "nb201_12epoch.csv"),
    }


def _config(paths, **changes):
    values = dict(data=paths["data"], truth=paths["truth"], pool="random:24", proxy="params", k=4,
                  n=4, fine="lookup:cifar10_valid")
    values.update(changes)
    return SearchConfig(**values)


@pytest.mark.parametrize("changes, field, message", [
    ({"k": 25}, "k", "larger than the pool (24 cells)"),
    ({"k": 0}, "k", "at least 1"),
    ({"pool": "random:15626"}, "pool", "bad pool"),
    ({"pool": "range:10:5"}, "pool", "bad pool"),
    ({"n": 1}, "n", "at least 2 samples"),
    ({"proxy": "zen"}, "proxy", "unknown proxy 'zen'"),
    ({"proxy": "ensemble:mgm+zen"}, "proxy", "unknown proxy 'zen'"),
    ({"baselines": ("random", "zen")}, "baselines", "unknown proxy 'zen'"),
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
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("method_done") == 6  # 3 methods x 2 repeats
    assert kinds.count("scored") == 2 * 2 * 24  # mgm and synflow score every cell, random none
    truth = pd.read_csv(paths["truth"]).set_index("index")
    table12 = pd.read_csv(paths["table12"]).set_index("index")
    for result in search.results:
        pool = Pool.parse("random:24").indices(result.seed)
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
    scores = {e["index"]: e["values"]["mgm"] for e in events
              if e["kind"] == "scored" and e["method"] == "mgm" and e["repeat"] == 0}
    assert set(mgm_first.topk) == set(sorted(scores, key=scores.get, reverse=True)[:4])
    summary = {row["method"]: row for row in events[-1]["summary"]}
    assert set(summary) == {"mgm", "random", "synflow"}
    accs = [r.test_accuracy for r in search.results if r.method == "mgm"]
    assert summary["mgm"]["test_accuracy_mean"] == pytest.approx(sum(accs) / 2)
    assert events[0]["best_possible"] == {"index": 6111, "value": pytest.approx(94.37, abs=0.01),
                                          "column": "cifar10_test"}


def test_search_with_real_training_fine_stage(paths, tmp_path):
    config = _config(paths, k=2, pool="random:6", fine="train:1", train_samples=128)
    search = Search(config, ScoreCache(tmp_path), workers=1)
    events = list(search.events())
    trained = [e for e in events if e["kind"] == "trained"]
    assert len(trained) == 2 and all(0 <= e["val_accuracy"] <= 100 for e in trained)
    result = search.results[0]
    assert result.networks_trained == 2 and result.fine_seconds > 0
    assert result.fine_score == max(e["val_accuracy"] for e in trained)
    assert not math.isnan(result.test_accuracy)


def test_search_without_truth_reports_nan(paths, tmp_path):
    config = _config(paths, truth="", fine=f"lookup:{paths['table12']}:cifar10_test_12ep")
    search = Search(config, ScoreCache(tmp_path), workers=1)
    list(search.events())
    assert math.isnan(search.results[0].test_accuracy)


def test_summary_mean_and_std():
    from knas.search import MethodResult

    rows = summarise([MethodResult("mgm", r, r, 1, "", acc, 0.0, coarse_seconds=2.0)
                      for r, acc in enumerate([90.0, 92.0])])
    assert rows[0]["test_accuracy_mean"] == 91.0 and rows[0]["test_accuracy_std"] == 1.0
