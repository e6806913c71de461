"""``--format junit``: JUnit XML, a suite per file, a failing case per finding, a passing one per clean model."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..findings import Finding
from ..shared.facts import SKIPPED
from .locations import place
from .model import Report

# Characters XML 1.0 cannot hold even escaped; an exception message from user code may carry them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def case_name(f: Finding) -> str:
    return ":".join(part for part in (f.code, f.model, f.layer) if part)


def _failure_case(f: Finding) -> ET.Element:
    case = ET.Element(
        "testcase", name=_clean(case_name(f)), classname=_clean(f.path), file=_clean(f.path), line=str(f.line)
    )
    failure = ET.SubElement(case, "failure", message=_clean(f.message), type=f.code)
    failure.text = _clean(f"{place(f)}: {f.code} [{f.severity}] {f.message}")
    return case


def _suite(path: str, cases: list[ET.Element]) -> ET.Element:
    suite = ET.Element("testsuite", name=_clean(path))
    suite.extend(cases)
    _count(suite, cases)
    return suite


def _count(element: ET.Element, cases: list[ET.Element]) -> None:
    element.set("tests", str(len(cases)))
    element.set("failures", str(sum(c.find("failure") is not None for c in cases)))
    element.set("errors", "0")
    element.set("skipped", str(sum(c.find("skipped") is not None for c in cases)))


def render(report: Report) -> str:
    suites: dict[str, list[ET.Element]] = {}
    flagged = {(f.path, model) for f in report.findings for model in (f.models or (f.model,))}
    for m in report.models:
        # A model without findings passes, so the dashboard lists it as checked; "" is a file-level entry.
        if not m.model or (m.path, m.model) in flagged:
            suites.setdefault(m.path, [])
            continue
        case = ET.Element("testcase", name=_clean(m.model), classname=_clean(m.path), file=_clean(m.path))
        if m.status == SKIPPED:
            ET.SubElement(case, "skipped", message=_clean(m.detail))
        suites.setdefault(m.path, []).append(case)
    for f in report.findings:
        suites.setdefault(f.path, []).append(_failure_case(f))
    root = ET.Element("testsuites", name="initlint")
    root.extend(_suite(path, cases) for path, cases in suites.items())
    _count(root, [case for cases in suites.values() for case in cases])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
