"""The pipeline's steps through their public interfaces: plan -> analyse -> judge -> report model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import XAVIER_RELU, write

from initlint.analyse import analyse_sources
from initlint.config import Entry
from initlint.judge import PathDisplay, judge
from initlint.options import Options
from initlint.plan import plan_builds, screen_paths
from initlint.report.model import ModelEntry, Report
from initlint.rules.analysis import PROBLEM_RULES
from initlint.shared.facts import STATIC, AnalysisProblem, FileFacts, ModelFacts, ModelSpec, ProblemKind

REPO = Path(__file__).resolve().parent.parent

# -- problems are typed ------------------------------------------------------------------------------


def test_a_problem_kind_is_a_member_and_an_unknown_one_is_refused_where_it_is_made():
    assert AnalysisProblem("timeout", "slow").kind is ProblemKind.TIMEOUT
    assert AnalysisProblem(ProblemKind.CRASH, "died").kind is ProblemKind.CRASH
    with pytest.raises(ValueError):
        AnalysisProblem("tiemout", "a typo is not an internal error")


def test_every_problem_kind_is_reported_by_its_own_analysis_rule():
    assert set(PROBLEM_RULES) == set(ProblemKind)
    assert PROBLEM_RULES[ProblemKind.TIMEOUT].code == "IL904"
    assert PROBLEM_RULES[ProblemKind.INTERNAL_ERROR].code == "IL907"
    assert all(rule.code.startswith("IL9") and rule.check is None for rule in PROBLEM_RULES.values())
    for kind in ProblemKind:  # only an internal error is reported as one
        assert (PROBLEM_RULES[kind].code == "IL907") == (kind is ProblemKind.INTERNAL_ERROR)


# -- plan ------------------------------------------------------------------------------------------

FACTORY = """
import torch.nn as nn
from .blocks import Block


def small():
    return Block(8)


def helper(x):
    return x
