"""A class that needs constructor arguments, checked without the file that builds it, is built with the
arguments the rest of the project gives it: a script, a test, an example, or a code block of the docs
(``initlint.callsites``), in both modes."""

from __future__ import annotations

import pytest
from conftest import findings_for, run_json, write

NET = """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width, depth=3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x).relu()
        return self.head(x)
"""

README = """
# Net

Build it:

```python
from models.net import Net

model = Net(width=32, depth=4)
```
"""

TRAIN_REINITIALISING = """
import torch.nn as nn
from models.net import Net


def init(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_normal_(m.weight)


model = Net(64)
model.apply(init)
"""

EXAMPLE = """
import argparse

from models import net


def main(width):
    model = net.Net(48)  # positional: width
    return model


if __name__ == "__main__":
    main(argparse.ArgumentParser().parse_args().width)
"""

MODES = {"full": (), "static": ("--static",)}


def project(tmp_path, **files: str):
    write(tmp_path, "pyproject.toml", "[project]\nname = 'p'\n")
    write(tmp_path, "models/__init__.py", "")
    write(tmp_path, "models/net.py", NET)
    for name, text in files.items():
        write(tmp_path, name.replace("__", "/").replace("_md", ".md").replace("_py", ".py"), text)


def net_of(tmp_path, mode: str, *paths: str) -> tuple[dict, dict]:
    _, document = run_json("--no-cache", *MODES[mode], *(paths or ("models",)), cwd=tmp_path)
    [net] = [m for m in document["models"] if m["model"] == "Net" and m["path"] == "models/net.py"]
    return net, document


@pytest.mark.parametrize("mode", MODES)
def test_a_docs_code_block_gives_the_arguments(tmp_path, mode):
    project(tmp_path, README_md=README)
    net, document = net_of(tmp_path, mode)
    assert net["built_by"] == "call-site README.md:8"  # the line of `model = Net(width=32, depth=4)`
    assert [row["layer"] for row in net["layers"]] == ["layers.0", "layers.1", "layers.2", "layers.3", "head"]
    assert {row["init"] for row in net["layers"]} == {"PyTorch default kaiming_uniform_(a=2.23607)"}
    assert not findings_for(document, "IL908")
    assert {f["layers"][0] for f in findings_for(document, "IL102")} == {"layers.0", "head"}


@pytest.mark.parametrize("mode", MODES)
def test_a_python_call_site_comes_before_the_docs_and_positional_arguments_are_named(tmp_path, mode):
    project(tmp_path, README_md=README, examples__run_py=EXAMPLE)
    net, _ = net_of(tmp_path, mode)
    assert net["built_by"] == "call-site examples/run.py:7"
    assert len(net["layers"]) == 4  # depth 3 by default, and the head
    assert net["layers"][0]["actual_std"] == pytest.approx(1 / (3 * 48) ** 0.5, rel=1e-4)  # width 48


@pytest.mark.parametrize("mode", MODES)
def test_a_build_the_script_initialises_again_is_passed_over(tmp_path, mode):
    """train.py re-initialises its model: the constructor's init is not what it trains, so its call site
    does not stand for the class; the docs' does."""
    project(tmp_path, README_md=README, train_py=TRAIN_REINITIALISING)
    net, _ = net_of(tmp_path, mode)
    assert net["built_by"] == "call-site README.md:8"


@pytest.mark.parametrize("mode", MODES)
def test_without_a_literal_call_site_the_class_stays_skipped(tmp_path, mode):
    project(tmp_path, train_py=TRAIN_REINITIALISING.replace("Net(64)", "Net(WIDTH)"))
    net, document = net_of(tmp_path, mode)
    assert net["status"] == "skipped" and net["built_by"] is None
    [skipped] = findings_for(document, "IL908")
    assert "width" in skipped["message"]


def test_a_checked_script_that_builds_the_class_is_not_doubled(tmp_path):
    """Checking the whole project, train.py's own build (with its init) is the model; the class is its
    building block, not built again from a call site."""
    project(tmp_path, README_md=README, train_py=TRAIN_REINITIALISING)
    _, document = run_json("--no-cache", ".", cwd=tmp_path)
    assert sorted((m["path"], m["model"], m["status"]) for m in document["models"]) == [
        ("models/net.py", "Net", "skipped"),
        ("train.py", "Net", "traced"),
    ]
    assert [f["path"] for f in findings_for(document, "IL101")] == ["train.py"]  # xavier before ReLU


def test_markdown_python_blocks_by_hand():
    from initlint.callsites import markdown_code_blocks

    text = "\n".join(
        [
            "# Title",  # 1
            "```bash",  # 2
            "pip install x",  # 3
            "```",  # 4
            "  ```python",  # 5: indented fence
            "  model = Net(1)",  # 6
            "  ```",  # 7
            "~~~py",  # 8
            "net = Net(2)",  # 9
            "~~~",  # 10
            "```",  # 11: no language: not read as Python
            "Net(3)",  # 12
            "```",  # 13
        ]
    )
    assert list(markdown_code_blocks(text)) == [("model = Net(1)\n", 6), ("net = Net(2)\n", 9)]


@pytest.mark.parametrize("mode", MODES)
def test_a_model_file_that_trains_when_run_is_not_run_to_build_the_class_again(tmp_path, mode):
    project(tmp_path, README_md=README)
    trains = "\nimport pathlib\n\nfor epoch in range(2):\n    pathlib.Path('TRAINED').write_text(str(epoch))\n"
    (tmp_path / "models" / "net.py").write_text(NET.lstrip() + trains)
    net, _ = net_of(tmp_path, mode)
    assert net["built_by"] == "call-site README.md:8" and len(net["layers"]) == 5
    assert not (tmp_path / "TRAINED").exists()


def test_a_warm_run_takes_the_call_site_build_from_the_cache(tmp_path, monkeypatch):
    """Nothing changed: the build with the call site's arguments comes from the cache (no worker, no torch);
    the call site's arguments changed: it is built again."""
    import initlint.analyse

    project(tmp_path, README_md=README)

    def net() -> dict:
        _, document = run_json("--cache-dir", str(tmp_path / "cache"), "models", cwd=tmp_path)
        [model] = document["models"]
        return {key: value for key, value in model.items() if key != "layers"} | {"rows": len(model["layers"])}

    first = net()
    runs = []
    real = initlint.analyse._run_workers
    monkeypatch.setattr(initlint.analyse, "_run_workers", lambda *a: runs.append(a) or real(*a))
    assert net() == first and first["rows"] == 5 and first["built_by"] == "call-site README.md:8"
    assert runs == []
    (tmp_path / "README.md").write_text(README.replace("depth=4", "depth=2"))
    assert net()["rows"] == 3 and len(runs) == 1
