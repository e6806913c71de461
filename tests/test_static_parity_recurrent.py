"""Static mode keeps up with full mode on ``nn.LSTM``, ``nn.GRU``, ``nn.RNN`` and their cells.

Full mode builds these layers and reads every parameter torch registers; static
mode must register the same ones from source (names, shapes, PyTorch's default
uniform_(+-1/sqrt(hidden))), record the user's inits on them (named_parameters()
loops with name tests, forget-gate slices) and pair the layer the same way from
its call, whatever the call's result is unpacked into. The models below are
written as people write them; both modes check them through the CLI (JSON, as
users read it) and the API (``initlint.check_paths``), and must give the same
verdicts and the same layer rows. Full mode's notes on how it traced (IL9xx) are
about full mode itself and are left out.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch.nn as nn
from conftest import PARITY_FIELDS, line_of, parity_rows, reports_by_mode, run_json, write

from initlint import Options, check_paths
from initlint.static import analyze_source

MODELS = """
import torch
import torch.nn as nn


class CharLSTM(nn.Module):
    def __init__(self, vocab=48, hidden=128):
        super().__init__()
        self.lstm = nn.LSTM(vocab, hidden, num_layers=2, dropout=0.2)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.decoder(out)


class BiGRUTagger(nn.Module):
    def __init__(self, n_in=40, hidden=64, tags=9):
        super().__init__()
        self.gru = nn.GRU(n_in, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, tags)
        for name, p in self.gru.named_parameters():
            if "weight_ih" in name:
                nn.init.xavier_uniform_(p)
            elif "weight_hh" in name:
                nn.init.orthogonal_(p)
            elif "bias" in name:
                nn.init.zeros_(p)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(torch.relu(out))


class TanhRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(32, 64, nonlinearity="tanh", batch_first=True)
        nn.init.orthogonal_(self.rnn.weight_hh_l0)
        self.fc = nn.Linear(64, 5)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


class UnrolledCell(nn.Module):
    def __init__(self, n_in=16, hidden=32):
        super().__init__()
        self.hidden = hidden
        self.inp = nn.Linear(n_in, hidden)
        self.cell = nn.LSTMCell(hidden, hidden)
        self.out = nn.Linear(hidden, 4)
        nn.init.orthogonal_(self.cell.weight_hh)

    def forward(self, x):
        x = torch.tanh(self.inp(x))
        h = x.new_zeros(x.shape[0], self.hidden)
        c = x.new_zeros(x.shape[0], self.hidden)
        for x_t in x.unbind(1):
            h, c = self.cell(x_t, (h, c))
        return self.out(h)


class ForgetBiasLSTM(nn.Module):
    def __init__(self, n_in=32, hidden=64):
        super().__init__()
        self.lstm = nn.LSTM(n_in, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2)
        for name, p in self.lstm.named_parameters():
            if "weight_hh" in name:
                nn.init.orthogonal_(p)
            elif "bias" in name:
                nn.init.zeros_(p)
                p.data[hidden : 2 * hidden].fill_(1.0)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class NormalLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(128, 128, batch_first=True)
        self.out = nn.Linear(128, 10)
        for name, p in self.lstm.named_parameters():
            nn.init.normal_(p, 0.0, 1.0) if "weight" in name else None

    def forward(self, x):
        return self.out(self.lstm(x)[0])


class ProjectedLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(20, 64, proj_size=16, bias=False)
        self.gru = nn.GRUCell(16, 24)
        self.out = nn.Linear(24, 3)

    def forward(self, x):
        y = self.lstm(x)[0]
        h = self.gru(y[-1])
        return self.out(h)
