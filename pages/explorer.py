"""Explorer: any cell of a search space by index, by arch string or choice by choice; deep link
?arch=N (and ?space=NAME for a built-in space)."""
from __future__ import annotations

import math

import streamlit as st

from knas import fmt, paths, spaces
from knas.data import benchmark, datasets
from knas.results import plots
from knas.scoring import cache
from knas.ui import explore, forms, widgets
from knas.search.checks import MAX_TEXT

CURRENT = "explorer_index"  # the cell shown (index in the space)
SHOWN_SPACE = "explorer_shown_space"  # the space CURRENT belongs to
SEEN_QP = "explorer_seen_qp"  # the ?arch= value this session last wrote or followed
STR_ERROR = "explorer_str_error"
LINK_ERROR = "explorer_link_error"  # a deep link that named no cell: shown until the user moves on


def _choice_key(name: str) -> str:
    return f"explorer_choice_{space.cache_id}_{name}"


def _go(index: int) -> None:
    """Show cell ``index``: every input widget follows (allowed in callbacks and before drawing)."""
    arch = space.arch_at(int(index))
    st.session_state[CURRENT] = int(index)
    st.session_state["explorer_number"] = int(index)
    st.session_state["explorer_str"] = space.format(arch)
    for decision, choice in zip(space.decisions(), arch):
        st.session_state[_choice_key(decision.name)] = choice
    st.session_state.pop(STR_ERROR, None)
    if st.session_state.get(LINK_ERROR, (None, None))[1] != int(index):  # the user moved on
        st.session_state.pop(LINK_ERROR, None)


def _from_query(value: str) -> int:
    """``?arch=`` holds an index; an arch string works too."""
    value = value.strip()
    return space.index_of(space.arch_at(int(value)) if value.lstrip("-").isdigit() else space.parse(value))


def _on_number() -> None:
    _go(int(st.session_state["explorer_number"]))


def _on_str() -> None:
    text = st.session_state["explorer_str"]
    try:
        index = space.index_of(space.parse(text))
    except spaces.ArchError as err:
        st.session_state[STR_ERROR] = str(err)  # keep what was typed, so it can be fixed
        return
    _go(index)


def _on_choices() -> None:
    _go(space.index_of(tuple(st.session_state[_choice_key(d.name)] for d in space.decisions())))


def _neighbour_key(index: int) -> str:
    return f"explorer_neighbours_{index}"  # a fresh table (and selection) for every cell


def _follow_neighbour_selection() -> None:
    """A row picked in the neighbour table on the last run: go there (before any widget draws)."""
    if CURRENT not in st.session_state:
        return
    current = st.session_state[CURRENT]
    picked = st.session_state.get(_neighbour_key(current))
    rows = (picked or {}).get("selection", {}).get("rows", []) if isinstance(picked, dict) else []
    neighbours = space.neighbours(space.arch_at(current))
    if rows and 0 <= rows[0] < len(neighbours):
        _go(space.index_of(neighbours[rows[0]]))


widgets.page_setup("Explorer")
st.title("Explorer")
linked_space, _ = widgets.query_param("space")  # built-in names only: a link never loads a file
if linked_space in spaces.BUILTIN and st.session_state.get("explorer_seen_space") != linked_space:
    st.session_state["explorer_seen_space"] = linked_space
    st.session_state["explorer_space"] = linked_space
space = widgets.space_picker("explorer_space")
if space is None:
    st.stop()
if st.session_state.get(SHOWN_SPACE) != space.cache_id:  # a new space starts at its first cell
    st.session_state[SHOWN_SPACE] = space.cache_id
    st.session_state.pop(CURRENT, None)
    for key in [k for k in st.session_state if str(k).startswith("explorer_neighbours_")]:
        del st.session_state[key]  # another space's selections

# --- which cell: deep link first, then the session's own choice --------------------------------
query, too_long = widgets.query_param("arch")
if too_long and st.session_state.get(SEEN_QP) != too_long:
    st.session_state[SEEN_QP] = too_long
    st.session_state[LINK_ERROR] = (too_long, st.session_state.get(CURRENT, 0))
if query is not None and query != st.session_state.get(SEEN_QP):
    st.session_state[SEEN_QP] = query
    try:
        _go(_from_query(query))
    except (spaces.ArchError, ValueError) as err:
        st.session_state[LINK_ERROR] = (f"Link parameter arch={query!r} names no cell: {err}",
                                         st.session_state.get(CURRENT, 0))
