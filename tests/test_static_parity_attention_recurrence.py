"""Static mode keeps up with full mode on ``nn.MultiheadAttention`` and on unrolled recurrences (issue 12 item 9).

Full mode sees an ``nn.MultiheadAttention`` as two layers (its packed q/k/v
projection, then ``out_proj``) and a loop over time steps as the steps its
example input runs; static mode must pair the same layers, the same way, from
the source. Each file below holds models written as people write them; both
modes check it through the CLI (JSON, as users read it) and the API
(``initlint.check_paths``), and must give the same verdicts and the same layer
rows. Full mode's notes on how it traced (IL9xx: a forward fx could not trace,
run on an example input instead) are about full mode itself and are left out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MODES, PARITY_FIELDS, line_of, parity_rows, reports_by_mode, write

from initlint import Options, check_paths

ATTENTION = """
import torch
import torch.nn as nn


class PreNormBlock(nn.Module):
    def __init__(self, d=64, heads=4):
        super().__init__()
        self.norm1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        nn.init.normal_(self.attn.in_proj_weight, 0, 1)
        self.norm2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h)[0]
        return x + self.fc2(nn.functional.gelu(self.fc1(self.norm2(x))))


class SeqFirstBlock(nn.Module):
    def __init__(self, d=32, heads=2):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, dropout=0.1)
        self.norm = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, x, mask=None):
        out, _ = self.attn(x, x, x, attn_mask=mask, need_weights=False)
        x = self.norm(x + out)
        return x + self.ff(x)


class CrossAttention(nn.Module):
    def __init__(self, d=32, memory=16):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, 4, kdim=memory, vdim=memory, bias=False, batch_first=True)
        nn.init.kaiming_normal_(self.attn.out_proj.weight, nonlinearity="relu")
        self.head = nn.Linear(d, 3)

    def forward(self, x):
        memory = x[..., :16]
        y, weights = self.attn(x, memory, memory)
        return self.head(torch.relu(y))


class StackedAttention(nn.Module):
    def __init__(self, d=32, depth=3):
        super().__init__()
        self.blocks = nn.ModuleList(nn.MultiheadAttention(d, 4, batch_first=True) for _ in range(depth))
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_normal_(p)
        self.out = nn.Linear(d, 10)

    def forward(self, x):
        for block in self.blocks:
            x = x + block(x, x, x)[0]
        return self.out(x)
"""

# Loops over time steps, in the four ways people count them: the input's length, its unbound steps,
# a while loop, and a literal number of steps.
RECURRENT = """
import torch
import torch.nn as nn


class CharRNN(nn.Module):
    def __init__(self, vocab=48, hidden=64):
        super().__init__()
        self.inp = nn.Linear(vocab, hidden)
        self.rec = nn.Linear(hidden, hidden)
        self.decode = nn.Linear(hidden, vocab)
        nn.init.xavier_uniform_(self.inp.weight, gain=nn.init.calculate_gain("tanh"))
        nn.init.orthogonal_(self.rec.weight)

    def forward(self, one_hot):
        h = torch.zeros(one_hot.shape[0], self.rec.in_features)
        for t in range(one_hot.shape[1]):
            h = torch.tanh(self.inp(one_hot[:, t]) + self.rec(h))
        return self.decode(h)


class ConcatCell(nn.Module):
    def __init__(self, n_in=32, hidden=64):
        super().__init__()
        self.hidden = hidden
        self.proj = nn.Linear(n_in, n_in)
        self.cell = nn.Linear(n_in + hidden, hidden)
        self.out = nn.Linear(hidden, 10)
        nn.init.orthogonal_(self.proj.weight)
        nn.init.orthogonal_(self.cell.weight)

    def forward(self, x):
        x = torch.tanh(self.proj(x))
        h = x.new_zeros(x.size(0), self.hidden)
        for x_t in x.unbind(1):
            h = torch.tanh(self.cell(torch.cat([x_t, h], -1)))
        return self.out(h)


class WhileRNN(nn.Module):
    def __init__(self, n_in=32, hidden=64):
        super().__init__()
        self.inp = nn.Linear(n_in, hidden)
        self.rec = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 10)
        nn.init.xavier_uniform_(self.inp.weight)
        nn.init.orthogonal_(self.rec.weight)

    def forward(self, x):
        h = torch.zeros(x.shape[0], self.rec.out_features)
        t = 0
        while t < x.size(1):
            h = torch.tanh(self.inp(x[:, t]) + self.rec(h))
            t += 1
        return self.out(h)


class CountedRNN(nn.Module):
    def __init__(self, n_in=32, hidden=64, steps=5):
        super().__init__()
        self.steps = steps
        self.inp = nn.Linear(n_in, hidden)
        self.rec = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 10)
        nn.init.orthogonal_(self.rec.weight)

    def forward(self, x):
        h = torch.zeros(x.shape[0], self.rec.in_features)
        for t in range(self.steps):
            h = torch.tanh(self.inp(x[:, t]) + self.rec(h))
        return self.out(h)
