"""knas.search.specs: every spec a user types parses and formats in one place, and round-trips."""
import pytest

from knas import proxies
from knas.spaces.nb201 import cells as space
from knas.search.specs import (RANDOM, FineStage, Method, ParamSelection, Pool, SpecError, parse_methods,
                               proxies_of)
from tests.conftest import NB201


@pytest.mark.parametrize("text", ["random:8", "range:3:9", "all", "mgm", "ensemble:mgm+synflow",
                                  "random", "lookup:cifar10_valid", "lookup:/t.csv:c", "train:3",
                                  "first:3:4"])
def test_every_spec_round_trips(text):
    pool = lambda t: Pool.parse(t, NB201.size)  # noqa: E731 (a pool is bounded by its space)
    parser = {"random:8": pool, "range:3:9": pool, "all": pool, "lookup:cifar10_valid": FineStage.parse,
              "lookup:/t.csv:c": FineStage.parse, "train:3": FineStage.parse,
              "first:3:4": ParamSelection.parse}.get(text, Method.parse)
    assert str(parser(text)) == text


def test_specs_from_widgets():
    assert str(Pool("random", count=8)) == "random:8"
    assert str(Pool("range", start=3, stop=9)) == "range:3:9"
    assert str(Pool("all")) == "all"
    assert str(Method.of(["mgm"])) == "mgm"
    assert str(Method.of(["mgm", "synflow"])) == "ensemble:mgm+synflow"
    with pytest.raises(SpecError, match="at least one proxy"):
        Method.of([])
    assert str(FineStage("lookup", column="cifar10_valid")) == "lookup:cifar10_valid"
    assert str(FineStage("lookup", column="c", table="/t.csv")) == "lookup:/t.csv:c"
    assert str(FineStage("train", epochs=3)) == "train:3"
    assert str(ParamSelection()) == "all" and str(ParamSelection(3, 4)) == "first:3:4"
    assert Method.parse(RANDOM).members == () and Method.parse(RANDOM).is_random
    assert Method.parse("ensemble:mgm+snip").members == ("mgm", "snip")


def test_pools_are_seeded_and_sized():
    assert Pool.parse("random:5", NB201.size).indices(NB201, 3) == NB201.sample(5, 3)
    assert Pool.parse("range:3:6", NB201.size).indices(NB201) == [3, 4, 5]
    assert len(Pool.parse("all", NB201.size)) == space.N_ARCHS == len(Pool.parse("all", NB201.size).indices(NB201))
    assert len(Pool.parse("range:10:20", NB201.size)) == 10


@pytest.mark.parametrize("cls, text, message", [
    (Pool, "random:0", "bad pool"), (Pool, "range:5:2", "bad pool"), (Pool, "some", "bad pool"),
    (Pool, "random:15626", "bad pool"), (Pool, "all:3", "bad pool"),
    (Method, "", "at least one proxy"), (Method, "ensemble:", "choose at least one proxy"),
    (Method, "zenith", "unknown proxy 'zenith'"), (Method, "ensemble:mgm+zenith", "unknown proxy 'zenith'"),
    (FineStage, "lookup:", "bad fine stage"), (FineStage, "train:0", "bad fine stage"),
    (FineStage, "guess", "bad fine stage"),
    (ParamSelection, "first:0:5", "bad parameter selection"),
    (ParamSelection, "garbage", "bad parameter selection"),
    (ParamSelection, "first:2", "bad parameter selection"),
])
def test_bad_specs_say_what_is_accepted(cls, text, message):
    with pytest.raises((SpecError, proxies.UnknownProxyError), match=message):
        cls.parse(text, NB201.size) if cls is Pool else cls.parse(text)


def test_method_lists():
    methods = parse_methods("mgm, synflow,ensemble:synflow+naswot")
    assert [str(m) for m in methods] == ["mgm", "synflow", "ensemble:synflow+naswot"]
    assert proxies_of(methods) == ["mgm", "synflow", "naswot"]