_follow_neighbour_selection()
if CURRENT not in st.session_state:
    _go(0)
if LINK_ERROR in st.session_state:  # kept across reruns (the sidebar's probe reruns the page)
    st.warning(fmt.md_escape(st.session_state[LINK_ERROR][0]))
index = st.session_state[CURRENT]
arch = space.arch_at(index)
if st.query_params.get("arch") != str(index):
    st.query_params["arch"] = str(index)
st.session_state[SEEN_QP] = str(index)

settings = widgets.app_settings()
default_space = space.spec == spaces.DEFAULT  # the Data page's tables are the default space's
truth = widgets.load_truth(settings.truth, space) if default_space else None
table12 = widgets.load_truth(settings.table12, space) if default_space else None

st.caption(f"Any of the {space.size:,} cells of {fmt.md_escape(space.label or space.name)}: type "
           "an index or an arch string, or pick each choice. Link to this view with "
           f"`?arch={index}`.")

# --- the three ways in ---------------------------------------------------------------------------
left, right = st.columns([1, 3])
left.number_input("Cell index", min_value=0, max_value=space.size - 1, step=1,
                  key="explorer_number", on_change=_on_number)
right.text_input("Arch string", key="explorer_str", on_change=_on_str,
                 help="The space's form, as in the box under the cell below; press Enter to go", max_chars=MAX_TEXT)
if st.session_state.get(STR_ERROR):
    st.error(f"Not a valid arch string: {fmt.md_escape(st.session_state[STR_ERROR])}. "
             f"Still showing cell {index}.")

decisions = space.decisions()
for start in range(0, len(decisions), 6):
    row = decisions[start:start + 6]
    for column, decision in zip(st.columns(len(row)), row):
        column.selectbox(decision.label, decision.choices, key=_choice_key(decision.name),
                         on_change=_on_choices, format_func=space.choice_label)

# --- the cell ------------------------------------------------------------------------------------
st.header(f"Cell {index}")
picture, facts = st.columns([3, 2])
with picture:
    widgets.show_arch(space, arch)
    download_left, download_right = st.columns(2)
    download_left.download_button("Arch string (.txt)", space.format(arch) + "\n",
                                  file_name=f"{space.name}_cell_{index}.txt", mime="text/plain",
                                  on_click="ignore", key="explorer_dl_str")
    exported = space.module_source(arch)
    if exported is not None:
        download_right.download_button("PyTorch module (.py)", exported[0], file_name=exported[1],
                                       mime="text/x-python", on_click="ignore",
                                       key="explorer_dl_module",
                                       help="Plain PyTorch: build() gives this cell's network "
                                            "(CIFAR-10 head)")

with facts:
    cifar10 = datasets.info("cifar10")
    params = space.count_params(arch, cifar10.num_classes)
    flops = space.count_flops(arch, cifar10.num_classes, cifar10.image_side)
    facts_cards = []
    if params is not None:
        facts_cards.append(("Parameters", f"{params / 1e6:.3f} M", "with CIFAR-10's 10-class head"))
    if flops is not None:
        facts_cards.append(("FLOPs", f"{flops / 1e6:.2f} M", "multiply-accumulates on 32×32"))
    row, shown = None, []
    if truth is not None:
        try:
            row = benchmark.lookup(truth, index, space)
        except benchmark.NotInTable as err:
            st.info(fmt.md_escape(err))
    if row is not None:
        shown = [(datasets.info(d).label, space.truth_columns(d).test) for d in space.datasets
                 if space.truth_columns(d).test in row]
        facts_cards += [(f"{label} test", "—" if math.isnan(row[col]) else f"{row[col]:.2f}%",
                         f"{col}, mean over seeds") for label, col in shown]
    widgets.cards(facts_cards)
    if row is not None:
        for label, col in shown[:1]:
            ranked = explore.rank_in_space(truth, col, index)
            if ranked:
                st.markdown(f"Cell {index} is **{explore.rank_text(*ranked, f'{label} test')}**.")
        recorded = row.get(space.truth_columns("cifar10").params, math.nan)
        agree = explore.recorded_params_agree(space, recorded, arch) \
            if not math.isnan(recorded) else None
        if agree is not None:
            note = "agrees" if agree else "differs (a known record defect for some cells)"
            st.caption(f"The table records {recorded:.6f} M parameters; ours {note}.")
    elif truth is None and default_space:
        st.info("No ground-truth table set: accuracies appear once one is chosen on the Data page.")

    group = space.same_function(index)
    live = space.live(arch)
    st.subheader("Function")
    if group is not None:
        st.markdown(f"**{len(group)}** of the {space.size:,} cells compute the same function "
                    f"({sum(live)} of {len(live)} choices live; lowest index {group[0]}).")
    st.code(space.canonical(arch), language=None)
    if group is not None and len(group) > 1:
        others = [i for i in group if i != index]
        st.caption("Same function: " + ", ".join(map(str, others[:30]))
                   + (f" … and {len(others) - 30} more" if len(others) > 30 else ""))

