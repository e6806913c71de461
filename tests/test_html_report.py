"""``--output-format html`` (read in a real headless Chromium) and ``--show-signal``, through the CLI."""

from __future__ import annotations

import math
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_cli, write

# A layer and a folder named like markup: a report that printed them raw would run the script.
HOSTILE_DIR = "<script>alert(1)<"
HOSTILE_LAYER = "<script>alert(1)</script>"
HOSTILE = f"""
import torch.nn as nn


class Hostile(nn.Module):
    def __init__(self):
        super().__init__()
        self.add_module("{HOSTILE_LAYER}", nn.Linear(64, 64))
        self.out = nn.Linear(64, 10)
        nn.init.normal_(getattr(self, "{HOSTILE_LAYER}").weight, std=0.01)

    def forward(self, x):
        return self.out(getattr(self, "{HOSTILE_LAYER}")(x).relu())
"""

# Weight layers per model, counted by hand from the sources.
LAYERS = {"XavierBeforeReLU": 3, "TinyStd": 2, "DeepDefault": 9, "ReluGainBeforeTanh": 2, "Overwritten": 2}
LAYERS_WITH_HOSTILE = {**LAYERS, "Hostile": 2}

# DeepDefault at PyTorch's default std 1/sqrt(3 * 256): 8 layers before a ReLU (variance-preserving
# std sqrt(2/256)) and a head before nothing (sqrt(1/256)).
DEEP_END = (1 / math.sqrt(3 * 256) / math.sqrt(2 / 256)) ** 8 * (1 / math.sqrt(3 * 256) / math.sqrt(1 / 256))

SCREENSHOT = REPO / "docs" / "html-report.png"