"""
BLOCKS = """
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)
"""


def test_plan_lists_classes_factories_and_entries_and_settles_the_rest(tmp_path):
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/net.py", XAVIER_RELU)
    write(tmp_path, "pkg/factories.py", FACTORY)
    write(tmp_path, "pkg/blocks.py", BLOCKS)
    write(tmp_path, "pkg/util.py", "def add(a, b):\n    return a + b\n")
    write(tmp_path, "pkg/broken.py", "def f(:\n")
    entries = (Entry("pkg.blocks", "Block", (("width", 4),)), Entry("pkg.absent", "Net"))
    options = Options(entries=entries, root=str(tmp_path))
    screened = screen_paths([str(tmp_path / "pkg")], options, None)
    path = {
        name: str(tmp_path / "pkg" / name) for name in ("net.py", "factories.py", "blocks.py", "util.py", "broken.py")
    }
    assert {s.path for s in screened.sources} == {*path.values(), str(tmp_path / "pkg" / "__init__.py")}
    assert screened.settled[path["broken.py"]].problem.kind is ProblemKind.SYNTAX_ERROR
    assert path["broken.py"] not in screened.readable and path["util.py"] in screened.readable

    plan = plan_builds(screened, options, None)
    builds = {build.path: build for build in plan.builds}
    assert builds[path["net.py"]].classes == (("Net", 5),) and builds[path["net.py"]].specs == ()
    assert builds[path["factories.py"]].specs == (ModelSpec("small", "small", (), 5),)  # helper() builds no model
    assert builds[path["blocks.py"]].specs == (
        ModelSpec("Block(width=4)", "Block", (("width", 4),), built_by="config"),
    )
    assert any(d.startswith(path["blocks.py"] + ":") for d in builds[path["factories.py"]].dependencies)
    assert plan.settled[path["util.py"]] == FileFacts(path["util.py"], digest=screened.readable[path["util.py"]].digest)
    [missing] = [f for key, f in plan.settled.items() if key.startswith("<entry")]
    assert missing.problem.kind is ProblemKind.IMPORT_ERROR and "pkg.absent" in missing.problem.message


def test_static_analysis_keeps_the_order_files_were_found(tmp_path):
    for name in ("b.py", "a.py", "c.py"):
        write(tmp_path, name, XAVIER_RELU)
    screened = screen_paths([str(tmp_path / "c.py"), str(tmp_path)], Options(), None)
    facts = analyse_sources(screened, Options())
    assert [os.path.basename(f.path) for f in facts] == [os.path.basename(s.path) for s in screened.sources]
    assert all(m.status == STATIC for f in facts for m in f.models)


# -- judge -----------------------------------------------------------------------------------------


def test_paths_are_shown_as_named_else_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from initlint.discover import SourceFile

    paths = PathDisplay.of([SourceFile(str(tmp_path / "a.py"), "./a.py")])
    assert paths.show(str(tmp_path / "a.py")) == "./a.py"
    assert paths.show(str(tmp_path / "sub" / "b.py")) == os.path.join("sub", "b.py")
    assert paths.show("/elsewhere/c.py") == "/elsewhere/c.py"


def test_a_static_fallback_is_a_typed_fact_whatever_its_reason_says(tmp_path):
    """The reason used to travel as a prefix of ``detail`` and be cut at the first "; "."""
    path = str(tmp_path / "m.py")
    reason = "importing the file failed (ImportError: cannot import name 'x'; did you mean 'y'?)"
    models = (
        ModelFacts(path, "Net", 5, STATIC, ""),
        ModelFacts(path, "Odd", 12, STATIC, "the forward branches on a tensor"),
    )
    report = judge([FileFacts(path, models, static_fallback=reason)], Options(), PathDisplay.of([]))
    [finding] = report.findings
    assert (finding.code, finding.severity, finding.line) == ("IL909", "warning", 5)
    assert finding.message == f"{reason}; its models were analysed from source"
    assert [(m.model, m.status, m.detail) for m in report.models] == [
        ("Net", STATIC, f"analysed from source: {reason}"),
        ("Odd", STATIC, f"analysed from source: {reason}; the forward branches on a tensor"),
    ]


FALLBACK = """
import torch
import torch.nn as nn
import some_missing_dependency_xyz


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return self.fc(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


def test_a_missing_dependency_falls_back_to_source_with_the_same_messages_as_before(tmp_path, monkeypatch):
    """Pinned from the output before the fallback marker became a typed field."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "m.py", FALLBACK)
    from initlint import check_paths

    report = check_paths(["m.py"], Options(jobs=1))
    reason = "ModuleNotFoundError: No module named 'some_missing_dependency_xyz' (at m.py:3)"
    fallback = f"analysed from source: importing the file failed ({reason})"
    assert [(f.code, f.line, f.message) for f in report.findings if f.code != "IL101"] == [
        (
            "IL908",
            6,
            f"Block was not checked: {fallback}; constructor needs arguments: width; "
            'to check it, add { entry = "m:Block", kwargs = { width = ... } } to [tool.initlint] models',
        ),
        ("IL909", 6, f"importing the file failed ({reason}); its models were analysed from source"),
    ]
    assert [(m.model, m.status, m.detail) for m in report.models] == [
        ("Block", "skipped", f"{fallback}; constructor needs arguments: width"),
        ("Net", "static", fallback),
    ]


def test_the_report_model_is_what_renderers_take():
    from initlint.report import renderer

    report = Report((), (ModelEntry("m.py", "Net", "traced"),), files=1)
    assert '"model": "Net"' in renderer("json")(report)


# -- a rule is one file ----------------------------------------------------------------------------

NEW_RULE = '''
"""IL399 tiny-model: a model with a single weight layer (an example rule)."""

from collections.abc import Iterator

from .base import INFO, Example, Expect, ModelView, Rule, Threshold, Verdict

MAX_LAYERS = Threshold("tiny-layers", 1.5, "A model with fewer weight layers than this is tiny.")


def check(view: ModelView) -> Iterator[Verdict]:
    if 0 < len(view.model.layers) < view.settings[MAX_LAYERS]:
        layer = view.model.layers[0]
        yield Verdict("a model this small needs no linter", INFO, layer.site, layer)


RULE = Rule(
    code="IL399",
    name="tiny-model",
    severity=INFO,
    summary="The model has a single weight layer.",
    what="Notes models with a single weight layer.",
    why="An example rule.",
    invalid=(Example("""
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)
""", expect=(Expect("IL399", 8, ("fc",)),)),),
    valid=(Example("""
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4))

    def forward(self, x):
        return self.body(x)
"""),),
    thresholds=(MAX_LAYERS,),
    check=check,
)
'''


def test_a_new_rule_is_one_new_file(tmp_path):
    """Copy the package, add one rule module: it is catalogued, documented, configurable and selectable."""
    shutil.copytree(REPO / "initlint", tmp_path / "initlint", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "initlint" / "rules" / "tiny_model.py").write_text(textwrap.dedent(NEW_RULE).lstrip())
    probe = """
from initlint import rules
from initlint.config import parse_table
rule = rules.find("tiny-model")
settings = parse_table({"thresholds": {"tiny-layers": 3}, "select": ["IL399"]}, "pyproject.toml").settings
print(rule.code, rules.MODEL_RULES[-1].code, sorted(rules.THRESHOLDS)[-1], settings[rule.thresholds[0]])
print("## Options" in rule.doc() and "`tiny-layers` (default 1.5)" in rule.doc())
"""
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.stderr == ""
    assert result.stdout.split("\n")[:2] == ["IL399 IL399 tiny-layers 3.0", "True"]