"""

SOURCES = {"attention.py": ATTENTION, "recurrent.py": RECURRENT}
# The layers each model must list in both modes: the parity below is about these, not about empty lists.
LAYERS = {
    "PreNormBlock": {"attn", "attn.out_proj", "fc1", "fc2"},
    "SeqFirstBlock": {"attn", "attn.out_proj", "ff.0", "ff.2"},
    # kdim/vdim != embed_dim: q, k and v have weights of their own and no packed one to judge
    "CrossAttention": {"attn.out_proj", "head"},
    "StackedAttention": {*(f"blocks.{i}{part}" for i in range(3) for part in ("", ".out_proj")), "out"},
    "CharRNN": {"inp", "rec", "decode"},
    "ConcatCell": {"proj", "cell", "out"},
    "WhileRNN": {"inp", "rec", "out"},
    "CountedRNN": {"inp", "rec", "out"},
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("parity")
    return {name: write(directory, name, source) for name, source in SOURCES.items()}


@pytest.fixture(scope="module")
def documents(files: dict[str, Path]) -> dict[str, dict[str, dict]]:
    """The JSON report of each file, per mode: ``documents[file][mode]``."""
    return {name: reports_by_mode(path) for name, path in files.items()}


def verdicts(document: dict) -> set[tuple]:
    return {
        (f["model"], f["code"], f["severity"], tuple(f["layers"]), f["line"])
        for f in document["findings"]
        if not f["code"].startswith("IL9")
    }


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_both_modes_list_the_same_layers(documents, name):
    for mode in MODES:
        listed = {model: set(layers) for model, layers in parity_rows(documents[name][mode]).items()}
        assert listed == {model: LAYERS[model] for model in listed}, mode
        assert set(listed) == {model for model in LAYERS if f"class {model}(" in SOURCES[name]}, mode


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_layer_rows_agree(documents, name):
    """Same pairing (activation), same init, same actual and expected std, layer by layer."""
    assert parity_rows(documents[name]["static"]) == parity_rows(documents[name]["full"])


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_verdicts_agree(documents, name):
    """Same codes, severities, layers and lines, model by model."""
    static, full = verdicts(documents[name]["static"]), verdicts(documents[name]["full"])
    assert static == full
    assert static  # each file holds mistakes both modes must find


def test_api_gives_the_same_verdicts_in_both_modes(files):
    path = str(files["attention.py"])
    found = {
        mode: {
            (f.model, f.code, f.severity, f.layers, f.line)
            for f in check_paths([path], options).findings
            if not f.code.startswith("IL9")
        }
        for mode, options in (("full", Options()), ("static", Options(static=True)))
    }
    assert found["static"] == found["full"]
    assert ("PreNormBlock", "IL205", "warning", ("attn",), 10) in found["static"]


def test_static_flags_attention_logits_of_normal_in_proj(documents, files):
    """N(0, 1) on a 64-wide in_proj_weight: q and k outputs of std 8, logits of std 64."""
    (finding,) = [f for f in documents["attention.py"]["static"]["findings"] if f["code"] == "IL205"]
    assert finding["model"] == "PreNormBlock"
    assert finding["layers"] == ["attn"]
    assert finding["severity"] == "warning"
    assert finding["line"] == line_of(files["attention.py"], "nn.init.normal_(self.attn.in_proj_weight")
    assert "start with std 64" in finding["message"]


def test_static_pairs_attention_as_two_layers(documents):
    """The packed projection feeds out_proj; out_proj feeds what follows the call, in either return form."""
    layers = parity_rows(documents["attention.py"]["static"])
    activation = PARITY_FIELDS.index("activation")
    assert layers["PreNormBlock"]["attn"][activation] == "none"  # out_proj, a linear layer, follows it
    assert layers["CrossAttention"]["attn.out_proj"][activation] == "torch.relu"  # `y, weights = self.attn(...)`
    init = PARITY_FIELDS.index("init")
    assert layers["SeqFirstBlock"]["attn"][init] == "PyTorch default xavier_uniform_()"
    assert layers["SeqFirstBlock"]["attn.out_proj"][init] == "xavier_uniform_()"  # apply() reaches it: a Linear


@pytest.mark.parametrize("model", ["CharRNN", "ConcatCell", "WhileRNN", "CountedRNN"])
def test_static_accepts_orthogonal_on_a_weight_that_feeds_itself(documents, model):
    """The hidden-to-hidden layer is paired with the tanh it feeds, and orthogonal_ on it is not a gain mistake."""
    document = documents["recurrent.py"]["static"]
    recurrent = "cell" if model == "ConcatCell" else "rec"
    row = parity_rows(document)[model][recurrent]
    assert row[PARITY_FIELDS.index("activation")] == "torch.tanh"
    assert row[PARITY_FIELDS.index("init")] == "orthogonal_()"
    assert not [f for f in document["findings"] if f["model"] == model and recurrent in f["layers"]]


def test_static_still_flags_gain_mistakes_on_layers_that_do_not_feed_themselves(documents, files):
    """Called once per step too, but never on its own output: xavier's and orthogonal's gain 1 before a tanh."""
    document = documents["recurrent.py"]["static"]
    flagged = {(f["model"], tuple(f["layers"]), f["line"]) for f in document["findings"] if f["code"] == "IL101"}
    assert flagged == {
        ("WhileRNN", ("inp",), line_of(files["recurrent.py"], "nn.init.xavier_uniform_(self.inp.weight)\n")),
        ("ConcatCell", ("proj",), line_of(files["recurrent.py"], "nn.init.orthogonal_(self.proj.weight)")),
    }
