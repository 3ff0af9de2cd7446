"""Live run: a job's progress, scores and result, polled while it runs.

Deep link: ``?job=<id>``. Two fragments rerun while the job is active, so the page does not
reload: the progress line every second (one read of the job's state), and the figures and tables
every ``DETAILS_SECONDS`` from a snapshot of the events that every viewer of the job shares
(``widgets.event_feed``), their figures built once per snapshot (``_view``). Redrawing a large scatter
is what costs a browser most, so it follows less often than the progress line
(benchmarks/live_viewers.py). Once the job ends, the page reruns once and draws without polling.
"""
import pandas as pd
import streamlit as st

from knas.search import constraints, estimate
from knas import fmt, jobs
from knas.ui import formstate, widgets
from knas.results import columns, headline, jobprogress, latencyview, plots, references, runview
from knas.results import report as run_report
from knas.errors import KnasError
from knas.search.events import JobStatus
from knas.search.specs import RANDOM

DETAILS_SECONDS = 10.0  # how often figures and tables follow a running job (the progress line: 1 s)

widgets.page_setup("Live run")
st.title("Live run")
store = widgets.job_store()
ids = store.ids()
if not ids:
    st.info("No search has run yet.")
    st.page_link(widgets.NEW_SEARCH.path, label="Start a search", icon="🚀")
    st.page_link(widgets.HOME.path, label="Or run the quick demo on Home", icon="🏠")
    st.stop()

wanted, too_long = widgets.query_param("job")
if too_long:
    st.warning(fmt.md_escape(too_long))
if wanted and wanted not in ids:
    st.warning(f"There is no job {fmt.md_escape(wanted)} in this cache "
               f"({fmt.md_escape(store.directory)}); pick one below.")
if wanted in ids and st.session_state.get("live_job") != wanted:
    st.session_state["live_job"] = wanted
if st.session_state.get("live_job") not in ids:
    st.session_state["live_job"] = ids[0]


def _label(job_id: str) -> str:
    try:
        return jobprogress.job_label(job_id, store.config(job_id))
    except KnasError:
        return job_id


def _follow():
    st.query_params["job"] = st.session_state["live_job"]


st.selectbox("Job", ids, key="live_job", format_func=_label, on_change=_follow)
job_id = st.session_state["live_job"]
if st.query_params.get("job") != job_id:
    st.query_params["job"] = job_id

try:
    config = store.config(job_id)
    first_state = store.fail_stale(job_id)
except KnasError as err:
    st.error(f"This job cannot be read: {fmt.md_escape(err)}")
    st.stop()
active = first_state.status.is_active
space = config.search_space  # a file space was trusted when the job was started
truth = widgets.load_truth(config.truth, space) if config.truth else None
report = config.report_column
accuracy = truth[report] if truth is not None and report in truth.columns else None
stage = config.fine_stage
limits = "; ".join(map(str, constraints.limits_of(config)))


def _header(state: dict) -> None:
    status = state.status
    a, b = st.columns([4, 1])
    a.markdown(f"**{status.upper()}** · {fmt.md_escape(config.proxy)} on "
               f"{fmt.md_code(config.pool)} · k = {config.k} · "
               f"n = {config.n} · fine stage: {fmt.md_escape(columns.fine_stage(config.fine))} · "
               f"{config.repeats} repeat(s)"
               + (f" · under {fmt.md_escape(limits)}" if limits else "")
               + (f" · front on {fmt.md_escape(config.pareto)}" if config.pareto else ""))
    if status.is_active:
        if b.button("Cancel", key="live_cancel", icon="⏹️"):
            jobs.cancel(job_id, store)
            st.toast("Cancelling: the worker stops within seconds and keeps every score.")
    elif status.can_resume:
        if status == JobStatus.FAILED:
            st.error(f"The job failed: {fmt.md_escape(state.error or 'no reason recorded')}")
        else:
            st.warning("The job was cancelled. Resume continues from the cached scores.")
        if b.button("Resume", key="live_resume", type="primary", icon="▶️"):
            try:
                jobs.start(store.config(job_id), store)
            except KnasError as err:
                st.error(f"Cannot resume: {fmt.md_escape(err)}")
            else:
                st.rerun()
    fraction, text = jobprogress.progress_view(state)
    st.progress(fraction, text=text)


@st.cache_resource(max_entries=32, show_spinner=False)
def _view(job: str, stamp: tuple, count: int, method: str, repeat: int, proxy: str,
          _events: list) -> dict:
    """What the scores section draws for one snapshot of a job's events, built once for every
    session that shows it (``count`` events of attempt ``stamp``). Read-only for the pages."""
    frame = runview.live_frame(_events, space, method, repeat, accuracy, report)
    topk = runview.latest_topk(_events, method, repeat)
    chosen = runview.chosen_cell(_events, method, repeat)
    view = {"frame": frame, "topk": topk, "chosen": chosen, "scatter": None, "histogram": None,
            "final": runview.is_final_topk(_events, method, repeat), "table": None}
    if proxy and proxy in frame.columns and len(frame):
        if accuracy is not None:
            view["scatter"] = plots.score_scatter(frame, proxy, report, highlight=topk,
                                                  chosen=chosen, title=f"{proxy} vs {report}")
        view["histogram"] = plots.score_histogram(frame, proxy)
    if topk:
        view["table"] = runview.topk_table(frame, topk, proxy, space,
                                           report if accuracy is not None else None, accuracy,
                                           chosen)
    return view


