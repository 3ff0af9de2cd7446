"""New search's form values, kept while the user visits other pages, and filled from a finished
run ("Run again with these settings").

Streamlit forgets a widget's value once its page is left, so after every run of the page the
values are copied into one plain session entry (``SAVED``) and put back before the widgets are
drawn. Widgets then take their value from the session alone (no ``value=`` argument), which is
what Streamlit expects of values set this way. Works on any mapping: testable without Streamlit.
"""
from __future__ import annotations

from collections.abc import MutableMapping

from . import proxies
from .config import SearchConfig
from .specs import RANDOM, STRATEGIES, FineStage, Method, ParamSelection, Pool

PREFIX = "ns_"
SAVED = "ns__saved"  # the form as it was last drawn, or as "Run again" filled it
NOT_VALUES = {"ns_start", SAVED}  # buttons and the saved entry itself


def remember(state: MutableMapping) -> None:
    """Keep the form's current widget values (call at the end of the page)."""
    state[SAVED] = {k: v for k, v in state.items() if k.startswith(PREFIX) and k not in NOT_VALUES}


def restore(state: MutableMapping, defaults: dict) -> None:
    """Before the widgets: put back remembered values the session lost, and give every other
    widget its default (``defaults``: key -> value)."""
    for key, value in {**defaults, **state.get(SAVED, {})}.items():
        if key not in state:
            state[key] = value


def fill(state: MutableMapping, config: SearchConfig) -> None:
    """Make the form show ``config`` the next time New search is drawn."""
    for key in [k for k in state if k.startswith(PREFIX) and k not in NOT_VALUES]:
        del state[key]
    state[SAVED] = form_values(config)


def form_values(config: SearchConfig) -> dict:
    """The widget values that draw ``config`` in the New search form (methods the form does not
    offer are left out)."""
    ds = config.dataset
    values = {"ns_dataset": ds, f"ns_data_{ds}": config.data, "ns_truth": config.truth,
              "ns_n": config.n, "ns_k": config.k, "ns_repeats": config.repeats,
              "ns_seed": config.seed, "ns_device": config.device,
              "ns_baselines": [b for b in config.baselines
                               if b in (RANDOM, *STRATEGIES, proxies.RECOMMENDED, *proxies.CATALOG)],
              "ns_costs": config.costs, "ns_t12_strategies": config.table12,
              "ns_budget": float(config.budget or 0.0), "ns_backend": config.backend,
              "ns_ray_address": config.ray_address}
    if config.report:
        values[f"ns_report_{ds}"] = config.report
    pool = Pool.parse(config.pool)
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
        values.update({"ns_fine_kind": "table12", "ns_table12": stage.table,
                       f"ns_t12_col_{ds}": stage.column})
    else:
        values.update({"ns_fine_kind": "lookup", f"ns_fine_col_{ds}": stage.column})
    return values
