"""The small text specs a user types, each parsed and formatted in exactly one place.

``Pool`` (``random:N``, ``range:A:B``, ``all``, bounded by the space's size), ``Method`` (a proxy, ``ensemble:a+b``, the
``random`` baseline, a classic strategy ``rs``/``rea``/``reinforce``/``tpe``/``bohb``, or a one-shot
search ``darts``/``gdas`` (``darts:EPOCHS`` for a shorter run than the published one) or ``tenas``), ``FineStage`` (``lookup:COLUMN``, ``lookup:TABLE:COLUMN``, ``train:EPOCHS``)
and ``ParamSelection`` (``all``, ``first:L:m``). The CLI, the New search form, ``SearchConfig`` and
the score cache key all go through these: ``X.parse(text)`` checks a spec and says exactly what is
wrong; ``str(spec)`` writes it back, so ``str(X.parse(t)) == t`` for every valid ``t``.
Torch-free.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from knas import proxies
from knas.errors import KnasError
from knas.oneshot.common import METHODS as ONESHOT
from knas.search import strategies


class SpecError(KnasError, ValueError):
    """A spec that does not parse; the message gives the accepted forms."""


def _int(text: str) -> int | None:
    """A plain decimal integer of at most 18 digits (no "--5", no "²": ``str.isdigit`` accepts
    superscripts ``int`` refuses), else None."""
    text = text.strip()
    return int(text) if re.fullmatch(r"-?[0-9]{1,18}", text) else None


# --- candidate pools ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """The cells a search scores: N seeded random ones, an index range, or all of a space of
    ``size`` cells."""
    kind: str  # random | range | all
    count: int = 0  # random
    start: int = 0  # range: start..stop-1
    stop: int = 0
    size: int = 0  # the space's

    @classmethod
    def parse(cls, text, size: int) -> "Pool":
        kind, _, rest = str(text).strip().partition(":")
        if kind == "all" and not rest:
            return cls("all", size=size)
        if kind == "random" and (n := _int(rest)) is not None and 1 <= n <= size:
            return cls("random", count=n, size=size)
        if kind == "range" and rest.count(":") == 1:
            a, b = (_int(v) for v in rest.split(":"))
            if a is not None and b is not None and 0 <= a < b <= size:
                return cls("range", start=a, stop=b, size=size)
        raise SpecError(
            f"bad pool {text!r}: use random:N (1 <= N <= {size}), range:A:B "
            f"(0 <= A < B <= {size}) or all")

    def __str__(self) -> str:
        if self.kind == "random":
            return f"random:{self.count}"
        if self.kind == "range":
            return f"range:{self.start}:{self.stop}"
        return "all"

    def __len__(self) -> int:
        return {"random": self.count, "range": self.stop - self.start}.get(self.kind, self.size)

    def indices(self, space, seed: int = 0) -> list[int]:
        """The pool's cell indices in ``space``; a random pool is drawn with ``seed``."""
        if self.kind == "random":
            return space.sample(self.count, seed)
        if self.kind == "range":
            return list(range(self.start, self.stop))
        return list(range(space.size))


# --- what ranks the candidates -------------------------------------------------------------------

RANDOM = "random"  # the random-selection baseline: k candidates drawn from the pool
# The space's reference network (the text space: the encoder's standard head), trained by the
# fine stage's recipe: the network a searched cell must beat.
REFERENCE = "standard_head"
# Classic multi-trial searches (knas.search.strategies), on a space's clock (knas.search.classic).
STRATEGIES = strategies.NAMES
# prefix -> how member ranks combine (knas.results.stats.aggregate computes each)
AGGREGATIONS = {"ensemble": "mean rank", "logrank": "sum of log(rank / N), AZ-NAS's aggregation",
                "geomean": "geometric mean of rank fractions"}


