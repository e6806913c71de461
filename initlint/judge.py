"""Judge: the facts of every file -> the report (``report.model.Report``).

For each model: a finding for what could not be analysed (IL9xx), then every
rule's verdicts (``rules``) as findings at the place each names. Then, for the
whole run: the selection (``--select``, ``--ignore``, ``per-file-ignores``),
suppression comments, grouping (a loop that built eight layers is one finding
naming them all) and fix planning (``fix.plan``).
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from . import rules as catalogue
from .cache import Cache
from .config import suggest_entry
from .discover import SourceFile, analysed_text
from .findings import ERROR as ERROR_SEVERITY
from .findings import INFO as INFO_SEVERITY
from .findings import Edit, Finding, severity_rank
from .fix.plan import PlannedEdits, merge_intents, plan_fixes
from .notebook import Notebook, finding_in_cells, read_notebooks
from .options import Options
from .report.model import LayerRow, ModelEntry, Report
from .rules import ModelView, Rule, Verdict
from .rules.base import JUDGED_KINDS
from .shared.facts import (
    BUILDING_BLOCK,
    BUILT_ELSEWHERE,
    ERROR,
    LIBRARY,
    PARTIAL,
    SKIPPED,
    VARIANT,
    AnalysisProblem,
    FileFacts,
    ModelFacts,
    Span,
)
from .suppress import FileComments, parse_comments


@dataclass(frozen=True)
class PathDisplay:
    """How the report shows a file: as the user named it, else relative to the working directory."""

    named: Mapping[str, str]  # os.path.normcase(absolute path) -> the path as the user named it
    cwd: str

    @classmethod
    def of(cls, files: Iterable[SourceFile]) -> PathDisplay:
        """For the files a check found (none for a model checked in-process), from the working directory."""
        return cls({os.path.normcase(f.path): f.display for f in files}, os.getcwd())

    def show(self, path: str) -> str:
        known = self.named.get(os.path.normcase(path))
        if known is not None:
            return known
        relative = os.path.relpath(path, self.cwd)
        return path if relative.startswith("..") else relative


def judge(
    files: Sequence[FileFacts],
    options: Options,
    paths: PathDisplay,
    cache: Cache | None = None,
    buffers: Mapping[str, str] | None = None,
) -> Report:
    """The findings and model entries of analysed files.

    ``cache`` remembers planned fix edits by file content (libcst is then not needed again); ``buffers``
    (absolute path -> text) are files analysed from a text not on disk, whose fixes are planned on it.
    """
    return Judging(options, paths, cache).report(files, buffers)


@dataclass(frozen=True)
class Prepared:
    """What ``Judging.prepare`` computed for one file, to be adopted where the report is made."""

    facts: FileFacts  # the file's facts as ``report`` still reads them: without its models' layers and dataflow
    findings: dict[tuple[str, str], list[Finding]]  # (path, model) -> its rules' findings
    rows: dict[tuple[str, str], tuple[LayerRow, ...]]  # (path, model) -> its layer rows
    edits: dict[tuple[str, str, str], tuple[Edit, ...] | str]  # ``PlannedEdits.outcomes``
    comments: dict[str, FileComments]  # absolute path -> its suppression comments, as read for the findings


class Judging:
    """Judging a run: ``report`` of every file's facts at the end and, when facts come file by file
    (static mode's workers), ``prepare`` of each file where it was analysed, its result ``adopt``-ed here.

    What ``prepare`` computes (each model's findings, its file's fix edits) is only remembered: ``report``
    decides everything that depends on the other files (building blocks, variants, findings of one line in
    several models) and takes from it what still applies.
    """

    def __init__(self, options: Options, paths: PathDisplay, cache: Cache | None = None) -> None:
        self.options = options
        self.paths = paths
        self.cache = cache
        self.planned = PlannedEdits(cache)
        self._findings: dict[tuple[str, str], list[Finding]] = {}  # (path, model) -> its rules' findings
        self._rows: dict[tuple[str, str], tuple[LayerRow, ...]] = {}  # (path, model) -> its layer rows
        self._comments: dict[str, FileComments] = {}  # absolute path -> its suppression comments

    def prepare(self, f: FileFacts) -> Prepared:
        """The findings and layer rows of one file's models and the edits of its fixes, ahead of ``report``.

        What only judging reads (the layers, the dataflow) is left out of the facts it carries, which makes
        a static worker's result several times lighter to send to the process that reports."""
        inside = {key for m in f.models if m.status not in (ERROR, SKIPPED) for key in m.component_classes}
        findings, rows = {}, {}
        for model in f.models:
            view = ModelView(model, self.options.for_file(model.path).settings)
            rows[f.path, model.name] = _layer_rows(view)
            if model.status in (SKIPPED, VARIANT) or (_own_check(model) and _key(model) in inside):
                continue  # nothing to judge, or a building block of a model in this file: judged inside it
            findings[f.path, model.name] = self._model_findings(view, _detail(f, model))
        comments: dict[str, FileComments] = {}
        reported, _ = self._reported([g for found in findings.values() for g in found], comments)
        from .static.reachable import parse_reachable  # only static mode prepares: the tree it analysed

        planned = PlannedEdits(self.cache)
        plan_fixes(reported, {f.path: f.digest} if f.digest else {}, self.paths.show, planned, parse=parse_reachable)
        light = replace(f, models=tuple(replace(m, layers=(), signal=()) for m in f.models))
        return Prepared(light, findings, rows, planned.outcomes(), comments)

    def adopt(self, prepared: Prepared) -> FileFacts:
        """Takes what was prepared for a file; returns the file's facts for ``report``."""
        self._findings.update(prepared.findings)
        self._rows.update(prepared.rows)
        self._comments.update(prepared.comments)
        self.planned.learn(prepared.edits)
        return prepared.facts

    def report(self, files: Sequence[FileFacts], buffers: Mapping[str, str] | None = None) -> Report:
        """The findings and model entries of every analysed file."""
        components = {
            key for f in files for m in f.models if m.status not in (ERROR, SKIPPED) for key in m.component_classes
        }
        findings: list[Finding] = []
        entries: list[ModelEntry] = []
        judged: dict[tuple[str, str], list[Finding]] = {}  # (path, model) -> its findings, for its variants
        notebooks = read_notebooks(self.paths.show(f.path) for f in files)  # their lines are placed in cells
        for f in files:
            shown = self.paths.show(f.path)
            if f.problem is not None:
                findings.append(_problem_finding(f.problem, f.path, None, 1, self.paths))
                entries.append(ModelEntry(shown, "", ERROR, f.problem.message))
            if f.static_fallback is not None:
                findings.append(_fallback_finding(f, self.paths))
            for model in f.models:
                if _own_check(model) and _key(model) in components:
                    entries.append(ModelEntry(shown, model.name, SKIPPED, BUILDING_BLOCK))
                    continue
                entry, own = self._judge_model(f, model, judged, notebooks)
                entries.append(entry)
                findings.extend(own)
        reported, silenced = self._reported(findings, self._comments)
        digests = {f.path: f.digest for f in files if f.digest}
        planned = _in_cells(plan_fixes(reported, digests, self.paths.show, self.planned, buffers), notebooks)
        return Report(
            tuple(sorted(planned, key=lambda f: f.sort_key)),
            tuple(entries),
            len(files),
            digests=digests,
            suppressed=tuple(sorted(_in_cells(_grouped(silenced), notebooks), key=lambda f: f.sort_key)),
        )

    def _reported(
        self, findings: list[Finding], comments: dict[str, FileComments]
    ) -> tuple[list[Finding], list[Finding]]:
        """(the selected findings no comment silences, grouped by place and across models: what fixes are
        planned for; the silenced ones). ``comments`` holds the files' comments read so far, and more."""
        kept, silenced = _suppressions([f for f in findings if _selected(f, self.options)], comments)
        return _across_models(_grouped(kept)), silenced

    def _judge_model(
        self,
        f: FileFacts,
        model: ModelFacts,
        judged: dict[tuple[str, str], list[Finding]],
        notebooks: Mapping[str, Notebook],
    ) -> tuple[ModelEntry, list[Finding]]:
        """A model's entry and findings: prepared ones if any, its variant's, or judged now (kept in
        ``judged`` for the variants that follow)."""
        governing = self.options.for_file(model.path)  # the configuration of the model's file
        detail = _detail(f, model)
        key = (f.path, model.name)
        rows, prepared = self._rows.pop(key, None), self._findings.pop(key, None)
        judged_here = prepared is None and model.status not in (SKIPPED, VARIANT)
        view = ModelView(model, governing.settings) if rows is None or judged_here else None  # not prepared
        needs = model.needs
        suggestion = suggest_entry(model.path, model.name, needs, governing.root) if needs else None
        built_by = _built_by(model, self.paths, notebooks)
        shown = self.paths.show(f.path)
        if rows is None:
            assert view is not None
            rows = _layer_rows(view)
        entry = ModelEntry(shown, model.name, model.status, detail, rows, built_by, suggestion)
        if model.status == SKIPPED:
            return entry, [_skipped_finding(model, detail, suggestion, governing, self.paths)]
        if model.status == VARIANT:  # the same findings as the model it builds the same as
            own = [replace(g, model=model.name) for g in judged.get((f.path, model.variant_of), []) if g.layer]
        elif prepared is not None:
            own = prepared
        else:
            assert view is not None
            own = self._model_findings(view, detail)
        judged[key] = own
        return entry, own

    def _model_findings(self, view: ModelView, detail: str) -> list[Finding]:
        deadline = time.monotonic() + self.options.for_file(view.model.path).timeout  # --timeout bounds judging
        return _model_findings(view, detail, self.paths, deadline)


def _own_check(model: ModelFacts) -> bool:
    """Whether the model is a class checked on its own (not one built by a script, factory or entry)."""
    return model.built_by not in BUILT_ELSEWHERE or model.status == SKIPPED


def _key(model: ModelFacts) -> tuple[str, str]:
    """The model as ``component_classes`` names it."""
    return os.path.normcase(os.path.abspath(model.path)), model.name


def _built_by(model: ModelFacts, paths: PathDisplay, notebooks: Mapping[str, Notebook]) -> str | None:
    """``models[].built_by``: how the model was constructed (None when it was not: skipped, failed)."""
    if model.status in (ERROR, SKIPPED):
        return None
    if model.built_at is not None:
        shown = paths.show(model.built_at.path)
        notebook = notebooks.get(shown)
        line = notebook.place(model.built_at.line) if notebook is not None else str(model.built_at.line)
        return f"{model.built_by} {shown}:{line}"
    return model.built_by


def _detail(f: FileFacts, model: ModelFacts) -> str:
    """The model's detail, after why its file was analysed from source (if it was)."""
    if f.static_fallback is None:
        return model.detail
    fallback = f"analysed from source: {f.static_fallback}"
    return f"{fallback}; {model.detail}" if model.detail else fallback


# -- findings of one model -----------------------------------------------------------------------


def _model_findings(view: ModelView, detail: str, paths: PathDisplay, deadline: float) -> list[Finding]:
    """What the model's analysis could not do, then every rule's verdicts until the deadline."""
    model = view.model
    here = Span(model.path, model.line, 1, model.line, 1)
    if model.status == ERROR and model.error is not None:
        return [_problem_finding(model.error, model.path, model.name, model.line, paths)]
    found = []
    if model.status == PARTIAL:
        found.append(_plain_finding(catalogue.PARTIAL_TRACE, f"{model.name}: {detail}", here, paths, model.name))
    for rule in catalogue.MODEL_RULES:
        assert rule.check is not None  # the catalogue admits no model rule without one (rules._discover)
        for verdict in rule.check(view):
            found.append(_verdict_finding(rule, verdict, view, paths))
            if time.monotonic() > deadline:
                break
        if time.monotonic() > deadline:  # say so, keep what was found
            message = f"judging {model.name} timed out at {rule.code}; later rules were not run"
            found.append(_plain_finding(catalogue.BY_CODE["IL904"], message, here, paths, model.name))
            break
    return found


def _fallback_finding(f: FileFacts, paths: PathDisplay) -> Finding:
    """IL909: the file was read instead of run; info when reading it found no model (nothing is hidden)."""
    if not f.models:
        message = f"{f.static_fallback}; read from source, it defines no model"
        finding = _plain_finding(catalogue.STATIC_FALLBACK, message, Span(f.path, 1, 1, 1, 1), paths)
        return replace(finding, severity=INFO_SEVERITY)
    line = f.models[0].line
    message = f"{f.static_fallback}; its models were analysed from source"
    return _plain_finding(catalogue.STATIC_FALLBACK, message, Span(f.path, line, 1, line, 1), paths)


def _skipped_finding(
    model: ModelFacts, detail: str, suggestion: str | None, options: Options, paths: PathDisplay
) -> Finding:
    """IL908: what the constructor needs, and the configured entry that would build it; an error when
    every model must be checked (``require-all-models``)."""
    message = f"{model.name} was not checked: {detail}"
    if suggestion is not None:
        message += f"; to check it, add {suggestion} to [tool.initlint] models"
    here = Span(model.path, model.line, 1, model.line, 1)
    finding = _plain_finding(catalogue.MODEL_SKIPPED, message, here, paths, model.name)
    return replace(finding, severity=ERROR_SEVERITY) if options.require_all_models else finding


def _problem_finding(problem: AnalysisProblem, path: str, model: str | None, line: int, paths: PathDisplay) -> Finding:
    rule = catalogue.PROBLEM_RULES[problem.kind]
    span = problem.span or Span(path, max(line, 1), 1, max(line, 1), 1)
    return _plain_finding(rule, problem.message, span, paths, model)


def _plain_finding(rule: Rule, message: str, span: Span, paths: PathDisplay, model: str | None = None) -> Finding:
    return Finding(
        rule.code,
        rule.name,
        rule.severity,
        paths.show(span.path),
        span.line,
        span.column,
        span.end_line,
        span.end_column,
        message,
        model=model,
    )


def _verdict_finding(rule: Rule, verdict: Verdict, view: ModelView, paths: PathDisplay) -> Finding:
    model = view.model
    layer = verdict.layer
    span = verdict.span or (layer.site if layer else None) or Span(model.path, model.line, 1, model.line, 1)
    param = verdict.parameter
    init = None
    severity = verdict.severity
    if layer is not None:
        init_facts = layer.bias if param == "bias" else layer.weight
        init = init_facts.display if init_facts is not None else None
        if init_facts is not None and init_facts.origin == LIBRARY:
            severity = INFO_SEVERITY  # the library's own init: the user can override it, not fix it
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=severity,
        path=paths.show(span.path),
        line=span.line,
        column=span.column,
        end_line=span.end_line,
        end_column=span.end_column,
        message=verdict.message,
        model=model.name,
        layer=layer.name if layer else None,
        parameter=param,
        layer_type=layer.layer_type if layer else None,
        activation=verdict.activation.display if verdict.activation else None,
        init=init,
        expected_std=verdict.expected_std,
        actual_std=verdict.actual_std,
        layers=(layer.name,) if layer else (),
        intent=verdict.fix,
        anchors=tuple((s.path, s.line) for s in (layer.site, layer.assigned) if s is not None) if layer else (),
        reach=len(view.initialised_at(verdict.span)) if verdict.span is not None else 0,
    )