if truth is not None:
    with st.expander("Every ground-truth value for this cell"):
        rows = []
        for name, source in ((settings.truth, truth), (settings.table12, table12)):
            if source is None:
                continue
            try:
                found = benchmark.lookup(source, index, space)
            except benchmark.NotInTable:
                continue
            rows += [{"table": name.rsplit("/", 1)[-1], "column": k, "value": v}
                     for k, v in found.items() if k not in ("index", "arch_str")]
        st.dataframe(rows, hide_index=True)


latency_table = widgets.load_latency(settings.latency, space) if default_space else None
if latency_table is not None:
    with st.expander(f"Latency on {len(latency_table.devices)} devices", expanded=True):
        rows = explore.latency_rows(latency_table, index)
        if rows.empty:
            st.info(f"Cell {index} is not in the latency table.")
        else:
            widgets.table(rows)
            st.caption("One forward pass of the CIFAR-10 network (HW-NAS-Bench and BRP-NAS, as "
                       "the latency table records it).")


@st.cache_data(ttl=30, show_spinner=False)
def _cached_scores(space_spec: str, index: int, directory: str) -> list[dict]:
    found = spaces.get(space_spec)
    return cache.cached_scores(found, found.arch_at(index), directory=directory)


st.subheader("Cached scores")
scores = _cached_scores(space.spec, index, str(paths.scores_dir()))
if scores:
    st.dataframe(scores, hide_index=True)
    st.caption("Scores this cell (or a cell computing the same function) already has in the score "
               "cache, per proxy, settings and data batch (first 50).")
else:
    st.caption("No cached proxy scores for this cell yet.")

# --- the Gram matrix of per-sample gradients ------------------------------------------------------
st.subheader("The Gram matrix behind MGM")
st.caption("G[i, j] = <g_i, g_j>, the dot products of the per-sample loss gradients of this cell's "
           "randomly initialised network on n CIFAR-10 images. Its mean is MGM (the KNAS score); "
           "gram_trace is its mean diagonal (how large single-sample gradients are); gram_cond its "
           "condition number (TE-NAS's trainability measure, smaller is better); gram_coherence "
           "mean(G) / mean(diag G) (how much the samples' gradients agree, free of scale). How each "
           "ranks cells: docs/correlation.md.")
gram_data = settings.dataset_path("cifar10")
if not gram_data:
    st.caption("Set a CIFAR-10 dataset on the Data page to compute it.")
elif st.button("Compute G for this cell (n = 16, a few seconds)", key=f"explorer_gram_{index}") \
        or st.session_state.get("explorer_gram_shown") == (space.cache_id, index):
    st.session_state["explorer_gram_shown"] = (space.cache_id, index)
    with st.spinner("Computing the per-sample gradients in a worker process…"):
        view = forms.gram_view(space, index, "cifar10", gram_data)
    if "error" in view:
        st.error(f"Could not compute it: {fmt.md_escape(view['error'])}")
    else:
        left, right = st.columns([3, 2])
        left.plotly_chart(plots.gram_heatmap(view["matrix"], view["labels"]),
                          key=f"explorer_gram_plot_{index}")
        right.metric("MGM = mean(G)", f"{view['mgm']:.4g}")
        right.metric("gram_trace", f"{view['gram_trace']:.4g}")
        right.metric("gram_cond", f"{view['gram_cond']:.4g}")
        right.metric("gram_coherence", f"{view['gram_coherence']:.3f}")

# --- neighbours ----------------------------------------------------------------------------------
st.subheader("One choice away")
neighbours = explore.neighbour_rows(space, arch, truth)
st.dataframe(
    neighbours, hide_index=True, key=_neighbour_key(index), selection_mode="single-row",
    on_select="rerun",
    column_config={c: st.column_config.NumberColumn(c, format="%.2f")
                   for c in neighbours.columns if c.endswith("_test")},
)
st.caption("Select a row to go to that cell. 'same function': the changed cell computes what this "
           "one does (the choice was dead: dashed in the diagram, or the change does not matter).")