def _scores(events, method: str, repeat: int, stamp: tuple) -> None:
    members = runview.members(method)
    proxy = ""
    if members:
        ranking = runview.ranking_column(method)  # an ensemble's aggregate rank first
        options = list(dict.fromkeys([ranking, *members]))
        proxy = options[0] if len(options) == 1 else st.selectbox(
            "Plot the scores of", options, key=f"live_member_{job_id}",
            help="An ensemble ranks cells by its members' mean rank: that is what it picks by.")
    view = _view(job_id, stamp, len(events), method, repeat, proxy, events)
    frame, topk, chosen = view["frame"], view["topk"], view["chosen"]
    if proxy and proxy in frame.columns and len(frame):
        left, right = st.columns(2)
        with left:
            if view["scatter"] is not None:
                event = st.plotly_chart(view["scatter"], on_select="rerun", selection_mode="points",
                                        key=f"live_scatter_{job_id}_{method}_{repeat}")
                points = list(event["selection"]["points"]) if event else []
                if points and points[0].get("customdata"):
                    index = int(points[0]["customdata"][0])
                    with st.container(border=True):
                        st.markdown(f"**Clicked: index {index}**")
                        clicked = runview.point_details(index, accuracy, frame, space)
                        widgets.show_arch(space, index)
                        widgets.table(pd.DataFrame([clicked]).drop(columns=["arch_str"]))
                else:
                    st.caption("Click a point to see that cell.")
            else:
                st.info("No ground-truth table in this job's config: the score-vs-accuracy "
                        "scatter needs one.")
        with right:
            st.plotly_chart(view["histogram"], key=f"live_hist_{job_id}_{method}_{repeat}")
    elif method == RANDOM:
        st.caption("The random baseline scores nothing: it draws k cells from the pool.")
    else:
        st.caption("No scores for this method and repeat yet.")

    if topk:
        fewer = "" if len(topk) >= config.k else f", {len(topk)} cells" + ("" if view["final"] else " so far")
        st.markdown(f"**Current top-{config.k}**" + (" (final" if view["final"] else " (so far")
                    + fewer + ")"
                    + (" · ★ the cell the fine stage picked" if chosen is not None else ""))
        table = view["table"]
        widgets.table(table, height=min(400, 38 + 35 * len(table)))
        shown = topk[:3]
        if chosen is not None and chosen not in shown and chosen in topk:
            shown = [*shown[:2], chosen]
        widgets.cell_grid(space, [(f"#{topk.index(index) + 1} · index {index}"
                                   + (" ★ picked" if index == chosen else ""), index)
                                  for index in shown])
        widgets.cell_legend(space)


@st.cache_resource(max_entries=8, show_spinner=False)
def _true_front(job: str, measure: str):
    """The run's true accuracy-latency front, computed once per job (read-only)."""
    return latencyview.true_front(config, space, measure, accuracy)


def _device(events, method: str, repeat: int) -> None:
    """Where the cells sit on the device axis, when the run has a latency limit or front."""
    measure = latencyview.axis(events)
    if measure is None:
        return
    fig = latencyview.figure(events, config, method, repeat, accuracy,
                             _true_front(job_id, measure))
    if fig is None:
        st.caption("The accuracy-latency plot needs a ground-truth table.")
        return
    st.plotly_chart(fig, key=f"live_latency_{job_id}_{method}_{repeat}")
    note = latencyview.front_note(events, method, repeat)
    if note:
        st.caption(note)


def _fine(events) -> None:
    if stage.kind == "lookup":
        st.caption(f"Fine stage: a lookup of {fmt.md_code(stage.column)}"
                   + (f" in {fmt.md_escape(stage.table)}" if stage.table else " in the truth table")
                   + " — instant, nothing is trained.")
        return
    done, total = runview.fine_progress(config, events)
    st.progress(min(1.0, done / total) if total else 0.0,
                text=f"Fine stage: {done}/{total} candidates trained for {stage.epochs} epoch(s)")
    if done:
        widgets.table(runview.training_frame(events))


