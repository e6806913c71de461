"""CI-facing renderers: SARIF, GitHub annotations, JUnit XML and --statistics."""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest
from conftest import XAVIER_RELU, run_cli, write

from initlint import __version__, check_paths
from initlint.findings import Edit, Finding, Fix
from initlint.report import FORMATS, github, junit, renderer, sarif, statistics
from initlint.report.model import ModelEntry, Report
from initlint.rules import BY_CODE, RULES

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

GAIN = Finding(
    "IL101", "gain-mismatch", "warning", "models/net.py", 10, 9, 10, 48,
    "fc1 (Linear): xavier_normal_() assumes gain 1, but F.relu needs 1.41: 50% off, a:b, c",
    model="Net", layer="fc1", parameter="weight", layer_type="Linear", activation="F.relu",
    init="xavier_normal_()", expected_std=0.204124, actual_std=0.144338, layers=("fc1",),
)  # fmt: skip
FIX = Fix(
    "unsafe", "Use kaiming_normal_", (Edit("models/net.py", 12, 9, 12, 40, "nn.init.kaiming_normal_(self.fc2.weight)"),)
)
DEFAULT = Finding(
    "IL102", "default-init", "error", "models/net.py", 12, 9, 12, 40, "fc2 (Linear): keeps PyTorch's default init",
    model="Net", layer="fc2", parameter="weight", layer_type="Linear", activation="nn.ReLU",
    init="kaiming_uniform_(a=2.23607)", expected_std=0.0884, actual_std=0.0361, fix=FIX, layers=("fc2",),
)  # fmt: skip
PARTIAL = Finding(
    "IL906", "partial-trace", "info", "models/net.py", 20, 5, 22, 17, "Other: traced in parts", model="Other"
)
BROKEN = Finding(
    "IL902", "import-error", "error", "pkg/broken.py", 3, 1, 3, 1,
    'importing raised ValueError: 100% <bad> & "worse"\nsecond line\r\x1b[31m',
)  # fmt: skip
MODELS = (
    ModelEntry("models/net.py", "Net", "traced"),
    ModelEntry("models/net.py", "Other", "partial", "traced in parts"),
    ModelEntry("models/net.py", "Clean", "traced"),
    ModelEntry("models/net.py", "Block", "skipped", "building block of another checked model: judged inside it"),
    ModelEntry("pkg/broken.py", "", "error", "importing raised ValueError"),
)
REPORT = Report((GAIN, DEFAULT, PARTIAL, BROKEN), MODELS, files=2)


@pytest.fixture(scope="module")
def bad_models_report() -> Report:
    old = os.getcwd()
    os.chdir(REPO)  # paths are shown relative to the working directory, as a CI job runs it
    try:
        return check_paths(["examples/bad_models.py"])
    finally:
        os.chdir(old)


def test_formats_are_registered():
    assert {"sarif", "github", "junit"} <= set(FORMATS) and "statistics" not in FORMATS
    assert renderer("sarif") is sarif.render and renderer("github") is github.render
    assert renderer("junit") is junit.render and renderer("statistics") is statistics.render


# -- SARIF ----------------------------------------------------------------------------


def _sarif(report: Report = REPORT) -> dict:
    return json.loads(sarif.render(report))


def test_vendored_schema_is_the_official_sarif_2_1_0_schema():
    assert SCHEMA["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    assert {"result", "reportingDescriptor", "fix", "replacement", "region"} <= set(SCHEMA["definitions"])


def test_sarif_validates_against_the_schema():
    jsonschema.Draft4Validator(SCHEMA).validate(_sarif())


def test_schema_validation_catches_a_broken_log():
    """The validation above means something: the schema rejects what code scanning would."""
    log = _sarif()
    log["runs"][0]["results"][0]["level"] = "info"  # not a SARIF level
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SCHEMA).validate(log)


