"""knas.results.headline and knas.results.columns: the one line at the top of a finished run, and the labels and
formats every table shows."""
import math

import pandas as pd

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
    assert f"scoring {int(mine['networks_scored']):,} networks" in text
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
    assert line.text == "KNAS (mgm) picked cell 3 with 91.00% in 2 s scoring 5 networks, no training"
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
