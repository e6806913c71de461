"""One forward at init: each layer's measured RMS beside the one its init predicts, and what it changes."""

from __future__ import annotations

import pytest
from conftest import findings_for, run_json, write

MODELS = """
import torch
import torch.nn as nn


class HeMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 256)
        self.fc2 = nn.Linear(256, 10)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        nn.init.zeros_(self.fc1.bias)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class BiasCarried(nn.Module):
    \"\"\"N(0, 0.01) weights would starve a 6-layer ReLU stack, but biases of 1 carry the signal.\"\"\"

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(64, 64) for _ in range(6)])
        for layer in self.layers:
            nn.init.normal_(layer.weight, 0.0, 0.01)
            nn.init.constant_(layer.bias, 1.0)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


class Starved(nn.Module):
    \"\"\"The same weights with zero biases: the collapse is real.\"\"\"

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(64, 64) for _ in range(6)])
        for layer in self.layers:
            nn.init.normal_(layer.weight, 0.0, 0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x
"""


def rows(document: dict, model: str) -> dict[str, dict]:
    [entry] = [m for m in document["models"] if m["model"] == model]
    return {row["layer"]: row for row in entry["layers"]}


def test_measured_rms_matches_the_prediction_and_is_reproducible(tmp_path):
    write(tmp_path, "models.py", MODELS)
    _, first = run_json("--no-cache", "models.py", cwd=tmp_path)
    fc1 = rows(first, "HeMLP")["fc1"]
    # A unit-RMS input through He's std sqrt(2/256) on 256 inputs: output RMS sqrt(2) = 1.41.
    assert fc1["predicted_rms"] == pytest.approx(2**0.5, rel=0.1)
    assert fc1["measured_rms"] == pytest.approx(fc1["predicted_rms"], rel=0.1)
    _, second = run_json("--no-cache", "models.py", cwd=tmp_path)
    assert rows(second, "HeMLP") == rows(first, "HeMLP")  # seeded: the same weights, the same measurement


def test_a_predicted_collapse_the_forward_does_not_show_is_not_an_error(tmp_path):
    write(tmp_path, "models.py", MODELS)
    _, document = run_json("--no-cache", "models.py", cwd=tmp_path)
    [carried] = findings_for(document, "IL201", "BiasCarried")
    assert carried["severity"] == "warning"
    assert "(predicted; one forward at init measured" in carried["message"]
    [starved] = findings_for(document, "IL201", "Starved")
    assert starved["severity"] == "error" and "measured" not in starved["message"]


def test_models_built_on_meta_are_not_measured(tmp_path):
    write(tmp_path, "models.py", MODELS)
    _, document = run_json("--no-cache", "--device", "meta", "models.py", cwd=tmp_path)
    assert all(r["measured_rms"] is None and r["predicted_rms"] is None for r in rows(document, "HeMLP").values())
