"""transformers architectures built from configs: quiet as shipped, at small and real sizes; flagged
with one injected bug."""

from __future__ import annotations

import shutil

import pytest
from conftest import REPO, findings_for, line_of, run_json

FIXTURES = REPO / "tests" / "real_repos"


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf")
    for name in ("hf_small.py", "hf_real.py", "hf_bugs.py"):
        shutil.copy(FIXTURES / name, folder / name)
    _, document = run_json("--no-cache", "-j", "2", ".", cwd=folder)
    return folder, document


def _loud(document: dict, path: str) -> list[str]:
    return [
        f"{f['code']} {f['severity']} {f['message'][:120]}"
        for f in document["findings"]
        if f["path"] == path and f["severity"] != "info"
    ]


def test_eighteen_architectures_at_small_sizes_give_no_warning(checked):
    _, document = checked
    models = [m for m in document["models"] if m["path"] == "hf_small.py"]
    assert len(models) == 18 and all(m["status"] in ("traced", "partial") for m in models)
    assert _loud(document, "hf_small.py") == []


def test_twelve_architectures_at_real_sizes_give_no_warning(checked):
    _, document = checked
    models = [m for m in document["models"] if m["path"] == "hf_real.py"]
    assert len(models) == 12 and all(m["status"] in ("traced", "partial") for m in models)
    assert _loud(document, "hf_real.py") == []


def test_an_injected_bug_is_flagged(checked):
    folder, document = checked
    path = folder / "hf_bugs.py"
    lines = path.read_text().splitlines()
    for model in ("bert_normal_everywhere", "gpt2_normal_everywhere"):
        # N(0, 1) on 64-wide layers: 8x the variance-preserving std. The GELU inputs are info (no stable
        # gain); the attention and output projections are warnings, although a LayerNorm follows.
        [finding] = [f for f in findings_for(document, "IL201", model) if f["severity"] == "warning"]
        assert finding["actual_std"] == 1.0 and "normal_(m.weight, 0, 1)" in lines[finding["line"] - 1]
    [head] = [f for f in findings_for(document, "IL102", "resnet_default_head") if "classifier.1" in f["layers"]]
    assert head["severity"] == "error" and len(head["layers"]) == 6
    [xavier] = findings_for(document, "IL101", "vit_relu_xavier")
    assert xavier["line"] == line_of(path, "xavier_uniform_(layer.mlp.fc1.weight)")
    assert xavier["layers"] == ["layers.0.mlp.fc1", "layers.1.mlp.fc1"]