"""

# The layers each model must list in both modes: the parity below is about these, not about empty lists.
LAYERS = {
    "CharLSTM": {"lstm", "decoder"},
    "BiGRUTagger": {"gru", "head"},
    "TanhRNN": {"rnn", "fc"},
    "UnrolledCell": {"inp", "cell", "out"},
    "ForgetBiasLSTM": {"lstm", "head"},
    "NormalLSTM": {"lstm", "out"},
    "ProjectedLSTM": {"lstm", "gru", "out"},
}
# Models whose recurrent weights are orthogonal and whose forget-gate bias (if any) is 1: nothing to say.
QUIET = ("BiGRUTagger", "TanhRNN", "ForgetBiasLSTM")


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("recurrent"), "recurrent.py", MODELS)


@pytest.fixture(scope="module")
def documents(path: Path) -> dict[str, dict]:
    """The JSON report of the file, per mode."""
    return reports_by_mode(path)


def verdicts(document: dict) -> set[tuple]:
    return {
        (f["model"], f["code"], f["severity"], tuple(f["layers"]), f["line"], f["parameter"], f["message"])
        for f in document["findings"]
        if not f["code"].startswith("IL9")
    }


def test_both_modes_list_the_recurrent_layers(documents):
    for mode, document in documents.items():
        assert {model: set(layers) for model, layers in parity_rows(document).items()} == LAYERS, mode
        assert {m["status"] for m in document["models"]} == ({"static"} if mode == "static" else {"traced"})


def test_layer_rows_agree(documents):
    """Same pairing (activation), same init, same actual and expected std, layer by layer."""
    assert parity_rows(documents["static"]) == parity_rows(documents["full"])


def test_verdicts_agree(documents):
    """Same codes, severities, layers, lines, parameters and messages, model by model."""
    static, full = verdicts(documents["static"]), verdicts(documents["full"])
    assert static == full
    assert {v[1] for v in static} == {"IL204", "IL311", "IL312"}  # the file holds mistakes both modes must find


def test_api_gives_the_same_verdicts_in_both_modes(path):
    found = {
        mode: {
            (f.model, f.code, f.severity, f.layers, f.line)
            for f in check_paths([str(path)], options).findings
            if not f.code.startswith("IL9")
        }
        for mode, options in (("full", Options()), ("static", Options(static=True)))
    }
    assert found["static"] == found["full"]
    line = line_of(path, 'nn.init.normal_(p, 0.0, 1.0) if "weight" in name')
    assert ("NormalLSTM", "IL204", "warning", ("lstm",), line) in found["static"]


def test_static_flags_normal_input_weights_of_an_lstm(documents, path):
    """N(0, 1) on a 128-wide weight_ih_l0, through a named_parameters() loop: gates of std 11.3."""
    (finding,) = [f for f in documents["static"]["findings"] if f["code"] == "IL204"]
    assert (finding["model"], finding["layers"], finding["parameter"]) == ("NormalLSTM", ["lstm"], "weight_ih_l0")
    assert finding["line"] == line_of(path, 'nn.init.normal_(p, 0.0, 1.0) if "weight" in name')
    assert finding["actual_std"] == 1.0
    assert finding["expected_std"] == pytest.approx(1 / math.sqrt(128), rel=1e-5)
    assert "pre-activations of std 11.3" in finding["message"]


@pytest.mark.parametrize("model", QUIET)
def test_orthogonal_recurrence_and_forget_bias_of_one_stay_quiet(documents, model):
    for mode, document in documents.items():
        assert [f["code"] for f in document["findings"] if f["model"] == model] == [], mode


def test_default_forget_bias_and_recurrence_are_noted_in_static(documents, path):
    """A default LSTM: its forget-gate bias starts at 0 and weight_hh is not orthogonal (hints at its constructor)."""
    noted = {(f["model"], f["code"], f["line"]) for f in documents["static"]["findings"] if f["model"] == "CharLSTM"}
    line = line_of(path, "self.lstm = nn.LSTM(vocab, hidden")
    assert noted == {("CharLSTM", "IL311", line), ("CharLSTM", "IL312", line)}


def test_static_pairs_what_each_call_form_returns(documents):
    """``out, (h, c) =``, ``out, _ =``, ``[0]`` and an unrolled cell's ``h, c =`` all come out of the one layer."""
    layers = parity_rows(documents["static"])
    activation, init = PARITY_FIELDS.index("activation"), PARITY_FIELDS.index("init")
    assert layers["BiGRUTagger"]["gru"][activation] == "torch.relu"
    assert layers["BiGRUTagger"]["gru"][init] == "xavier_uniform_()"  # the loop's branch for weight_ih names
    assert layers["UnrolledCell"]["cell"][activation] == "none"  # out, a linear layer, follows h
    assert layers["UnrolledCell"]["inp"][activation] == "torch.tanh"
    assert layers["CharLSTM"]["lstm"][init] == "PyTorch default uniform_(a=-0.0883883, b=0.0883883)"