def _layer_rows(view: ModelView) -> tuple[LayerRow, ...]:
    rows = []
    for layer in view.model.layers:
        act = layer.downstream if layer.paired else None
        rows.append(
            LayerRow(
                layer=layer.name,
                layer_type=layer.layer_type,
                activation=act.display if act is not None else None,
                upstream=layer.upstream.display if layer.upstream is not None else None,
                norm_between=layer.norm_after,
                init=layer.weight.display,
                actual_std=layer.weight.std,
                expected_std=view.expected_std(layer) if layer.kind in JUDGED_KINDS else None,
                predicted_rms=view.predicted_rms(layer),
                measured_rms=layer.measured_rms,
            )
        )
    return tuple(rows)


# -- the run's findings: selection, suppression, grouping -----------------------------------------


def _selected(finding: Finding, options: Options) -> bool:
    """Whether the configuration governing the finding's file (and the command line) selects it."""
    if finding.code in catalogue.ALWAYS_REPORTED and finding.severity == ERROR_SEVERITY:
        return True  # a file or model that could not be analysed hides everything: never selected away
    own = options.for_file(os.path.abspath(finding.path))
    if not catalogue.matches(finding.code, own.select) or catalogue.matches(finding.code, own.ignore):
        return False
    if own.per_file_ignores:
        relative = os.path.relpath(os.path.abspath(finding.path), own.root or os.getcwd()).replace(os.sep, "/")
        for pattern, codes in own.per_file_ignores:
            if fnmatch.fnmatch(relative, pattern) and catalogue.matches(finding.code, codes):
                return False
    return True


