"""knas.results.runview: a job's events -> the tables, labels and captions the pages show."""
import math

import pandas as pd
import pytest

from knas.spaces.nb201 import costs, cells as space
from knas import jobs
from knas.results import jobprogress, runview
from knas.search.config import SearchConfig
from knas.search.events import JobState, event_from_dict
from knas.search.specs import RANDOM
from tests.conftest import NB201, finished_job


def test_job_scores_line_up_the_methods_of_a_repeat(runtime, shared_data, truth):
    store = jobs.JobStore()
    _, config, events = finished_job(store, shared_data, truth)
    frame = runview.job_scores(events, NB201, repeat=1)
    pool = config.pools()[1]
    assert list(frame["index"]) == pool
    assert list(frame.columns) == ["index", "arch_str", "params", "flops"]
    assert list(frame["params"]) == [float(costs.count_params(space.arch_at(i))) for i in pool]
    assert runview.job_scores([], NB201, 0).empty


def test_paper_table_has_mean_std_and_costs(runtime, shared_data, truth):
    store = jobs.JobStore()
    job_id, config, events = finished_job(store, shared_data, truth)
    table = runview.paper_table({"run A": runview.summary(events)})
    assert list(table["method"]) == list(config.methods)
    row = table.set_index("method").loc[RANDOM]
    results = runview.results_frame(events)
    accuracies = results[results["method"] == RANDOM]["test_accuracy"]
    assert row["runs"] == 2
    assert row["test accuracy"] == f"{accuracies.mean():.2f} ± {accuracies.std(ddof=0):.2f}"
    assert row["networks_scored"] == 0
    assert jobprogress.job_label(job_id, config).startswith(job_id[:8])


class _Store:
    def __init__(self, events):
        self.all, self.calls = events, []

    def events(self, job_id, since=0):
        self.calls.append(since)
        return [event_from_dict(e, i) for i, e in enumerate(self.all) if i >= since]


def _events():
    return [
        {"kind": "started", "methods": ["params", "random"], "repeats": 1, "pool_size": 3, "k": 2,
         "best_possible": {"index": 7, "value": 94.0, "column": "cifar10_test"}},
        *[{"kind": "scored", "method": "params", "repeat": 0, "index": i,
           "values": {"params": float(v)}, "built": 1, "done": n + 1, "total": 3, "rate": 2.0}
          for n, (i, v) in enumerate([(1, 5), (2, 9), (3, 1)])],
        {"kind": "topk", "method": "params", "repeat": 0, "indices": [2, 1], "final": True},
        {"kind": "method_done", "result": {
            "method": "params", "repeat": 0, "seed": 0, "chosen": 2, "arch_str": "x",
            "test_accuracy": 90.0, "fine_score": 88.0, "topk": [2, 1], "coarse_seconds": 1.5,
            "fine_seconds": 0.0, "networks_scored": 3, "networks_trained": 0}},
    ]


def test_event_feed_reads_only_new_ones_and_restarts_with_the_job():
    store = _Store(_events()[:2])
    state = {"attempts": 1, "created": 1.0}
    feed = runview.EventFeed()
    assert len(feed.snapshot(store, "j", JobState.from_dict(state))) == 2
    store.all = _events()
    events = feed.snapshot(store, "j", JobState.from_dict(state))
    assert len(events) == 6 and store.calls == [0, 2]
    assert [e.seq for e in events] == list(range(6))
    events = feed.snapshot(store, "j", JobState.from_dict({"attempts": 2, "created": 5.0}))
    assert store.calls[-1] == 0 and len(events) == 6  # a resumed job starts over


def test_event_feed_shares_one_snapshot_between_viewers():
    store = _Store(_events()[:2])
    state = {"attempts": 1, "created": 1.0}
    feed = runview.EventFeed()
    first = feed.snapshot(store, "j", JobState.from_dict(state), every=3600)
    store.all = _events()
    others = [feed.snapshot(store, "j", JobState.from_dict(state), every=3600) for _ in range(9)]  # nine more viewers
    assert store.calls == [0] and all(len(o) == len(first) == 2 for o in others)
    assert len(feed.snapshot(store, "j", JobState.from_dict(state), every=0)) == 6 and store.calls == [0, 2]