# -- the parameters static mode registers, against torch's own --------------------------------------------

CONSTRUCTORS = [
    "nn.LSTM(20, 64, proj_size=16, bias=False)",
    "nn.LSTM(10, 20, num_layers=3, bidirectional=True, proj_size=5)",
    "nn.GRU(8, 12, 2, True, True, 0.0, True)",
    "nn.RNN(5, 7, 2, 'relu')",
    "nn.RNN(5, 7, nonlinearity='relu', bias=False, bidirectional=True)",
    "nn.LSTMCell(6, 9)",
    "nn.GRUCell(6, 9, bias=False)",
    "nn.RNNCell(6, 9, nonlinearity='relu')",
]


def _static_layer(constructor: str):
    source = f"""
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = {constructor}

    def forward(self, x):
        return self.layer(x)
"""
    (model,) = analyze_source("model.py", source).models
    (layer,) = [layer for layer in model.layers if layer.name == "layer"]
    return layer


@pytest.mark.parametrize("constructor", CONSTRUCTORS)
def test_static_registers_torchs_parameters_with_their_default_init(constructor):
    """Names, order and shapes as torch registers them; uniform_(+-1/sqrt(hidden)) on each, std 1/sqrt(3 hidden)."""
    module = eval(constructor, {"nn": nn})
    layer = _static_layer(constructor)
    expected = [(name, tuple(p.shape)) for name, p in module.named_parameters(recurse=False)]
    assert [(name, init.shape) for name, init in layer.params] == expected
    std = 1 / math.sqrt(3 * module.hidden_size)
    assert all(init.std == pytest.approx(std) and "uniform_" in init.display for _, init in layer.params)
    assert layer.kind == "recurrent"
    assert dict(layer.extra) == {
        "mode": getattr(module, "mode", type(module).__name__),
        "hidden_size": module.hidden_size,
    }
    weight = module.weight_ih_l0 if hasattr(module, "weight_ih_l0") else module.weight_ih
    gates = weight.shape[0] // module.hidden_size
    assert (layer.fan_in, layer.fan_out) == (weight.shape[1], weight.shape[0] // gates)


@pytest.mark.parametrize(
    "constructor",
    [
        "nn.LSTM(width, 64)",
        "nn.GRU(32, width, num_layers=2)",
        "nn.LSTM(32, 64, num_layers=width)",
        "nn.GRUCell(width, 8)",
    ],
)
def test_sizes_the_source_does_not_give_leave_the_layer_unjudged(tmp_path, constructor):
    """A size read from the environment: the layer is not listed, and N(0, 1) on it is not judged."""
    source = f"""
import os
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        width = int(os.environ.get("WIDTH", "32"))
        self.layer = {constructor}
        self.out = nn.Linear(64, 10)
        for p in self.layer.parameters():
            nn.init.normal_(p)

    def forward(self, x):
        return self.out(self.layer(x)[0])
"""
    _, document = run_json("--no-cache", "--static", str(write(tmp_path, "model.py", source)))
    (model,) = document["models"]
    assert model["status"] == "static"
    assert [row["layer"] for row in model["layers"]] == ["out"]
    assert [f["code"] for f in document["findings"] if not f["code"].startswith("IL9")] == []
