"""knas.results.headline and knas.results.columns: the one line at the top of a finished run, and the labels and
formats every table shows."""
import math

import pandas as pd
import pytest

from knas.results import columns, headline, references, runview
from knas import jobs
from knas.spaces.nb201 import cells as space
from knas.search.events import event_from_dict
from knas.search.specs import RANDOM
from tests.conftest import NB201, finished_job


def test_headline_of_a_finished_run_states_its_numbers(runtime, shared_data, truth):
    _, config, events = finished_job(jobs.JobStore(), shared_data, truth, proxy="params",
                                     baselines=(RANDOM,), repeats=1)
    line = headline.headline(events, NB201, config.dataset)
    results = runview.results_frame(events).set_index("method")
    mine, random_acc = results.loc["params"], results.loc[RANDOM, "test_accuracy"]
    best = truth[config.report_column].max()
    assert line.chosen == mine["chosen"] and line.repeats == 1
    assert math.isclose(line.vs_random, mine["test_accuracy"] - random_acc)
    assert math.isclose(line.gap, best - mine["test_accuracy"])
    text = line.text
    assert text.startswith(f"KNAS (params) picked cell {mine['chosen']} with "
                           f"{mine['test_accuracy']:.2f}%")
    assert f"{line.vs_random:+.2f} over random" in text
    assert f"{line.gap:.2f} below the best of {space.N_ARCHS:,}" in text
    assert f"of scoring {int(mine['networks_scored']):,} networks on this machine" in text
    knas_paper = references.find(NB201, "KNAS", "cifar10")[0]
    assert line.published == knas_paper
    assert line.published_text == f"KNAS paper: {knas_paper.test_mean:.2f}% (cifar10)"


def test_headline_over_repeats_gives_mean_and_spread(runtime, shared_data, truth):
    _, config, events = finished_job(jobs.JobStore(), shared_data, truth)  # 2 repeats, ensemble
    line = headline.headline(events, NB201, "cifar100")
    results = runview.results_frame(events)
    mine = results[results["method"] == config.proxy]["test_accuracy"]
    assert line.method == config.proxy and line.repeats == 2 and line.chosen is None
    assert math.isclose(line.accuracy, mine.mean())
    assert math.isclose(line.accuracy_std, mine.std(ddof=0))
    assert f"picked cells with {mine.mean():.2f} ± {mine.std(ddof=0):.2f}% over 2 repeats" in line.text
    assert line.text.endswith("per search, no training")
    assert line.published.dataset == "cifar100"


def test_no_headline_before_a_result_or_without_accuracy():
    started = {"kind": "started", "methods": ["mgm"], "repeats": 1, "pool_size": 5, "k": 2,
               "best_possible": None}
    assert headline.headline([], NB201) is None
    assert headline.headline([event_from_dict(started)], NB201) is None
    done = {"kind": "method_done", "result": {
        "method": "mgm", "repeat": 0, "seed": 0, "chosen": 3, "arch_str": "x",
        "test_accuracy": math.nan, "fine_score": 1.0, "coarse_seconds": 2.0, "fine_seconds": 0.0,
        "networks_scored": 5, "networks_trained": 0}}
    assert headline.headline([event_from_dict(started), event_from_dict(done)], NB201) is None
    done["result"]["test_accuracy"] = 91.0
    line = headline.headline([event_from_dict(started), event_from_dict(done)], NB201)  # no truth table best, no random, no dataset
    assert line.text == ("KNAS (mgm) picked cell 3 with 91.00% for 2 s of scoring 5 networks on "
                         "this machine, no training")
    assert line.published is None and line.published_text == ""


def test_columns_label_and_format_internal_names():
    assert columns.label("test_accuracy_mean") == "test accuracy, mean (%)"
    assert columns.label("cifar10_test") == "CIFAR-10 test (%)"
    assert columns.label("imagenet16_valid") == "ImageNet16-120 validation (%)"
    assert columns.label("mgm") == "mgm"  # a score keeps its proxy's name
    assert columns.text("test_accuracy", 93.4166) == "93.42"
    assert columns.text("fine_seconds", 0.0008) == "0.0"
    assert columns.text("networks", 1234) == "1,234"
    assert columns.text("mgm", 0.000812345) == "0.000812"
    assert columns.text("cost_estimated", True) == "yes"
    assert columns.text("test_accuracy", math.nan) == "—"
    assert columns.spec("spearman").format == "%.2f"


