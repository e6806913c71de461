"""Whose init is it: a library's own init is info; an init the user's code chose is judged as theirs."""

from __future__ import annotations

from conftest import findings_for, line_of, run_json, write

T5 = """
from transformers import T5Config, T5ForConditionalGeneration


def t5_untied():
    config = T5Config(d_model=32, d_ff=64, num_layers=2, num_heads=2, d_kv=16, vocab_size=100,
                      tie_word_embeddings=False)
    return T5ForConditionalGeneration(config)
"""


def test_an_init_set_by_the_library_is_info_and_names_the_library(tmp_path):
    write(tmp_path, "t5.py", T5)
    code, document = run_json("--no-cache", "t5.py", cwd=tmp_path)
    # transformers initialises T5's untied lm_head with N(0, 1): 5.66x too large for its fan_in of 32.
    [finding] = [f for f in findings_for(document, "IL201") if "lm_head" in f["layers"]]
    assert finding["severity"] == "info" and "set by transformers' init" in finding["message"]
    assert finding["actual_std"] == 1.0
    assert code == 0


CHOSEN = """
import torch
import torch.nn as nn
from transformers import initialization


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        initialization.normal_(self.fc1.weight, 0.0, 0.01)  # the library's helper, the user's choice

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


def test_a_library_helper_the_user_calls_with_a_tensor_is_the_users_init(tmp_path):
    path = write(tmp_path, "net.py", CHOSEN)
    code, document = run_json("--no-cache", "net.py", cwd=tmp_path)
    [finding] = findings_for(document, "IL201")
    assert finding["layers"] == ["fc1"] and finding["severity"] == "warning"
    assert finding["line"] == line_of(path, "initialization.normal_")
    assert "set by" not in finding["message"]
    assert code == 1