def _suppressions(findings: list[Finding], comments: dict[str, FileComments]) -> tuple[list[Finding], list[Finding]]:
    """(kept, silenced by a suppression comment on one of the finding's lines); ``comments`` holds the
    files' comments read so far, and those read here are added to it."""

    def of(path: str) -> FileComments:
        if path not in comments:
            try:
                with open(path, "rb") as handle:
                    comments[path] = parse_comments(analysed_text(path, handle.read()))
            except (OSError, ValueError, SyntaxError, LookupError):  # ValueError: decoding, not a notebook
                comments[path] = FileComments()
        return comments[path]

    kept, silenced = [], []
    for f in findings:
        here = os.path.abspath(f.path)
        places = [(here, line) for line in range(f.line, f.end_line + 1)] + list(f.anchors)
        if any(of(path).silences(f.code, line) for path, line in places):
            silenced.append(f)
        else:
            kept.append(f)
    return kept, silenced


def _in_cells(findings: list[Finding], notebooks: Mapping[str, Notebook]) -> list[Finding]:
    """Findings in notebooks placed in their cells (``notebook``): the last step, after everything that
    works on a notebook's source (suppression comments, grouping, fix planning)."""
    return [finding_in_cells(f, notebooks) for f in findings] if notebooks else findings


def _across_models(findings: list[Finding]) -> list[Finding]:
    """One finding per source line, whatever the number of models it is found in: a class and the
    factory that builds it, or 13 variants of one architecture, report the line once, naming them all.

    The most severe model's finding is kept, with its layers (each model names its own); a fix
    only if all agree on it.
    """
    groups: dict[tuple[str, str, int, int, str | None], list[Finding]] = {}
    ordered: list[Finding | tuple[str, str, int, int, str | None]] = []
    for f in findings:
        if f.layer is None or f.model is None:
            ordered.append(f)
            continue
        key = (f.code, f.path, f.line, f.column, f.parameter)
        if key not in groups:
            ordered.append(key)
        groups.setdefault(key, []).append(f)
    merged: list[Finding] = []
    for item in ordered:
        if isinstance(item, Finding):
            merged.append(item)
            continue
        items = groups[item]
        models = tuple(dict.fromkeys(f.model for f in items if f.model))
        if len(models) == 1:
            merged.extend(items)
            continue
        first = max(items, key=lambda f: severity_rank(f.severity))
        shown = ", ".join(models[:4]) + (", ..." if len(models) > 4 else "")
        merged.append(
            replace(
                first,
                message=f"{first.message} (the same line in {len(models)} models: {shown})",
                models=models,
                intent=merge_intents([f.intent for f in items]),
            )
        )
    return merged