def _result(events, method: str, repeat: int) -> None:
    card = runview.result_card(events, method, repeat)
    if card is None:
        return
    st.subheader(f"Result: {fmt.md_escape(method)}"
                 + (f", repeat {repeat + 1}" if config.repeats > 1 else ""))
    left, right = st.columns([3, 2])
    with left:
        if int(card["chosen"]) >= 0:
            st.markdown(f"**Chosen cell: index {card['chosen']}**")
            widgets.show_arch(space, int(card["chosen"]))
        else:  # the space's reference network: trained, not searched
            st.markdown(f"**Trained: {fmt.md_escape(card['arch_str'])}**, the network the "
                        "searched cells are compared with (not a cell of the space).")
    with right:
        acc = card["test_accuracy"]
        if pd.notna(acc):
            delta = None if card["gap"] is None else f"{-card['gap']:.2f} vs the best"
            st.metric(f"Test accuracy ({fmt.md_escape(card['column'] or report)})", f"{acc:.2f}", delta=delta)
            if card["best_value"] is not None:
                where = "that fits the limits" if limits else "in the whole space"
                st.caption(f"Best {where}: {card['best_value']:.2f} "
                           f"(index {card['best_index']}).")
        else:
            st.caption("No ground-truth table: the chosen cell's accuracy is unknown.")
        st.markdown("**Cost of each stage**")
        widgets.table(card["costs"])


def _headline(events) -> None:
    """The run in one line, with the KNAS paper's figure beside it."""
    line = headline.headline(events, space, config.dataset)
    if line is None:
        return
    st.success(f"**{fmt.md_escape(line.text)}**", icon="🏁")
    widgets.result_cards(line)  # the KNAS paper's figure among them


def _finished(state: dict, events) -> None:
    """What a finished run offers: estimate against actual, downloads, run again."""
    planned = state.estimate
    if planned:
        est = estimate.Estimate.from_dict(planned)
        with st.expander("Estimated against actual time", expanded=True):
            widgets.table(estimate.versus_actual(est, state, events))
            st.caption("The estimate as the worker made it before the run: "
                       + fmt.md_escape("; ".join(est.lines())))
    a, b, c = st.columns(3)
    truth_for_report = truth
    a.download_button("HTML report", file_name=run_report.report_file_name(job_id), mime="text/html",
                      on_click="ignore", key="live_report", icon="📄",
                      data=lambda: run_report.html_report(config.to_dict(), state, events,
                                                      truth_for_report),
                      help="One self-contained page to email: headline, chart, chosen cell, details.")
    b.download_button("Slide (PNG)", file_name=run_report.summary_file_name(job_id),
                      mime="image/png", on_click="ignore", key="live_summary", icon="🖼️",
                      data=lambda: run_report.summary_image(config.to_dict(), state, events,
                                                        truth_for_report),
                      help="A 1600×900 page: headline, accuracy by method, chosen cell, scatter.")
    if c.button("Run again", key="live_again", icon="🔁", help="New search, filled with these settings."):
        formstate.fill(st.session_state, config)
        st.switch_page(widgets.NEW_SEARCH.path)


def _summary(events, summary) -> None:
    st.subheader("Per-method summary")
    table = runview.paper_table({"this run": summary})
    best = (runview.started(events).best_possible or {}).get("value")
    if table["test_accuracy_mean"].notna().any():
        st.plotly_chart(plots.accuracy_intervals(table, best,
                                                 references.find(space, "KNAS", config.dataset)),
                        key=f"live_intervals_{job_id}")
    widgets.table(runview.paper_table_shown(table, one_run=True))
    st.caption(runview.energy_note())


@st.fragment(run_every=1.0 if active else None)
def progress() -> None:
    """The job's status and progress line, from its state alone (cheap, every second)."""
    try:
        state = store.state(job_id)
    except KnasError as err:
        st.error(f"The job is gone: {fmt.md_escape(err)}")
        return
    if active and not state.status.is_active:
        st.rerun()  # the whole page, so it redraws without polling
    _header(state)


@st.fragment(run_every=DETAILS_SECONDS if active else None)
def details() -> None:
    """Figures and tables from the shared snapshot of the job's events."""
    try:
        state = store.state(job_id)
    except KnasError:
        return  # the progress line says so
    events = widgets.event_feed(str(store.directory), job_id).snapshot(
        store, job_id, state, every=DETAILS_SECONDS if active else 0.0)
    start = runview.started(events)
    if start.at is None:
        st.info("Waiting for the worker: it loads the data and the tables first.")
        return
    stamp = (state.attempts, state.created)
    if start.data_note:
        st.caption(fmt.md_escape(start.data_note))

    _headline(events)
    if state.status.is_finished:
        _finished(state, events)

    methods = list(config.methods)
    a, b = st.columns(2)
    method = a.radio("Method", methods, horizontal=True, key=f"live_method_{job_id}",
                     help="The searched proxy first, then the baselines.") \
        if len(methods) > 1 else methods[0]
    repeat = b.selectbox("Repeat", range(config.repeats), format_func=lambda r: f"{r + 1}",
                         key=f"live_repeat_{job_id}") if config.repeats > 1 else 0

    _scores(events, method, repeat, stamp)
    _device(events, method, repeat)
    _fine(events)
    results = runview.results_frame(events)
    if len(results):
        _result(events, method, repeat)
    summary = runview.summary(events)
    if summary:
        _summary(events, summary)
    elif len(results):
        st.markdown("**Finished methods so far**")
        widgets.table(results.drop(columns=["arch_str"]))


progress()
details()