def test_sarif_top_level_and_driver():
    log = _sarif()
    assert log["$schema"] == sarif.SCHEMA and log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "initlint" and driver["version"] == __version__
    assert urlparse(driver["informationUri"]).scheme == "https"
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_lists_every_rule_of_the_catalogue():
    rules = _sarif()["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in RULES]
    levels = {"error": "error", "warning": "warning", "info": "note"}
    for descriptor, rule in zip(rules, RULES):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"]
        assert descriptor["help"]["text"] == rule.doc() == descriptor["help"]["markdown"]
        assert descriptor["defaultConfiguration"]["level"] == levels[rule.severity]
    assert rules[[r["id"] for r in rules].index("IL906")]["defaultConfiguration"]["level"] == "note"


def test_sarif_results_carry_rule_level_location_and_properties():
    run = _sarif()["runs"][0]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["IL101", "IL102", "IL906", "IL902"]
    assert [r["level"] for r in results] == ["warning", "error", "note", "error"]
    for r in results:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    gain = results[0]
    assert gain["message"]["text"] == GAIN.message
    location = gain["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "models/net.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 10, "startColumn": 9, "endLine": 10, "endColumn": 48}
    assert gain["properties"] == {
        "model": "Net", "layer": "fc1", "layers": ["fc1"], "parameter": "weight", "layer_type": "Linear",
        "activation": "F.relu", "init": "xavier_normal_()", "expected_std": 0.204124, "actual_std": 0.144338,
    }  # fmt: skip
    assert results[2]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 20, "startColumn": 5, "endLine": 22, "endColumn": 17}  # fmt: skip
    # A file that could not be analysed is a result too, at its own path.
    assert results[3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/broken.py"


def test_sarif_fix_becomes_artifact_changes():
    results = _sarif()["runs"][0]["results"]
    assert "fixes" not in results[0]
    (fix,) = results[1]["fixes"]
    assert fix["description"]["text"] == "Use kaiming_normal_"
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "models/net.py", "uriBaseId": "%SRCROOT%"}
    assert change["replacements"] == [{
        "deletedRegion": {"startLine": 12, "startColumn": 9, "endLine": 12, "endColumn": 40},
        "insertedContent": {"text": "nn.init.kaiming_normal_(self.fc2.weight)"},
    }]  # fmt: skip