def test_live_tables_from_events():
    events = [event_from_dict(e) for e in _events()]
    accuracy = pd.Series({1: 80.0, 2: 90.0, 3: 70.0})
    frame = runview.live_frame(events, NB201, "params", 0, accuracy, "cifar10_test")
    assert list(frame["cifar10_test"]) == [80.0, 90.0, 70.0]
    table = runview.topk_table(frame, [2, 1], "params", NB201, "cifar10_test", accuracy)
    assert list(table["index"]) == [2, 1] and list(table["params"]) == [9.0, 5.0]
    assert list(table["rank"]) == [1, 2]
    empty = runview.live_frame(events, NB201, "random", 0, accuracy, "cifar10_test")
    assert empty.empty and runview.topk_table(empty, [4], "", NB201, None, None)["index"].tolist() == [4]
    card = runview.result_card(events, "params", 0)
    assert card["chosen"] == 2 and card["best_value"] == 94.0 and card["gap"] == pytest.approx(4.0)
    assert card["costs"]["networks"].tolist() == [3, 0]
    assert runview.result_card(events, "random", 0) is None
    details = runview.point_details(3, accuracy, frame, NB201)
    assert details["params"] == 1.0 and details["cifar10_test"] == 70.0


def test_progress_view_and_job_label():
    assert jobprogress.progress_view(JobState.from_dict({"status": "finished"})) == (1.0, "finished")
    assert jobprogress.progress_view(JobState.from_dict({"status": "queued", "progress": {}}))[0] == 0.0
    fraction, text = jobprogress.progress_view(JobState.from_dict({"status": "running", "progress": {
        "stage": "coarse", "method": "mgm", "repeat": 0, "done": 25, "total": 100,
        "rate": 5.0, "eta": 15.0}}))
    assert fraction == 0.25 and "5.0 archs/s" in text and "ETA 15 s" in text and "mgm" in text
    config = SearchConfig(pool="random:10")
    label = jobprogress.job_label("abcdef0123456789", config, JobState.from_dict(
        {"status": "running", "created": 0, "progress": {"done": 3, "total": 10}}))
    assert label.startswith("abcdef01 · running 3/10 · mgm on random:10")
    assert not math.isnan(jobprogress.progress_view(JobState.from_dict({"status": "failed", "progress": {}}))[0])


def test_ensembles_rank_by_their_aggregate_and_the_chosen_cell_is_starred(runtime, shared_data, truth):
    from knas.results import stats
    from knas.search.specs import Method

    _, config, events = finished_job(jobs.JobStore(), shared_data, truth)  # ensemble:params+flops
    method = config.proxy
    frame = runview.live_frame(events, NB201, method, 0)
    assert runview.ranking_column(method) == method and runview.ranking_column("mgm") == "mgm"
    expected = stats.aggregate(frame, Method.parse(method))
    assert list(frame[method]) == list(expected)  # the aggregate rank, not the first member
    compared = runview.with_ensembles(runview.job_scores(events, NB201, 0), config.methods)
    assert {"params", "flops", method} <= set(compared.columns)
    chosen = runview.chosen_cell(events, method, 0)
    topk = runview.latest_topk(events, method, 0)
    table = runview.topk_table(frame, topk, method, NB201, chosen=chosen)
    assert table.loc[table["picked"] == "★", "index"].tolist() == [chosen]
    assert runview.chosen_cell(events, "nope", 0) is None


def test_one_run_shows_no_spread():
    one = [{"method": "mgm", "runs": 1, "test_accuracy_mean": 93.41, "test_accuracy_std": 0.0}]
    two = [{**one[0], "runs": 2, "test_accuracy_std": 0.2}]
    assert runview.paper_table({"": one}).loc[0, "test accuracy"] == "93.41"
    assert runview.paper_table({"": two}).loc[0, "test accuracy"] == "93.41 ± 0.20"


def test_a_fine_stage_reads_as_people_say_it():
    from knas.results import columns

    assert columns.fine_stage("lookup:/data/nb201_12epoch.csv:cifar10_test_12ep") == \
        "lookup of CIFAR-10 12-epoch test in nb201_12epoch.csv"
    assert columns.fine_stage("lookup:cifar10_valid") == "lookup of CIFAR-10 validation in the truth table"
    assert columns.fine_stage("train:1") == "1 epoch of training"


def test_a_missing_value_shows_as_a_dash():
    from knas.results import columns

    shown = columns.for_people(pd.DataFrame({"method": ["mgm", None], "note": [None, "x"],
                                             "search_s": [1.0, float("nan")]}))
    assert shown["method"].tolist() == ["mgm", "—"] and shown["note"].tolist() == ["—", "x"]
    assert columns.text_frame(shown).iloc[1].tolist() == ["—", "x", "—"]
