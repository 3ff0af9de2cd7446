"""Every search setting described once: its flag, its help, how New search draws it.

The command line builds its arguments from these descriptions and a config from the parsed
arguments; New search draws the settings of a section (``coarse``, ``run``) in a loop and
``knas.ui.formstate`` fills and reads them by name. So a new setting is one ``SearchConfig``
field and one ``Setting`` line; only a setting that needs a widget of its own (a pool, a method,
a fine stage: the spec forms of ``knas.search.specs``) is drawn by New search itself.
Torch-free.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

from knas import spaces
from knas.search.checks import BACKENDS, DEVICES


@dataclass(frozen=True)
class Setting:
    name: str  # the config field
    help: str
    label: str = ""  # New search's label for a ``section`` setting
    kind: type = str  # str, int or float
    optional: bool = False  # None is a value (the CLI's default)
    listed: bool = False  # several values, comma-separated on the command line
    section: str = ""  # where New search draws it in a loop; "" : a widget of its own
    minimum: float | None = None
    choices: tuple = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def from_cli(self, value):
        if self.listed:
            return tuple(v.strip() for v in str(value).split(",") if v.strip())
        return value


SETTINGS = {s.name: s for s in [
    Setting("space", f"search space: {', '.join(spaces.BUILTIN)} or path/to/file.py:ClassName (a "
                     "space defined in a Python file, which this command runs)"),
    Setting("dataset", "cifar10, cifar100 or imagenet16-120"),
    Setting("data", "dataset folder in its official layout, image folder or .npz"),
    Setting("truth", "ground-truth table to report test accuracy (CSV or .pth)"),
    Setting("report", "truth column reported (default: the space's <dataset> test column)"),
    Setting("pool", "random:N, range:A:B or all"),
    Setting("proxy", "coarse-stage proxy (or ensemble:a+b, logrank:a+b, recommended)"),
    Setting("proxies", "comma-separated proxy names; ensemble:a+b adds a rank ensemble"),
    Setting("n", "samples per network (MGM compares their gradients)",
            "Samples per network (n)", int, section="coarse", minimum=1),
    Setting("k", "candidates kept by the coarse stage", "Top-k kept", int, section="coarse",
            minimum=1),
    Setting("fine", "lookup:COLUMN, lookup:TABLE.csv:COLUMN or train:EPOCHS"),
    Setting("baselines", "comma-separated: random, other proxies, classic strategies "
                         "rs,rea,reinforce,tpe,bohb, one-shot searches darts,gdas (darts:EPOCHS "
                         "for fewer epochs than the published),tenas", listed=True),
    Setting("repeats", "searches with seeds seed, seed+1, ...; the summary gives mean ± std",
            "Repeats", int, section="run", minimum=1),
    Setting("seed", "seed for the pool, the samples and the weights", "Seed", int,
            section="run", minimum=0),
    Setting("device", "auto, cpu, cuda, cuda:N or mps", "Device", choices=DEVICES,
            section="run"),
    Setting("weights_seed", "keep the networks' weights and image batch at this seed in every "
                            "repeat (pools still vary), so many repeats reuse one cached scoring",
            kind=int, optional=True),
    Setting("params", "weights MGM uses: all or first:L:m"),
    Setting("train_samples", "fine-stage training images per candidate (0: the whole split)",
            kind=int, minimum=0),
    Setting("costs", "training-cost table (NAS-Bench-201: nb201_costs.csv)"),
    Setting("table12", "short-schedule table for the classic strategies (NAS-Bench-201: the "
                       "12-epoch table; default: the fine stage's table)"),
    Setting("budget", "seconds each classic strategy may spend: simulated on a space's tables "
                      "(default per dataset), measured when it trains for real (required)",
            kind=float, optional=True),
    Setting("latency", "latency table: index, arch_str and a latency_ms_<device> column per device "
                       "(NAS-Bench-201: hw/nb201_latency.csv, 27 devices)"),
    Setting("max_latency", "comma-separated DEVICE:MS limits, e.g. pixel3:10.7; device here is this "
                           "machine, measured (batch 1, median of 20 passes) and cached", listed=True),
    Setting("max_params", "keep only cells with at most this many parameters (millions)",
            kind=float, optional=True),
    Setting("max_flops", "keep only cells with at most this many FLOPs (millions of "
                         "multiply-accumulates)", kind=float, optional=True),
    Setting("pareto", "a device (of the latency table, or here): each method returns its "
                      "accuracy-latency front, scored by hypervolume and IGD against the true one"),
    Setting("backend", "local (this machine's processes) or ray", choices=BACKENDS),
    Setting("ray_address", "backend ray: HOST:PORT of a cluster's head or auto (default: a "
                           "private local instance started and stopped with the run)"),
]}


def add_arguments(parser, config_class, **defaults) -> None:
    """A flag per field of ``config_class`` (``SearchConfig`` or ``ScoreConfig``), with the
    config's default unless ``defaults`` overrides it; a field without a default is required."""
    for field in fields(config_class):
        setting = SETTINGS[field.name]
        default = defaults.get(field.name, field.default)
        kwargs = {"help": setting.help, "type": str if setting.listed else setting.kind}
        if default is MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = ",".join(default) if setting.listed else default
        parser.add_argument(setting.flag, **kwargs)


def config_from_args(config_class, args, **overrides):
    """The config the parsed arguments describe (``overrides``: values already normalised)."""
    values = {f.name: SETTINGS[f.name].from_cli(getattr(args, f.name))
              for f in fields(config_class)}
    values.update(overrides)
    return config_class(**values)


def section(name: str) -> list[Setting]:
    """The settings New search draws in a loop in one of its sections."""
    return [s for s in SETTINGS.values() if s.section == name]


def command_line(config) -> str:
    """The ``python -m knas search`` command that runs ``config``: every setting that differs
    from its default, quoted for a POSIX shell."""
    import shlex

    defaults = {f.name: f.default for f in fields(config) if f.default is not MISSING}
    words = ["python", "-m", "knas", "search"]
    for setting in SETTINGS.values():
        value = getattr(config, setting.name, None)
        if setting.name not in defaults or value == defaults[setting.name] or value in (None, ""):
            continue
        text = ",".join(map(str, value)) if setting.listed else f"{value:g}" \
            if isinstance(value, float) else str(value)
        words += [setting.flag, text]
    return " ".join(shlex.quote(w) for w in words)