def test_tables_for_people_count_repeats_from_one():
    frame = pd.DataFrame({"method": ["mgm", "mgm"], "repeat": [0, 1],
                          "test_accuracy": [93.41666, 92.0]})
    shown = columns.text_frame(frame)
    assert list(shown.columns) == ["method", "repeat", "test accuracy (%)"]
    assert shown["repeat"].tolist() == ["1", "2"]
    assert shown["test accuracy (%)"].tolist() == ["93.42", "92.00"]
    assert frame["repeat"].tolist() == [0, 1]  # the original is left alone


def test_the_cli_summary_shows_a_spread_only_for_several_runs():
    from knas.results import searchtext

    row = {"method": "mgm", "runs": 1, "test_accuracy_mean": 93.1, "test_accuracy_std": 0.0,
           "search_seconds_mean": 10.0, "coarse_seconds_mean": 1.0, "fine_seconds_mean": 9.0,
           "networks_scored_mean": 9, "networks_trained_mean": 3, "gap_mean": math.nan,
           "hypervolume_mean": math.nan, "igd_mean": math.nan}
    one = searchtext.summary_lines([row])[1]
    two = searchtext.summary_lines([{**row, "runs": 2, "test_accuracy_std": 0.25}])[1]
    assert "93.10" in one and "±" not in one
    assert "93.10 ± 0.25" in two


def test_cards_tell_the_trade_against_the_strongest_baseline(shared_data, truth, tmp_path):
    """A real search (params ranking, 12-epoch lookup) beside random, REA and TPE on
    NAS-Bench-201's simulated clock: the cards give the gap to the strongest of them and compare
    recorded GPU training with recorded GPU training, the scoring measured here said apart."""
    from knas.scoring.cache import ScoreCache
    from knas.search.config import SearchConfig
    from knas.search.pipeline import Search

    nb201 = shared_data / "nb201"
    config = SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz"),
                          truth=str(nb201 / "nb201_accuracies.csv"), costs=str(nb201 / "nb201_costs.csv"),
                          pool="random:24", proxy="params", k=4, n=4, budget=6000.0,
                          fine=f"lookup:{nb201 / 'nb201_12epoch.csv'}:cifar10_test_12ep",
                          baselines=("random", "rea", "tpe"))
    search = Search(config, ScoreCache(tmp_path), workers=1)
    events = list(search.events())
    line = headline.headline(events, NB201, "cifar10")
    by_method = {r.method: r for r in search.results}
    strongest = max(("random", "rea", "tpe"), key=lambda m: by_method[m].test_accuracy)
    assert line.baseline == {"random": "random", "rea": "REA", "tpe": "TPE"}[strongest]
    cards = {label: (value, note) for label, value, note in line.cards()}
    mine = by_method["params"]
    assert cards["Test accuracy"][0] == f"{mine.test_accuracy:.2f}%"
    delta = mine.test_accuracy - by_method[strongest].test_accuracy
    assert cards[f"Against {line.baseline}"][0] == f"{delta:+.2f} pts"
    recorded = mine.search_seconds - mine.coarse_seconds
    assert line.cost.recorded == pytest.approx(recorded) and line.cost.recorded_on == "GPU"
    assert f"{recorded / 3600:,.2f} GPU-hours of recorded training (4 cells)" in cards["Search cost"][1]
    assert "of scoring" in cards["Search cost"][1] and "on CPU" in cards["Search cost"][1]
    assert "in " not in line.text.split(" — ")[-1][:3]  # no bare "in 24 s" beside GPU-hours
    theirs = by_method[strongest].search_seconds - by_method[strongest].coarse_seconds
    value, note = cards[f"Cost against {line.baseline}"]
    assert value == headline.ratio_text(recorded / theirs)
    assert note.startswith(f"{value} of {line.baseline}'s recorded training GPU-hours, plus ")


def test_costs_in_different_units_are_never_compared():
    here = headline.Cost(scoring=20.0, training=0.0, recorded=1440.0, device="cpu",
                         recorded_on="GPU", networks=80, trained=10)
    trained_here = headline.Cost(scoring=0.0, training=600.0, recorded=0.0, device="cpu",
                                 recorded_on="GPU", trained=5)
    assert here.versus(trained_here, "REA") is None  # GPU records against CPU seconds: no ratio
    assert trained_here.versus(headline.Cost(0.0, 1200.0, 0.0, "cpu", "", trained=9), "X") == \
        "1/2 of X's time on CPU"
    assert headline.ratio_text(1 / 8) == "1/8" and headline.ratio_text(2.44) == "2.4×"
