"""Findings do not depend on how the work is done: -j, cache, device, output file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli, run_json

MODELS = Path(__file__).parent / "models"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    directory = tmp_path_factory.mktemp("consistency")
    for name in ("resnet.py", "mlps.py", "selu_net.py", "dcgan.py", "lstm_lm.py", "mobilenet.py"):
        shutil.copy(MODELS / name, directory / name)
    shutil.copy(Path(__file__).parent.parent / "examples" / "bad_models.py", directory / "bad_models.py")
    return directory


def findings(document: dict) -> list[tuple]:
    return [
        (f["code"], f["path"], f["line"], f["model"], f["layer"], f["severity"], f["actual_std"])
        for f in document["findings"]
    ]


def test_same_findings_at_any_jobs(corpus):
    _, one = run_json(".", "--no-cache", "-j", "1", cwd=corpus)
    _, two = run_json(".", "--no-cache", "-j", "2", cwd=corpus)
    assert findings(one) and findings(one) == findings(two)
    assert one["models"] == two["models"]


def test_same_findings_on_meta_and_cpu(corpus):
    _, cpu = run_json(".", "--no-cache", "--device", "cpu", cwd=corpus)
    _, meta = run_json(".", "--no-cache", "--device", "meta", cwd=corpus)
    assert findings(cpu) == findings(meta)

    def layers(doc):
        return [
            (m["model"], [(r["layer"], r["activation"], r["init"], r["actual_std"]) for r in m["layers"]])
            for m in doc["models"]
        ]

    assert layers(cpu) == layers(meta)


def test_output_file_and_statistics(corpus, tmp_path):
    out = tmp_path / "report.json"
    code, printed = run_cli("check", ".", "--format", "json", "-o", str(out), cwd=corpus)
    assert code == 1 and printed == ""
    document = json.loads(out.read_text())
    assert document["summary"]["findings"] == len(document["findings"]) > 0
    code, table = run_cli("check", ".", "--statistics", cwd=corpus)
    counts = {line.split()[1]: int(line.split()[0]) for line in table.splitlines() if line.strip()}
    expected: dict[str, int] = {}
    for f in document["findings"]:
        expected[f["code"]] = expected.get(f["code"], 0) + 1
    assert counts == expected