@dataclass(frozen=True)
class Method:
    """How a search finds its cell: a two-stage KNAS search ranking its pool by one registered
    proxy or several combined by rank (``ensemble:a+b``: mean rank), the ``random`` baseline (k
    cells drawn from the pool), or a classic multi-trial ``strategy`` (rs, rea, reinforce, tpe)."""
    members: tuple = ()  # registered proxy names; () for random and strategies
    aggregation: str = ""  # "" for one proxy or random; a key of AGGREGATIONS otherwise
    strategy: str = ""  # one of STRATEGIES, or ""
    alias: str = ""  # the name a composite goes by (``recommended``, ``proxies.RANKINGS``)
    reference: bool = False  # the space's reference network (``REFERENCE``), not a search
    oneshot: str = ""  # one of ONESHOT (knas.oneshot), or ""
    epochs: int = 0  # a one-shot search's epochs; 0: the published schedule

    @classmethod
    def parse(cls, text) -> "Method":
        text = str(text).strip()
        if text == RANDOM:
            return cls()
        if text == REFERENCE:
            return cls(reference=True)
        if text in STRATEGIES:
            return cls(strategy=text)
        name, colon, epochs = text.partition(":")
        if name in ONESHOT:
            if not colon:
                return cls(oneshot=name)
            value = _int(epochs)
            if name == "tenas" or value is None or not 1 <= value <= MAX_EPOCHS:
                raise SpecError(f"bad one-shot search {text!r}: use darts, gdas, darts:EPOCHS or "
                                f"gdas:EPOCHS (1 <= EPOCHS <= {MAX_EPOCHS}), or tenas")
            return cls(oneshot=name, epochs=value)
        if text in proxies.RANKINGS:
            named = proxies.RANKINGS[text]
            return cls(tuple(named.members), named.aggregation, alias=text)
        prefix, sep, rest = text.partition(":")
        if sep and prefix in AGGREGATIONS:
            members = tuple(m.strip() for m in rest.split("+") if m.strip())
            if not members:
                raise SpecError(f"{prefix}: lists no proxies; choose at least one proxy ({prefix}:a+b)")
            aggregation = prefix
        elif not text:
            raise SpecError("choose at least one proxy")
        else:
            members, aggregation = (text,), ""
        for member in members:
            proxies.info(member)  # an unknown name fails here, listing the known ones
        return cls(members, aggregation)

    @classmethod
    def of(cls, members) -> "Method":
        """One proxy as itself, several as a rank ensemble (the New search form's choice)."""
        members = tuple(members)
        if not members:
            raise SpecError("choose at least one proxy")
        return cls(members, "ensemble" if len(members) > 1 else "")

    @property
    def is_random(self) -> bool:
        return not self.members and self.is_two_stage

    @property
    def is_two_stage(self) -> bool:
        """Ranks a pool and picks among its top-k (proxies and random), unlike a strategy."""
        return not self.strategy and not self.reference and not self.oneshot

    def __str__(self) -> str:
        if self.alias:
            return self.alias
        if self.strategy:
            return self.strategy
        if self.oneshot:
            return f"{self.oneshot}:{self.epochs}" if self.epochs else self.oneshot
        if self.reference:
            return REFERENCE
        if self.is_random:
            return RANDOM
        if self.aggregation:
            return f"{self.aggregation}:{'+'.join(self.members)}"
        return self.members[0]


def parse_methods(text) -> list[Method]:
    """A comma-separated list of methods (``mgm,synflow,ensemble:a+b``), each checked."""
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    return [Method.parse(item) for item in items]


def proxies_of(methods) -> list[str]:
    """The registered proxies behind some methods, each once, in first-seen order."""
    return list(dict.fromkeys(m for method in methods for m in method.members))


# --- the fine stage ------------------------------------------------------------------------------


MAX_EPOCHS = 1000  # NAS-Bench-201 trains for 200


@dataclass(frozen=True)
class FineStage:
    """``lookup:COLUMN`` (of the truth table), ``lookup:TABLE:COLUMN`` or ``train:EPOCHS``."""
    kind: str
    column: str = ""
    table: str = ""
    epochs: int = 0

    @classmethod
    def parse(cls, text) -> "FineStage":
        kind, _, rest = str(text).partition(":")
        if kind == "lookup" and rest:
            table, _, column = rest.rpartition(":")
            if column:
                return cls("lookup", column=column, table=table)
        if kind == "train" and (epochs := _int(rest)) is not None and 1 <= epochs <= MAX_EPOCHS:
            return cls("train", epochs=epochs)
        raise SpecError(f"bad fine stage {text!r}: use lookup:COLUMN, lookup:TABLE.csv:COLUMN or "
                        f"train:EPOCHS (1 <= EPOCHS <= {MAX_EPOCHS})")

    def __str__(self) -> str:
        if self.kind == "train":
            return f"train:{self.epochs}"
        return f"lookup:{self.table}:{self.column}" if self.table else f"lookup:{self.column}"


# --- which weights MGM uses ----------------------------------------------------------------------


@dataclass(frozen=True)
class ParamSelection:
    """``all`` weights, or ``first:L:m``: the first m elements of the first L parameter tensors
    (in registration order) that have at least m elements, as KNAS's code selects them."""
    layers: int = 0  # 0: all
    elements: int = 0

    @classmethod
    def parse(cls, text) -> "ParamSelection":
        text = str(text).strip()
        if text == "all":
            return cls()
        parts = text.split(":")
        if len(parts) == 3 and parts[0] == "first":
            layers, elements = _int(parts[1]), _int(parts[2])
            if layers is not None and elements is not None and layers >= 1 and elements >= 1:
                return cls(layers, elements)
        raise SpecError(f"bad parameter selection {text!r}: use all or first:L:m (L, m >= 1)")

    @property
    def is_all(self) -> bool:
        return self.layers == 0

    def __str__(self) -> str:
        return "all" if self.is_all else f"first:{self.layers}:{self.elements}"