def test_sarif_paths_are_relative_posix_uris(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sarif.artifact_location("./models/../models/net.py") == {"uri": "models/net.py", "uriBaseId": "%SRCROOT%"}
    assert sarif.artifact_location("my models/net 1.py")["uri"] == "my%20models/net%201.py"
    # An absolute path inside the working directory (the checkout) becomes relative to it.
    inside = str(tmp_path / "src" / "net.py")
    assert sarif.artifact_location(inside) == {"uri": "src/net.py", "uriBaseId": "%SRCROOT%"}
    # Outside it, only an absolute file URI is truthful; it has no base.
    outside = sarif.artifact_location(str(tmp_path.parent / "elsewhere.py"))
    assert "uriBaseId" not in outside and urlparse(outside["uri"]).scheme == "file"
    for uri in (sarif.artifact_location(p)["uri"] for p in ("a/b.py", "a b/c.py", "x/../y.py")):
        parsed = urlparse(uri)
        assert not parsed.scheme and not uri.startswith("/") and "\\" not in uri and " " not in uri


def test_sarif_fingerprints_are_stable_and_distinct():
    first = [r["partialFingerprints"] for r in _sarif()["runs"][0]["results"]]
    second = [r["partialFingerprints"] for r in _sarif()["runs"][0]["results"]]
    assert first == second
    values = [fp[sarif.FINGERPRINT_KEY] for fp in first]
    assert len(set(values)) == len(values)
    # Lines and messages move with unrelated edits; the identity must not.
    moved = replace(GAIN, line=30, end_line=30, message="reworded")
    assert sarif.fingerprint(moved) == sarif.fingerprint(GAIN)
    assert sarif.fingerprint(replace(GAIN, path="./models/net.py")) == sarif.fingerprint(GAIN)
    assert sarif.fingerprint(replace(GAIN, layer="fc3")) != sarif.fingerprint(GAIN)
    assert sarif.fingerprint(replace(GAIN, model="Other")) != sarif.fingerprint(GAIN)


def test_sarif_fingerprints_never_collide_for_same_identity():
    twin = replace(GAIN, line=40, end_line=40)
    results = _sarif(Report((GAIN, twin), MODELS[:1], files=1))["runs"][0]["results"]
    a, b = (r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in results)
    assert a != b and b.startswith(a)


def test_sarif_non_finite_numbers_stay_valid_json():
    odd = replace(GAIN, expected_std=math.inf, actual_std=math.nan)
    text = sarif.render(Report((odd,), MODELS[:1], files=1))

    def reject(constant):
        raise AssertionError(f"non-JSON constant {constant}")

    properties = json.loads(text, parse_constant=reject)["runs"][0]["results"][0]["properties"]
    assert "expected_std" not in properties and "actual_std" not in properties


def test_sarif_end_to_end(bad_models_report):
    log = json.loads(sarif.render(bad_models_report))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == len(bad_models_report.findings) > 0
    assert {"IL101", "IL102", "IL201", "IL301"} <= {r["ruleId"] for r in results}
    fingerprints = [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    for r, f in zip(results, bad_models_report.findings):
        location = r["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": "examples/bad_models.py", "uriBaseId": "%SRCROOT%"}
        assert location["region"]["startLine"] == f.line and location["region"]["startColumn"] == f.column
        assert (r["ruleId"], r["level"]) == (f.code, sarif.LEVELS[f.severity])  # the finding's depth-aware severity


# -- GitHub annotations ---------------------------------------------------------------


def test_github_escaping():
    assert github.escape_data("100% a\r\nb: c, d") == "100%25 a%0D%0Ab: c, d"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_annotation_line():
    assert github.annotation(GAIN) == (
        "::warning file=models/net.py,line=10,col=9,endLine=10,endColumn=48,title=IL101 gain-mismatch"
        "::fc1 (Linear): xavier_normal_() assumes gain 1, but F.relu needs 1.41: 50%25 off, a:b, c"
    )


def test_github_command_per_severity():
    lines = github.render(REPORT).splitlines()
    assert [line.split(" ", 1)[0] for line in lines[:4]] == ["::warning", "::error", "::notice", "::error"]


def test_github_escapes_properties_and_message():
    odd = replace(GAIN, path="dir,x/a:b.py", code="IL101", message="50% off\nnext line\rend")
    line = github.annotation(odd)
    assert "file=dir%2Cx/a%3Ab.py," in line
    assert line.endswith("::50%25 off%0Anext line%0Dend")
    assert "\n" not in line and "\r" not in line


def test_github_omits_columns_across_lines():
    line = github.annotation(PARTIAL)
    assert line.startswith("::notice file=models/net.py,line=20,endLine=22,title=IL906 partial-trace::")
    assert "col=" not in line and "endColumn=" not in line


def test_github_output_has_one_command_per_finding_and_a_plain_summary():
    lines = github.render(REPORT).split("\n")
    assert len(lines) == len(REPORT.findings) + 1  # the multi-line IL902 message stayed on its line
    assert all(line.startswith("::") for line in lines[:-1])
    assert not lines[-1].startswith("::") and lines[-1].startswith("Found 4 findings")


def test_github_end_to_end(bad_models_report):
    lines = github.render(bad_models_report).split("\n")
    commands = lines[:-1]
    assert len(commands) == len(bad_models_report.findings)
    assert all(
        line.startswith(("::warning file=examples/bad_models.py,", "::error file=examples/bad_models.py,"))
        for line in commands
    )
    assert any(",title=IL102 default-init::" in line and line.startswith("::error ") for line in commands)


# -- JUnit ----------------------------------------------------------------------------


def _junit(report: Report = REPORT) -> ET.Element:
    return ET.fromstring(junit.render(report))


def test_junit_counts():
    root = _junit()
    # 4 findings fail; Clean passes; Block is skipped; Net, Other and the broken file have findings.
    assert (root.get("tests"), root.get("failures"), root.get("skipped"), root.get("errors")) == ("6", "4", "1", "0")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"models/net.py", "pkg/broken.py"}
    net = suites["models/net.py"]
    assert (net.get("tests"), net.get("failures"), net.get("skipped")) == ("5", "3", "1")
    assert len(net.findall("testcase")) == 5
    assert suites["pkg/broken.py"].get("failures") == "1"


def test_junit_cases():
    net = next(s for s in _junit().findall("testsuite") if s.get("name") == "models/net.py")
    cases = {c.get("name"): c for c in net.findall("testcase")}
    assert set(cases) == {"IL101:Net:fc1", "IL102:Net:fc2", "IL906:Other", "Clean", "Block"}
    assert all(c.get("classname") == "models/net.py" for c in cases.values())
    failure = cases["IL101:Net:fc1"].find("failure")
    assert failure.get("type") == "IL101" and failure.get("message") == GAIN.message
    assert failure.text.startswith("models/net.py:10:9: IL101 [warning] fc1 (Linear)")
    assert cases["Clean"].find("failure") is None and cases["Clean"].find("skipped") is None
    assert cases["Block"].find("skipped").get("message").startswith("building block")


def test_junit_escapes_special_characters():
    text = junit.render(REPORT)
    assert "\x1b" not in text  # not allowed in XML 1.0, even as a character reference
    broken = next(s for s in ET.fromstring(text).findall("testsuite") if s.get("name") == "pkg/broken.py")
    failure = broken.find("testcase").find("failure")
    expected = BROKEN.message.replace("\x1b", "\\x1b")
    assert failure.get("message") == expected
    # XML parsers read a raw CR in text as LF (attributes keep it as &#13;): line breaks survive either way.
    assert failure.text == f"pkg/broken.py:3:1: IL902 [error] {expected}".replace("\r", "\n")


def test_junit_end_to_end(bad_models_report):
    root = _junit(bad_models_report)
    findings = bad_models_report.findings
    assert int(root.get("failures")) == len(findings) > 0
    clean = [m for m in bad_models_report.models if m.model not in {f.model for f in findings}]
    assert int(root.get("tests")) == len(findings) + len(clean)
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "examples/bad_models.py"
    assert "IL102:DeepDefault:body.0" in {c.get("name") for c in suite.findall("testcase")}


# -- statistics -----------------------------------------------------------------------


def _finding(code: str, severity: str, fix: Fix | None = None) -> Finding:
    return Finding(code, BY_CODE[code].name, severity, "m.py", 1, 1, 1, 2, "msg", fix=fix)


def test_statistics_counts_and_order():
    findings = (
        _finding("IL101", "warning"),
        *(_finding("IL201", "warning") for _ in range(3)),
        _finding("IL102", "error"), _finding("IL102", "warning", fix=FIX),
        _finding("IL301", "warning"),
    )  # fmt: skip
    report = Report(findings, (), files=1)
    assert statistics.rows(report) == [
        (3, "IL201", "init-scale", "warning"),
        (2, "IL102", "[*] default-init", "error/warning"),
        (1, "IL101", "gain-mismatch", "warning"),
        (1, "IL301", "overwritten-init", "warning"),
    ]
    lines = statistics.render(report).splitlines()
    assert [line.split()[:2] for line in lines] == [["3", "IL201"], ["2", "IL102"], ["1", "IL101"], ["1", "IL301"]]
    assert lines[1].split()[-1] == "error/warning"
    assert len({line.index("IL") for line in lines}) == 1  # columns line up


def test_statistics_empty_report_prints_nothing():
    assert statistics.render(Report((), (), files=0)) == ""


def test_statistics_end_to_end(bad_models_report):
    rows = statistics.rows(bad_models_report)
    assert {code: count for count, code, _, _ in rows} == Counter(f.code for f in bad_models_report.findings)
    assert [count for count, *_ in rows] == sorted((count for count, *_ in rows), reverse=True)
    assert {"IL101", "IL102", "IL201", "IL301"} <= {code for _, code, _, _ in rows}


def test_ci_formats_name_files_from_the_repository_root_wherever_initlint_runs(tmp_path):
    """A monorepo package checked from its own directory (as pre-commit or a CI working-directory does)."""
    (tmp_path / ".git").mkdir()
    package = tmp_path / "pkg"
    write(package, "models/net.py", XAVIER_RELU)
    _, out = run_cli("check", "--no-cache", "--output-format", "sarif", "models", cwd=package)
    run = json.loads(out)["runs"][0]
    [result] = run["results"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "pkg/models/net.py", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    [descriptor] = [r for r in run["tool"]["driver"]["rules"] if r["id"] == "IL101"]
    assert descriptor["helpUri"].endswith("/docs/rules.md#il101-gain-mismatch")
    jsonschema.Draft4Validator(SCHEMA).validate(json.loads(out))
    _, out = run_cli("check", "--no-cache", "--output-format", "github", "models", cwd=package)
    assert out.startswith("::warning file=pkg/models/net.py,line=")
