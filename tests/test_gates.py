"""Gates: judged by how many of their sigmoid/tanh units start saturated, not by a gain."""

from __future__ import annotations

import pytest
from conftest import findings_for, line_of, run_json, write

RECURRENT = """
import torch.nn as nn


class DefaultLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(128, 128, num_layers=2)

    def forward(self, x):
        return self.lstm(x)[0]


class WideInputGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(512, 64)
        for name, p in self.gru.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.uniform_(p, -0.5, 0.5)  # std 0.289 on 512 inputs: pre-activations of std 6.5

    def forward(self, x):
        return self.gru(x)[0]


class XavierGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(512, 64)
        for name, p in self.gru.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(p)

    def forward(self, x):
        return self.gru(x)[0]
"""


def test_recurrent_gates_are_judged_by_their_input_weights_at_the_first_step(tmp_path):
    path = write(tmp_path, "rnn.py", RECURRENT)
    _, document = run_json("--no-cache", "rnn.py", cwd=tmp_path)
    assert findings_for(document, "IL204", "DefaultLSTM") == []  # U(+-1/sqrt(128)): pre-activations of std 0.58
    assert findings_for(document, "IL204", "XavierGRU") == []
    [finding] = findings_for(document, "IL204", "WideInputGRU")
    assert finding["parameter"] == "weight_ih_l0" and finding["line"] == line_of(path, "nn.init.uniform_(p")
    assert finding["actual_std"] == pytest.approx(1 / 12**0.5, rel=1e-4)  # U(-0.5, 0.5)
    assert "std 6.53" in finding["message"] and "58% of the units" in finding["message"]


GLU = """
import torch
import torch.nn as nn


class GatedMLP(nn.Module):
    \"\"\"SwiGLU-style: the SiLU branch gates the linear one; neither is a saturating gate.\"\"\"

    def __init__(self, dim=64, hidden=256):
        super().__init__()
        self.gate = nn.Linear(dim, hidden)
        self.up = nn.Linear(dim, hidden)
        self.down = nn.Linear(hidden, dim)
        for m in (self.gate, self.up, self.down):
            nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        return self.down(torch.nn.functional.silu(self.gate(x)) * self.up(x))


class SigmoidGLU(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.value = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)
        nn.init.normal_(self.value.weight, 0, 0.01)  # a value path into a product: judged by its scale
        nn.init.normal_(self.gate.weight, 0, 1)  # 64 inputs: pre-activations of std 8

    def forward(self, x):
        return torch.relu(self.value(x)) * torch.sigmoid(self.gate(x))
"""


def test_a_sigmoid_gate_is_judged_by_saturation_and_the_value_it_gates_by_its_scale(tmp_path):
    path = write(tmp_path, "glu.py", GLU)
    _, document = run_json("--no-cache", "glu.py", cwd=tmp_path)
    assert findings_for(document, "IL204", "GatedMLP") == []
    [gate] = findings_for(document, "IL204", "SigmoidGLU")
    assert gate["layers"] == ["gate"] and gate["line"] == line_of(path, "normal_(self.gate.weight")
    [value] = findings_for(document, "IL201", "SigmoidGLU")
    assert value["layers"] == ["value"] and value["activation"] == "torch.relu"


HAND_RNN = """
import torch
import torch.nn as nn


class TanhRNN(nn.Module):
    \"\"\"A hand-written Elman RNN: the hidden-to-hidden weight is applied step after step.\"\"\"

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(32, 64)
        self.hh = nn.Linear(64, 64, bias=False)
        self.out = nn.Linear(64, 10)
        nn.init.xavier_uniform_(self.inp.weight, gain=nn.init.calculate_gain("tanh"))
        nn.init.orthogonal_(self.hh.weight)  # recurrent

    def forward(self, x):
        h = torch.zeros(x.shape[0], 64)
        for t in range(x.shape[1]):
            h = torch.tanh(self.inp(x[:, t]) + self.hh(h))
        return self.out(h)


class TanhMLP(nn.Module):
    \"\"\"The same init on a weight applied once is a gain mismatch.\"\"\"

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(64, 64)
        self.out = nn.Linear(64, 10)
        nn.init.orthogonal_(self.hidden.weight)  # once

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))
"""


def test_orthogonal_recurrent_weights_are_the_standard_not_a_gain_mismatch(tmp_path):
    path = write(tmp_path, "rnn.py", HAND_RNN)
    _, document = run_json("--no-cache", "rnn.py", cwd=tmp_path)
    assert findings_for(document, "IL101", "TanhRNN") == []
    [finding] = findings_for(document, "IL101", "TanhMLP")
    assert finding["layers"] == ["hidden"] and finding["line"] == line_of(path, "# once")
