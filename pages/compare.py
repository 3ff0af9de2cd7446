"""Compare: proxies side by side over the same candidates, and runs side by side (paper table)."""
from __future__ import annotations

import streamlit as st

from knas import fmt, jobs, spaces
from knas.data import benchmark
from knas.results import latencyview, energy, headline, jobprogress, plots, references, report, runview, scorefile, stats
from knas.ui import forms, widgets


@st.cache_data(show_spinner="Reading the job's events…", max_entries=16)
def _events(directory: str, job_id: str, n_events: int) -> list:
    """A finished job's events; ``n_events`` keys the cache (a finished job never changes)."""
    return jobs.JobStore(directory).events(job_id)


def _job_events(job_id: str) -> list:
    return _events(str(store.directory), job_id, finished[job_id][1].events)


def _truth_columns(tables: dict) -> dict:
    """'table · column' -> (table, column) for every value column worth correlating with."""
    options = {}
    for label, table in tables.items():
        if table is None:
            continue
        for column in table.columns:
            if column != "arch_str" and not column.startswith("n_seeds"):
                options[f"{label} · {column}"] = (table, column)
    return options


widgets.page_setup("Compare")
st.title("Compare")
app = widgets.app_settings()
store = widgets.job_store()
finished = store.finished()
labels = {job_id: jobprogress.job_label(job_id, config) for job_id, (config, _) in finished.items()}

proxies_tab, runs_tab = st.tabs(["Proxies side by side", "Runs side by side"])

# --- proxies over the same candidates ------------------------------------------------------------
with proxies_tab:
    sources = ["A finished job", "A scores CSV"]
    source = st.radio("Scores from", sources, horizontal=True, key="compare_source",
                      index=0 if finished else 1)
    frame, truth_path, space = None, app.truth, None
    if source == sources[0]:
        if not finished:
            st.info("No finished job yet: start one on the New search page, or load a scores CSV.")
        else:
            job_id = st.selectbox("Job", list(finished), format_func=labels.get, key="compare_job")
            config, state = finished[job_id]
            repeat = 0
            if config.repeats > 1:
                repeat = st.selectbox("Repeat (each repeat scores its own pool)", range(config.repeats),
                                      key="compare_repeat")
            space = config.search_space
            frame = runview.with_ensembles(
                runview.job_scores(_job_events(job_id), space, int(repeat)), config.methods)
            truth_path = config.truth or app.truth
            default_column = config.report_column or space.truth_columns("cifar10").test
    else:
        space = widgets.space_picker("compare_space")
        default_column = space.truth_columns("cifar10").test if space is not None else ""
        upload = st.file_uploader("Scores CSV, as `python -m knas score --out scores.csv` writes it "
                                  "(columns index, arch_str, one per proxy)", type=["csv"],
                                  key="compare_upload")
        if upload is None:
            st.info("Upload a scores CSV to compare its proxies.")
        elif space is not None:
            try:
                frame = scorefile.read_scores_csv(upload.getvalue(), space)
            except scorefile.ScoreFileError as err:
                st.error(fmt.md_escape(f"{upload.name}: {err}"))

    if frame is not None and frame.empty:
        st.info("This job scored no cells (a random-selection run only, or nothing finished).")
        frame = None
    if frame is not None:
        proxies = scorefile.proxy_columns(frame)
        st.caption(f"{len(frame):,} cells · proxies: {fmt.md_escape(', '.join(proxies))}")
        tables = {"ground truth": widgets.load_truth(truth_path, space),
                  "12-epoch": widgets.load_truth(app.table12, space)
                  if app.table12 != truth_path else None}
        options = _truth_columns(tables)
        if not options:
            st.info("No ground-truth table: set one on the Data page to see ρ, τ and top-10% overlap. "
                    "The proxy-vs-proxy correlations below need none.")
        else:
            keys = list(options)
            default = next((i for i, k in enumerate(keys) if k.endswith(f" · {default_column}")), 0)
            choice = st.selectbox("Compare against", keys, index=default, key="compare_truth")
            table, column = options[choice]
            truth = scorefile.truth_for(frame, table, column)
            missing = int(truth.isna().sum())
            result = stats.correlation_table(frame, proxies, truth)
            st.subheader(f"Rank correlation with {fmt.md_escape(column)}")
            widgets.table(result)
            if missing:
                st.caption(f"{missing} cell(s) have no {fmt.md_escape(column)} value in the table "
                           "and are left out.")
            st.plotly_chart(plots.correlation_bars(result), key="compare_bars")
            shown = st.selectbox("Scatter for", proxies, key="compare_scatter_proxy")
            st.plotly_chart(plots.score_scatter(frame.assign(**{column: truth}), shown, column),
                            key="compare_scatter")
        if len(proxies) > 1:
            st.plotly_chart(plots.correlation_heatmap(frame, proxies), key="compare_heatmap")
        known = forms.measured_table(proxies, space)
        if len(known):
            st.markdown("**What each proxy is worth, measured** (the committed study, "
                        "`docs/correlation.md`; not recomputed here)")
            st.dataframe(known, hide_index=True)
        st.download_button("Scores CSV", scorefile.scores_csv(frame), file_name="scores.csv",
                           mime="text/csv", on_click="ignore", key="compare_scores_csv")