class _Document(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.doctypes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_decl(self, decl: str) -> None:
        self.doctypes.append(decl)

    def having(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def _parse(document: str) -> _Document:
    parsed = _Document()
    parsed.feed(document)
    parsed.close()
    return parsed


def _points(parsed: _Document, series: str) -> dict[str, int]:
    """Plot points of a series per model section, by the model's heading id."""
    counts: dict[str, int] = {}
    section = None
    for tag, attrs in parsed.tags:
        if tag == "h2" and (attrs.get("id") or "").startswith("model-"):
            section = attrs["id"]
            counts[section] = 0
        elif tag == "circle" and section and f"point {series}" == attrs.get("class"):
            counts[section] += 1
    return counts


def _section_ids(document: str) -> dict[str, str]:
    """Model name -> its section's id, read from the headings."""
    return {name: ident for ident, name in re.findall(r'<h2 id="(model-\d+)">([^<]+)</h2>', document)}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("html")
    shutil.copy(REPO / "examples" / "bad_models.py", root / "bad_models.py")
    write(root, f"{HOSTILE_DIR}/hostile.py", HOSTILE)
    return root


@pytest.fixture(scope="module")
def report(project: Path) -> Path:
    """One full-mode run writing the HTML report to a file (and the cache the other full-mode runs read)."""
    code, out = run_cli("check", "--output-format", "html", "-o", "report.html", ".", cwd=project)
    assert code == 1 and out == ""  # findings remain; the report went to the file, not stdout
    return project / "report.html"


def test_one_self_contained_document(report: Path) -> None:
    document = report.read_text(encoding="utf-8")
    parsed = _parse(document)
    assert parsed.doctypes == ["DOCTYPE html"] and len(parsed.having("html")) == 1
    assert len(parsed.having("body")) == 1 and len(parsed.having("style")) == 1
    links = [(tag, a.get(key) or "") for tag, a in parsed.tags for key in ("src", "href") if key in a]
    assert links and all(url.startswith("#") for _, url in links), links  # in-page anchors only
    assert not parsed.having("link") and not parsed.having("img")
    assert parsed.having("script") == [{}]  # one inline script, nothing loaded
    assert not re.search(r"https?://|//[a-z]", document.replace("http-equiv", ""))
    assert "default-src 'none'" in document  # and the browser is told to fetch nothing


def test_user_strings_are_escaped(report: Path) -> None:
    document = report.read_text(encoding="utf-8")
    assert "<script>alert" not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document  # the layer name, shown as text
    assert "&lt;script&gt;alert(1)&lt;/hostile.py" in document  # the folder in the path
    assert len(_parse(document).having("script")) == 1


def test_one_plot_point_per_layer(report: Path) -> None:
    document = report.read_text(encoding="utf-8")
    sections = _section_ids(document)
    assert set(sections) == set(LAYERS_WITH_HOSTILE)
    parsed = _parse(document)
    expected = {sections[name]: n for name, n in LAYERS_WITH_HOSTILE.items()}
    for series in ("initialised", "fixed", "measured"):
        assert _points(parsed, series) == expected, series
    # each layer row carries the id the plot's points and the findings point at
    rows = [a["id"] for t, a in parsed.tags if t == "tr" and (a.get("id") or "").startswith("model-")]
    assert len(rows) == sum(LAYERS_WITH_HOSTILE.values())


def test_findings_link_to_their_layers(report: Path) -> None:
    document = report.read_text(encoding="utf-8")
    sections = _section_ids(document)
    deep = sections["DeepDefault"]
    links = _parse(document).having("a", **{"class": "finding"})
    targets = [a["data-layers"] for a in links]
    assert len(links) == 8  # bad_models' 7 findings and the hostile model's tiny std
    # IL102 on body.0..body.14 names all 8 rows; the one on the head the 9th
    assert f"{deep}-layer-0 " + " ".join(f"{deep}-layer-{j}" for j in range(1, 8)) in targets
    assert f"{deep}-layer-8" in targets


def test_static_mode_and_the_format_alias(project: Path) -> None:
    """--format html to stdout; without a forward pass there are no measured series, the predicted ones remain."""
    code, out = run_cli("check", "--static", "--no-cache", "--format", "html", "bad_models.py", cwd=project)
    assert code == 1
    parsed = _parse(out)
    sections = _section_ids(out)
    expected = {sections[name]: n for name, n in LAYERS.items()}
    assert _points(parsed, "initialised") == expected
    assert set(_points(parsed, "measured").values()) == {0}
    assert "measured at init" not in out  # not in the legend either


def _chromium() -> str:
    found = os.environ.get("INITLINT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "the HTML report test needs a Chromium: `apt-get install -y chromium` "
            "(or set INITLINT_CHROMIUM to its executable)",
            pytrace=False,
        )
    return found


def _in_viewport(page: Any, selector: str) -> bool:
    return bool(
        page.evaluate(
            "s => { const r = document.querySelector(s).getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight; }",
            selector,
        )
    )


def test_report_in_a_browser(report: Path) -> None:
    """Chromium renders the page without errors or requests, draws a point per layer, and a click on a
    finding scrolls its layers into view, highlighted."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the HTML report test needs playwright: `pip install playwright==1.65.2`", pytrace=False)
    document = report.read_text(encoding="utf-8")
    sections = _section_ids(document)
    deep = sections["DeepDefault"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            page.on("request", lambda r: None if r.url == report.as_uri() else problems.append(f"request {r.url}"))
            page.goto(report.as_uri())

            assert page.locator("h1").inner_text() == "initlint report"
            for name, count in LAYERS_WITH_HOSTILE.items():
                section = page.locator(f"section:has(#{sections[name]})")
                points = section.locator("svg.signal circle.point.initialised")
                assert points.count() == count, name
                boxes = [points.nth(j).bounding_box() for j in range(count)]
                assert all(b is not None and b["width"] > 0 for b in boxes)  # drawn, not just present
                xs = [b["x"] for b in boxes if b is not None]
                assert xs == sorted(xs) and len(set(xs)) == count  # one per layer, left to right

            head = f"#{deep}-layer-8"
            assert not _in_viewport(page, head)
            page.locator(f'a.finding[data-layers="{deep}-layer-8"]').click()
            page.wait_for_function("s => document.querySelector(s).classList.contains('highlight')", arg=head)
            assert _in_viewport(page, head)
            assert page.locator("tr.highlight").count() == 1

            group = page.locator(f'a.finding[data-layers^="{deep}-layer-0 "]')
            group.click()
            assert _in_viewport(page, f"#{deep}-layer-0")
            assert page.locator("tr.highlight").count() == 8  # the finding covers body.0..body.14
            assert problems == []

            if os.environ.get("INITLINT_UPDATE_SCREENSHOT") == "1":
                page.locator(f"section:has(#{deep})").screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()


def test_show_signal(project: Path, report: Path) -> None:
    code, out = run_cli("check", "--show-signal", "bad_models.py", cwd=project)
    assert code == 1
    lines = out.splitlines()
    signals = [line for line in lines if re.match(r"^\w+: [▁▂▃▄▅▆▇█]+ ", line)]
    assert [line.split(":")[0] for line in signals] == list(LAYERS)  # one per model, in the report's order
    first_signal, last_finding = lines.index(signals[0]), max(i for i, s in enumerate(lines) if " IL" in s)
    assert last_finding < first_signal < lines.index(next(s for s in lines if s.startswith("Found ")))
    deep = next(line for line in signals if line.startswith("DeepDefault:"))
    bars = deep.split()[1]
    assert len(bars) == 9 and list(bars) == sorted(bars, reverse=True)  # shrinking layer after layer
    assert f"{DEEP_END:.1e} of the input RMS after 9 layers (reference 1; measured output RMS " in deep
    # the findings report the second moment over the same chain: the square of the RMS drawn here
    assert f"the signal's second moment shrinks to {DEEP_END**2:.1e} of the input's, its RMS to {DEEP_END:.1e}" in out

    _, plain = run_cli("check", "bad_models.py", cwd=project)
    assert not re.search("[▁▂▃▄▅▆▇█]", plain)
