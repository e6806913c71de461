"""Run a check end to end: discover, analyse in workers, judge, report data.

This is the one place that strings the pipeline together; the CLI and the
Python API both call ``check_paths``.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from . import rules as catalogue
from .cache import Cache
from .config import Entry, resolve_entry
from .discover import Screening, SourceFile, collect_files, decode_source, local_module, model_factories, screen
from .findings import Finding
from .fix.apply import digest
from .fix.plan import merge_intents, plan_fixes
from .rules import ModelView, Rule, Settings, Verdict
from .rules.base import JUDGED_KINDS
from .shared.facts import ERROR as STATUS_ERROR
from .shared.facts import PARTIAL, SKIPPED, AnalysisProblem, FileFacts, ModelFacts, ModelSpec, Span
from .suppress import FileComments, parse_comments

DEFAULT_JOBS = os.cpu_count() or 1
DEFAULT_TIMEOUT = 60.0
STATIC_FALLBACK = "analysed from source: importing the file failed: "


@dataclass(frozen=True)
class Options:
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, codes), globs relative to root
    timeout: float = DEFAULT_TIMEOUT
    jobs: int = DEFAULT_JOBS
    settings: Settings = field(default_factory=Settings)
    entries: tuple[Entry, ...] = ()  # [tool.initlint] models
    root: str = ""  # the configuration's directory: where entries and globs are relative to
    cache_dir: str | None = None  # None: no cache
    device: str = "auto"  # where models are built: auto | cpu | meta
    static: bool = False  # source only: never import the user's code or torch


@dataclass(frozen=True)
class LayerRow:
    """A weight layer as ``models[].layers`` lists it: what it was paired with and its init."""

    layer: str
    layer_type: str
    activation: str | None  # None: not paired
    upstream: str | None
    norm_between: bool
    init: str
    actual_std: float | None
    expected_std: float | None


@dataclass(frozen=True)
class ModelEntry:
    """A model as the JSON ``models`` list reports it."""

    path: str
    model: str
    status: str
    detail: str = ""
    layers: tuple[LayerRow, ...] = ()


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    models: tuple[ModelEntry, ...]
    files: int
    missing: tuple[str, ...] = ()
    digests: dict[str, str] = field(default_factory=dict)  # absolute path -> sha256 of the analysed bytes
    suppressed: tuple[Finding, ...] = ()  # silenced by comments; shown with --show-suppressed
    notes: tuple[str, ...] = ()  # what was skipped and why (non-regular files), one line each


class _Paths:
    """Shows absolute paths the way the user named them."""

    def __init__(self, files: Iterable[SourceFile], root: str = ""):
        self._shown = {os.path.normcase(f.path): f.display for f in files}
        self._cwd = os.getcwd()
        self.root = root or self._cwd

    def relative_to_root(self, path: str) -> str:
        """For per-file-ignores globs, which are relative to the configuration."""
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def show(self, path: str) -> str:
        known = self._shown.get(os.path.normcase(path))
        if known is not None:
            return known
        relative = os.path.relpath(path, self._cwd)
        return path if relative.startswith("..") else relative


def _screen(path: str, data: bytes, cache: Cache | None) -> Screening:
    """``discover.screen``, remembered by the file's bytes."""
    if cache is None:
        return screen(path, data)
    key = cache.key(path, ["screen", digest(data)])
    found = cache.load(key, Screening)
    if found is not None:
        return found
    found = screen(path, data)
    cache.store(key, found)
    return found


Tasks = dict[str, tuple[tuple, list[ModelSpec]]]  # file -> (class lines, factories and entries)


def _analyse(sources: Sequence[SourceFile], options: Options, progress: Callable | None) -> list[FileFacts]:
    """Facts of every file: screened without importing, then analysed (cached, in workers, or statically)."""
    cache = Cache(options.cache_dir) if options.cache_dir else None
    results, screened = _screen_all(sources, cache)
    if options.static:
        for path, screening in screened.items():
            results[path] = replace(_analyse_source(path, screening.text), digest=screening.digest)
        return [results[s.path] for s in sources if s.path in results]
    everything = _local_imports(screened, cache)
    tasks = _tasks(screened, everything, options, results)
    keys = _cached(tasks, everything, options, cache, results)
    if tasks:
        for facts in _run_workers(tasks, sources, options, progress):
            results[facts.path] = facts
            if cache is not None and facts.path in keys and facts.digest == everything[facts.path].digest:
                cache.put(keys[facts.path], facts)
    for path, facts in results.items():
        if path in screened and facts.problem is not None and facts.problem.kind == "missing-dependency":
            results[path] = _static_fallback(facts, screened[path])
    in_order = [results.pop(s.path) for s in sources if s.path in results]
    return in_order + list(results.values())  # then files only configured entries brought in