# --- runs in the paper's table form --------------------------------------------------------------
with runs_tab:
    if not finished:
        st.info("No finished job yet. Runs appear here once they finish.")
    else:
        chosen = st.multiselect("Runs", list(finished), default=list(finished)[:3],
                                format_func=labels.get, key="compare_runs")
        summaries = {}
        for job_id in chosen:
            config, state = finished[job_id]
            summary = state.summary
            if not summary:
                summary = runview.summary(_job_events(job_id))
            summaries[labels[job_id]] = summary
            line = headline.headline(_job_events(job_id), config.search_space, config.dataset)
            if line is not None:
                st.success(f"**{fmt.md_escape(job_id[:8])}** · {fmt.md_escape(line.text)}"
                           + (f" ({fmt.md_escape(line.published_text)})" if line.published_text
                              else ""), icon="🏁")
                widgets.result_cards(line)
        if chosen:
            left, right = st.columns(2)
            power = left.number_input("Device power (W)", min_value=1.0, value=energy.DEFAULT_POWER_W,
                                      key="compare_power", help="For GPU-hours → kWh.")
            grid = right.number_input("Grid intensity (kg CO2e/kWh)", min_value=0.0,
                                      value=energy.DEFAULT_GRID_KG_PER_KWH, key="compare_grid",
                                      help="For kWh → kg CO2e; 0.475 is the world average (IEA).")
            table = runview.paper_table(summaries, power, grid)
            if table["test_accuracy_mean"].notna().any():
                st.plotly_chart(plots.accuracy_intervals(table), key="compare_runs_intervals")
            widgets.table(runview.paper_table_shown(table))
            st.caption("Mean ± std over each run's repeats of the chosen cell's test accuracy; costs are "
                       "means per search. " + runview.energy_note(power, grid))
            # Every chosen run on one accuracy-against-cost plot; published rows only when the
            # runs share a space and data set (else they would be read against the wrong ones).
            curves, points = runview.runs_frames({job_id[:8]: _job_events(job_id) for job_id in chosen})
            settings = {(finished[j][0].space, finished[j][0].dataset) for j in chosen}
            first = finished[chosen[0]][0]
            published = references.find(first.search_space, dataset=first.dataset) \
                if len(settings) == 1 else []
            st.plotly_chart(plots.anytime_plot(curves, points, published), key="compare_anytime")
            if len(settings) > 1:
                st.caption("The runs differ in search space or data set: published results are "
                           "left out of the plot.")
            if published:
                st.markdown("**Published results** (reference rows, not measured here)")
                st.dataframe(references.table(published), hide_index=True)
            for job_id in chosen:
                plot_config, plot_events = finished[job_id][0], _job_events(job_id)
                measure = latencyview.axis(plot_events)
                plot_truth = widgets.load_truth(plot_config.truth, plot_config.search_space) \
                    if plot_config.truth and measure else None
                if plot_truth is None or plot_config.report_column not in plot_truth.columns:
                    continue
                accuracy = plot_truth[plot_config.report_column]
                front = latencyview.true_front(plot_config, plot_config.search_space, measure,
                                               accuracy)
                for method in plot_config.methods:
                    fig = latencyview.figure(plot_events, plot_config, method, 0, accuracy, front)
                    if fig is not None:
                        st.plotly_chart(fig, key=f"compare_latency_{job_id[:8]}_{method}")
                        note = latencyview.front_note(plot_events, method, 0)
                        if note:
                            st.caption(note)
            runs_by_column = {}  # (space, truth table, column) -> the runs reported on it
            for job_id in chosen:
                config, _ = finished[job_id]
                if config.truth and config.report_column:
                    runs_by_column.setdefault((config.space, config.truth, config.report_column),
                                              []).append(job_id[:8])
            for (space_spec, path, column), ids in runs_by_column.items():
                truth = widgets.load_truth(path, spaces.get(space_spec))
                if truth is None or column not in truth.columns:
                    continue
                index, value = benchmark.best(truth, column)
                st.markdown(f"Best possible in the space on {fmt.md_code(column)}: **{value:.2f}** "
                            f"(index {index}) — for {', '.join(ids)}")
            st.download_button("Table as CSV", scorefile.safe_csv(table), file_name="knas_runs.csv",
                               mime="text/csv", on_click="ignore", key="compare_runs_csv")

            report_id = st.selectbox("HTML report for", chosen, format_func=labels.get,
                                     key="compare_report_job")
            report_config, report_state = finished[report_id]
            report_truth = widgets.load_truth(report_config.truth, report_config.search_space) \
                if report_config.truth else None
            st.download_button(
                "HTML report", file_name=report.report_file_name(report_id), mime="text/html",
                on_click="ignore", key="compare_report",
                data=lambda: report.html_report(report_config.to_dict(), report_state,
                                                _job_events(report_id), report_truth),
                help="A self-contained page (settings, results, chosen cells, figures) to share.")
