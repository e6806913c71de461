"""A finding's group lists only the layers judged wrong, and says how many the call initialises."""

from __future__ import annotations

from conftest import findings_for, line_of, run_json, write

SQUEEZE = """
import torch
import torch.nn as nn


class Squeeze(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(1024, 64)  # Xavier: sqrt(2 / 1088) = 0.0429, He sqrt(2 / 1024) = 0.0442
        self.fc2 = nn.Linear(64, 64)  # Xavier: 0.125 vs He 0.177
        self.fc3 = nn.Linear(64, 64)
        self.head = nn.Linear(64, 10)  # logits after a ReLU: gain 1 is right for no activation
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.head(torch.relu(self.fc3(x)))
"""


def test_a_group_lists_only_the_layers_the_call_got_wrong(tmp_path):
    path = write(tmp_path, "squeeze.py", SQUEEZE)
    _, document = run_json("--no-cache", "squeeze.py", cwd=tmp_path)
    [finding] = findings_for(document, "IL101")
    assert finding["line"] == line_of(path, "xavier_uniform_(m.weight)")
    assert finding["layers"] == ["fc2", "fc3"]
    assert finding["message"].endswith("; 2 of the 4 layers this call initialises")


PROJECTION = """
import torch
import torch.nn as nn


class Projection(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(64, 64)
        self.out = nn.Linear(64, 8)
        nn.init.xavier_normal_(self.hidden.weight, gain=nn.init.calculate_gain("tanh"))
        nn.init.kaiming_normal_(self.out.weight, nonlinearity="relu")  # 1.41x gain 1: only the logits' scale

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


class Hidden(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(64, 64)
        self.more = nn.Linear(64, 64)
        self.out = nn.Linear(64, 8)
        nn.init.xavier_normal_(self.hidden.weight, gain=nn.init.calculate_gain("tanh"))
        nn.init.kaiming_normal_(self.more.weight, nonlinearity="relu")  # the same mismatch, inside the stack

    def forward(self, x):
        return self.out(torch.tanh(self.more(torch.tanh(self.hidden(x)))))
"""


def test_a_final_projection_off_by_a_relu_gain_is_immaterial_a_hidden_layer_is_not(tmp_path):
    path = write(tmp_path, "projection.py", PROJECTION)
    _, document = run_json("--no-cache", "projection.py", cwd=tmp_path)
    assert findings_for(document, "IL101", "Projection") == []
    [finding] = findings_for(document, "IL101", "Hidden")
    assert finding["layers"] == ["more"] and finding["line"] == line_of(path, "self.more.weight, nonlinearity")