def _screen_all(
    sources: Sequence[SourceFile], cache: Cache | None
) -> tuple[dict[str, FileFacts], dict[str, Screening]]:
    """(files that are done already: unreadable or unparsable, files screened for models)."""
    results: dict[str, FileFacts] = {}
    screened: dict[str, Screening] = {}
    for source in sources:
        try:
            with open(source.path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            problem = AnalysisProblem("decode-error", f"cannot read file: {error.strerror}")
            results[source.path] = FileFacts(source.path, problem=problem)
            continue
        screening = _screen(source.path, data, cache)
        if screening.problem is not None:
            results[source.path] = FileFacts(source.path, problem=screening.problem, digest=screening.digest)
        else:
            screened[source.path] = screening
    return results, screened


def _tasks(
    screened: dict[str, Screening], everything: dict[str, Screening], options: Options, results: dict[str, FileFacts]
) -> Tasks:
    """What each file needs built: its classes, its factories, the configured entries in it.

    Files with nothing to build, and entries that cannot be found, go to ``results``.
    """
    factories = _factories(everything)
    tasks: Tasks = {}
    for path, screening in screened.items():
        specs = [ModelSpec(name, name, (), line) for name, line, _ in screening.functions if (path, name) in factories]
        if screening.candidates or specs:
            tasks[path] = (screening.candidates, specs)
        else:
            results[path] = FileFacts(path, digest=screening.digest)
    for entry, path in _entry_files(options):
        if path is None:
            problem = AnalysisProblem(
                "import-error",
                f"cannot find module {entry.module!r} of models entry "
                f"'{entry.module}:{entry.attribute}' under {options.root or '.'}",
            )
            results.setdefault(
                f"<entry {entry.module}>", FileFacts(os.path.join(options.root, entry.module), problem=problem)
            )
            continue
        _, specs = tasks.setdefault(path, ((), []))
        specs[:] = [s for s in specs if s.attribute != entry.attribute]  # configured kwargs win
        specs.append(ModelSpec(entry.name, entry.attribute, entry.kwargs))
    return tasks


def _cached(
    tasks: Tasks, everything: dict[str, Screening], options: Options, cache: Cache | None, results: dict[str, FileFacts]
) -> dict[str, str]:
    """Move cached files from ``tasks`` to ``results``; the cache keys of those left to analyse."""
    keys: dict[str, str] = {}
    if cache is None:
        return keys
    for path, (lines, specs) in list(tasks.items()):
        if path not in everything:
            continue
        keys[path] = cache.key(path, [*_closure(path, everything), repr(lines), repr(specs), repr(options.device)])
        hit = cache.get(keys[path])
        if hit is not None:
            results[path] = hit
            del tasks[path]
    return keys


def _analyse_source(path: str, text: str) -> FileFacts:
    """Static facts of one file; a failure of the analyser is that file's problem, not the run's."""
    from .static import analyze_source

    try:
        return analyze_source(path, text)
    except RecursionError:
        return FileFacts(path, problem=AnalysisProblem("syntax-error", "cannot analyse: nested too deeply"))
    except Exception as error:  # an initlint bug: the other files are still checked
        return FileFacts(path, problem=AnalysisProblem("internal-error", f"{type(error).__name__}: {error}"))


def _static_fallback(failed: FileFacts, screening: Screening) -> FileFacts:
    """A file that cannot be imported (a missing dependency) is analysed from its source instead."""
    facts = _analyse_source(failed.path, screening.text)
    if facts.problem is not None or not facts.models:
        return failed
    reason = failed.problem.message.removeprefix("cannot import: ")
    models = tuple(
        replace(m, detail="; ".join(d for d in (f"{STATIC_FALLBACK}{reason}", m.detail) if d)) for m in facts.models
    )
    return replace(facts, models=models, digest=failed.digest or screening.digest)


def _run_workers(
    tasks: Tasks, sources: Sequence[SourceFile], options: Options, progress: Callable | None
) -> list[FileFacts]:
    try:
        from .dynamic.load import Task, analyse_files, preload

        preload()  # imports torch: only when there is a model to build
    except ImportError as error:  # torch is missing or broken: every file says so, nothing crashes
        problem = AnalysisProblem(
            "missing-dependency", f"cannot import torch ({error}): install torch, or use --static"
        )
        return [FileFacts(path, problem=problem) for path in tasks]
    user_files = tuple(dict.fromkeys([*(s.path for s in sources), *tasks]))
    work = [
        Task(path, user_files, options.timeout, lines, tuple(specs), options.device, options.root)
        for path, (lines, specs) in tasks.items()
    ]
    return analyse_files(work, options.jobs, progress, started=_import_libcst_meanwhile)


def _import_libcst_meanwhile() -> None:
    """Planning fixes needs libcst (0.2-0.3 s to import): import it while the workers run.

    Only once the workers are forked: a fork in the middle of an import would leave its locks held.
    """
    threading.Thread(target=importlib.import_module, args=("libcst",), daemon=True).start()


def _local_imports(screened: dict[str, Screening], cache: Cache | None) -> dict[str, Screening]:
    """The checked files and every local file they import, transitively, screened."""
    everything = dict(screened)
    queue = list(screened)
    while queue:
        path = queue.pop()
        for module, level, _ in everything[path].imports:
            imported = local_module(path, module, level)
            if imported is None or imported in everything:
                continue
            try:
                with open(imported, "rb") as handle:
                    everything[imported] = _screen(imported, handle.read(), cache)
            except OSError:
                continue
            queue.append(imported)
    return everything


def _closure(path: str, everything: dict[str, Screening]) -> list[str]:
    """Digests of the local files ``path`` imports, transitively (a cache key's dependencies)."""
    seen, queue = {path}, [path]
    while queue:
        for module, level, _ in everything[queue.pop()].imports:
            imported = local_module(path, module, level)
            if imported and imported in everything and imported not in seen:
                seen.add(imported)
                queue.append(imported)
    return sorted(f"{p}:{everything[p].digest}" for p in seen)


def _factories(everything: dict[str, Screening]) -> set[tuple[str, str]]:
    """Factory functions, knowing what the checked files' local imports define."""
    return model_factories(
        {(path, name): callees for path, s in everything.items() for name, _, callees in s.functions},
        {name for s in everything.values() for name, _ in s.candidates},
    )


def _entry_files(options: Options) -> list[tuple[Entry, str | None]]:
    return [(entry, resolve_entry(entry, options.root or os.getcwd())) for entry in options.entries]


def check_paths(paths: Sequence[str], options: Options = Options(), progress: Callable | None = None) -> Report:
    """Check every model under ``paths`` (and the configured entries)."""
    selection = collect_files(paths, options.exclude)
    sources = selection.files
    files = _analyse(sources, options, progress)
    files += [
        FileFacts(os.path.abspath(directory), problem=AnalysisProblem("decode-error", reason))
        for directory, reason in selection.unreadable
    ]
    report = judge(files, options, _Paths(sources, options.root))
    return replace(
        report,
        missing=tuple(selection.missing),
        notes=tuple(selection.notes),
        digests={f.path: f.digest for f in files if f.digest},
    )


def judge(files: Sequence[FileFacts], options: Options, paths: _Paths) -> Report:
    """Findings and model entries for analysed files."""
    components = {
        key for f in files for m in f.models if m.status not in (STATUS_ERROR, SKIPPED) for key in m.component_classes
    }
    findings: list[Finding] = []
    entries: list[ModelEntry] = []
    for f in files:
        shown = paths.show(f.path)
        if f.problem is not None:
            findings.append(_problem_finding(f.problem, f.path, None, 1, paths))
            entries.append(ModelEntry(shown, "", STATUS_ERROR, f.problem.message))
        fallback = next((m for m in f.models if m.detail.startswith(STATIC_FALLBACK)), None)
        if fallback is not None:
            reason = fallback.detail[len(STATIC_FALLBACK) :].split("; ")[0]
            span = Span(f.path, fallback.line, 1, fallback.line, 1)
            message = f"importing the file failed ({reason}); its models were analysed from source"
            findings.append(_plain_finding(catalogue.STATIC_FALLBACK, message, span, None, paths))
        for model in f.models:
            key = (os.path.normcase(os.path.abspath(model.path)), model.name)
            if key in components:
                entries.append(
                    ModelEntry(shown, model.name, SKIPPED, "building block of another checked model: judged inside it")
                )
                continue
            deadline = time.monotonic() + options.timeout
            view = ModelView(model, options.settings)
            entries.append(ModelEntry(shown, model.name, model.status, model.detail, _layer_rows(view)))
            findings.extend(_model_findings(model, view, paths, deadline))
    selected = [f for f in findings if _selected(f, options, paths)]
    kept, silenced = _suppressions(selected)
    digests = {f.path: f.digest for f in files if f.digest}
    memo = Cache(options.cache_dir) if options.cache_dir else None
    planned = plan_fixes(_grouped(kept), digests, paths, memo)
    return Report(
        tuple(sorted(planned, key=lambda f: f.sort_key)),
        tuple(entries),
        len(files),
        digests=digests,
        suppressed=tuple(sorted(_grouped(silenced), key=lambda f: f.sort_key)),
    )


def _suppressions(findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(kept, silenced by a suppression comment on one of the finding's lines)."""
    comments: dict[str, FileComments] = {}

    def of(path: str) -> FileComments:
        if path not in comments:
            try:
                with open(path, "rb") as handle:
                    comments[path] = parse_comments(decode_source(handle.read()))
            except (OSError, UnicodeDecodeError, SyntaxError, LookupError):
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


def _selected(finding: Finding, options: Options, paths: _Paths) -> bool:
    if not catalogue.matches(finding.code, options.select) or catalogue.matches(finding.code, options.ignore):
        return False
    if options.per_file_ignores:
        relative = paths.relative_to_root(os.path.abspath(finding.path))
        for pattern, codes in options.per_file_ignores:
            if fnmatch.fnmatch(relative, pattern) and catalogue.matches(finding.code, codes):
                return False
    return True


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
            )
        )
    return tuple(rows)


def _model_findings(model: ModelFacts, view: ModelView, paths: _Paths, deadline: float) -> list[Finding]:
    if model.status == STATUS_ERROR and model.error is not None:
        return [_problem_finding(model.error, model.path, model.name, model.line, paths)]
    if model.status == SKIPPED:
        rule = catalogue.MODEL_SKIPPED
        message = f"{model.name} was not checked: {model.detail}"
        return [_plain_finding(rule, message, Span(model.path, model.line, 1, model.line, 1), model.name, paths)]
    found = []
    if model.status == PARTIAL:
        message = f"{model.name}: {model.detail}"
        found.append(
            _plain_finding(
                catalogue.PARTIAL_TRACE, message, Span(model.path, model.line, 1, model.line, 1), model.name, paths
            )
        )
    for rule in catalogue.MODEL_RULES:
        for verdict in rule.check(view):
            found.append(_verdict_finding(rule, verdict, model, paths))
            if time.monotonic() > deadline:
                break
        if time.monotonic() > deadline:  # --timeout bounds judging too: say so, keep what was found
            message = f"judging {model.name} timed out at {rule.code}; later rules were not run"
            span = Span(model.path, model.line, 1, model.line, 1)
            found.append(_plain_finding(catalogue.BY_CODE["IL904"], message, span, model.name, paths))
            break
    return found


def _problem_finding(problem: AnalysisProblem, path: str, model: str | None, line: int, paths: _Paths) -> Finding:
    rule = catalogue.PROBLEM_RULES.get(problem.kind, catalogue.BY_CODE["IL907"])
    span = problem.span or Span(path, max(line, 1), 1, max(line, 1), 1)
    return _plain_finding(rule, problem.message, span, model, paths)


def _plain_finding(rule: Rule, message: str, span: Span, model: str | None, paths: _Paths) -> Finding:
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


def _verdict_finding(rule: Rule, verdict: Verdict, model: ModelFacts, paths: _Paths) -> Finding:
    layer = verdict.layer
    span = verdict.span or (layer.site if layer else None) or Span(model.path, model.line, 1, model.line, 1)
    param = verdict.parameter
    init = None
    if layer is not None:
        init_facts = layer.bias if param == "bias" else layer.weight
        init = init_facts.display if init_facts is not None else None
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=verdict.severity,
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
    )


def _grouped(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per place: a loop that built 8 layers is one line, naming them all.

    The message (and its numbers) is the first layer's; the layer prefix is added here.
    """
    groups: dict[tuple, list[Finding]] = {}
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
        prefix = f"{names[0]}{param} ({first.layer_type})"
        if len(names) > 1:
            others = ", ".join(names[1:4]) + (", ..." if len(names) > 4 else "")
            more = len(names) - 1
            prefix += f" and {more} more layer{'s' if more > 1 else ''} built here ({others})"
        merged.append(
            replace(
                first,
                message=f"{prefix}: {first.message}",
                layers=names,
                intent=merge_intents([f.intent for f in items]),
            )
        )
    return merged