def _grouped(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per place: a loop that built 8 layers is one line, naming them all.

    The message (and its numbers) is the first layer's; the layer prefix is added here.
    """
    groups: dict[tuple[str, str, int, int, str | None, str, str | None], list[Finding]] = {}
    for f in findings:
        key = (f.code, f.path, f.line, f.column, f.model, f.severity, f.parameter)
        groups.setdefault(key, []).append(f)
    merged = []
    for items in groups.values():
        first = items[0]
        if first.layer is None:
            merged.extend(items)
            continue
        names = tuple(dict.fromkeys(n for f in items for n in f.layers))
        param = "" if first.parameter in (None, "weight") else f".{first.parameter}"
        prefix = (
            f"{names[0]}{param} ({first.layer_type})" if names[0] else f"{first.layer_type}{param} (the model itself)"
        )
        if len(names) > 1:
            others = ", ".join(names[1:4]) + (", ..." if len(names) > 4 else "")
            more = len(names) - 1
            prefix += f" and {more} more layer{'s' if more > 1 else ''} built here ({others})"
        affected = ""
        if first.reach > len(names):  # the call also initialises layers it got right: say how many
            affected = f"; {len(names)} of the {first.reach} layers this call initialises"
        merged.append(
            replace(
                first,
                message=f"{prefix}: {first.message}{affected}",
                layers=names,
                intent=merge_intents([f.intent for f in items]),
            )
        )
    return merged
