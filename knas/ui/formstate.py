"""New search's form values, kept while the user visits other pages, and filled from a finished
run ("Run again with these settings").

Streamlit forgets a widget's value once its page is left, so after every run of the page the
values are copied into one plain session entry (``SAVED``) and put back before the widgets are
drawn. Widgets then take their value from the session alone (no ``value=`` argument), which is
what Streamlit expects of values set this way. Works on any mapping: testable without Streamlit.
"""
from __future__ import annotations

from collections.abc import MutableMapping

from knas import proxies, spaces
from knas.search import form
from knas.search.config import SearchConfig
from knas.search.specs import ONESHOT, RANDOM, STRATEGIES, FineStage, Method, ParamSelection, Pool

PREFIX = "ns_"
SAVED = "ns__saved"  # the form as it was last drawn, or as "Run again" filled it
NOT_VALUES = {"ns_start", SAVED}  # buttons and the saved entry itself
FILE_SPACE = "a space in a Python file…"  # the space picker's choice for a file space


def remember(state: MutableMapping) -> None:
    """Keep the form's current widget values (call at the end of the page)."""
    state[SAVED] = {k: v for k, v in state.items() if k.startswith(PREFIX) and k not in NOT_VALUES}


def restore(state: MutableMapping, defaults: dict) -> None:
    """At the top of the page, before any widget: put back remembered values the session lost,
    and give every other widget its default (``defaults``: key -> value). Every key is assigned,
    even one the session holds: a widget drawn again after a run without it (New search stops
    early while no space is chosen) shows its value only when it was set this way."""
    for key, value in {**defaults, **state.get(SAVED, {})}.items():
        state[key] = state[key] if key in state else value


def default(state: MutableMapping, defaults: dict) -> None:
    """Further down the page: give widgets that depend on earlier choices (a data set's paths
    and columns) their defaults, leaving every value the session holds alone."""
    for key, value in defaults.items():
        if key not in state:
            state[key] = value


def section_defaults() -> dict:
    """The widget values of the settings New search draws in loops, at the config's defaults."""
    defaults = SearchConfig()
    return {f"{PREFIX}{s.name}": getattr(defaults, s.name)
            for section in ("coarse", "run") for s in form.section(section)}


def fill(state: MutableMapping, config: SearchConfig) -> None:
    """Make the form show ``config`` the next time New search is drawn."""
    for key in [k for k in state if k.startswith(PREFIX) and k not in NOT_VALUES]:
        del state[key]
    state[SAVED] = form_values(config)


def form_values(config: SearchConfig) -> dict:
    """The widget values that draw ``config`` in the New search form (methods the form does not
    offer are left out)."""
    ds, space = config.dataset, config.search_space
    sid = space.cache_id  # the form keeps tables and columns per space
    builtin = config.space in spaces.BUILTIN
    values = {"ns_space": config.space if builtin else FILE_SPACE,
              f"ns_dataset_{sid}": ds, f"ns_data_{ds}": config.data,
              f"ns_truth_{sid}": config.truth,
              "ns_baselines": [b for b in config.baselines
                               if b in (RANDOM, *STRATEGIES, *proxies.RANKINGS, *proxies.CATALOG)
                               or b.partition(":")[0] in ONESHOT],
              f"ns_costs_{sid}": config.costs, f"ns_t12_strategies_{sid}": config.table12,
              "ns_budget": float(config.budget or 0.0), "ns_backend": config.backend,
              "ns_ray_address": config.ray_address, f"ns_latency_{sid}": config.latency,
              "ns_max_params": float(config.max_params or 0.0),
              "ns_max_flops": float(config.max_flops or 0.0), "ns_pareto": config.pareto}
    limits = [text.rpartition(":") for text in config.max_latency]
    values["ns_limit_devices"] = [device for device, _, _ in limits]
    values.update({f"ns_maxlat_{device}": float(ms) for device, _, ms in limits})
    values.update({f"{PREFIX}{s.name}": getattr(config, s.name)
                   for section in ("coarse", "run") for s in form.section(section)})
    if not builtin:  # the trust box stays unticked: the user confirms the file again
        values["ns_space_file"] = config.space
    if config.report:
        values[f"ns_report_{sid}_{ds}"] = config.report
    pool = Pool.parse(config.pool, space.size)
    values["ns_pool_kind"] = pool.kind
    if pool.kind == "random":
        values["ns_pool_count"] = pool.count
    elif pool.kind == "range":
        values.update(ns_pool_start=pool.start, ns_pool_stop=pool.stop)
    method = Method.parse(config.proxy)
    values["ns_ensemble"] = bool(method.aggregation)
    if method.aggregation:
        values["ns_members"] = list(method.members)
    else:
        values["ns_proxy"] = method.members[0]
    params = ParamSelection.parse(config.params)
    values["ns_params"] = "first" if params.layers else "all"
    if params.layers:
        values.update(ns_params_l=params.layers, ns_params_m=params.elements)
    stage = FineStage.parse(config.fine)
    if stage.kind == "train":
        values.update(ns_fine_kind="train", ns_epochs=stage.epochs,
                      ns_train_samples=config.train_samples)
    elif stage.table:
        values.update({"ns_fine_kind": "table12", f"ns_table12_{sid}": stage.table,
                       f"ns_t12_col_{sid}_{ds}": stage.column})
    else:
        values.update({"ns_fine_kind": "lookup", f"ns_fine_col_{sid}_{ds}": stage.column})
    return values
