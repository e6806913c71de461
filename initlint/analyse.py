"""Analyse: the planned files -> their facts (``shared.facts.FileFacts``), one per file.

Static mode reads each file's source (``static.analyze_source``), in forked
workers on up to ``-j`` cores when there is enough of it (``static.parallel``).
Full mode takes what the cache still holds and builds the rest in worker
processes (``dynamic.load``); a file whose import fails for a missing dependency
is then analysed from its source instead (the static fallback, IL909).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from .cache import Cache
from .callsites import built_as_called, call_sites_elsewhere, with_models_built_as_called
from .config import Entry
from .discover import Screening, SourceFile
from .options import Options
from .plan import Build, Plan, Screened, configured_entries
from .shared.facts import AnalysisProblem, FileFacts, ModelSpec, ProblemKind

if TYPE_CHECKING:  # judging imports the rules: only static mode and the report need them
    from .judge import Judging, Prepared

Progress = Callable[[int, int, str], None]  # (files done, files in all, the file just done)


def analyse_sources(screened: Screened, options: Options, judging: Judging | None = None) -> list[FileFacts]:
    """Static mode: every checked file from its source alone, on up to ``options.jobs`` cores; nothing is
    imported or built. The configured entries of the checked files are built with their keyword arguments.
    With ``judging``, each file is also judged where it is analysed (``Judging.prepare``)."""
    from .static.parallel import analyse_all, lost_facts  # imports the analysis: not needed by a full run

    settled: dict[str, FileFacts] = {}
    entries: dict[str, list[Entry]] = {}
    for path, entry in configured_entries(screened, options, settled):
        entries.setdefault(path, []).append(entry)

    def analyse(path: str, text: str) -> FileFacts | Prepared:
        facts = replace(analyse_source(path, text, entries.get(path, ())), digest=screened.readable[path].digest)
        return judging.prepare(facts) if judging is not None else facts

    readable = [(path, screening.text) for path, screening in screened.readable.items()]
    results = {**screened.settled, **settled}
    for result in analyse_all(readable, analyse, options.jobs, lost_facts):
        if not isinstance(result, FileFacts):
            assert judging is not None  # only judging prepares
            result = judging.adopt(result)
        results[result.path] = result
    for path, sites in call_sites_elsewhere(results.values(), screened, options).items():
        called = [Entry(path, name, site.kwargs) for name, site in sites.items()]
        facts = analyse_source(path, screened.readable[path].text, [*entries.get(path, ()), *called])
        facts = replace(built_as_called(facts, sites), digest=screened.readable[path].digest)
        results[path] = judging.adopt(judging.prepare(facts)) if judging is not None else facts
    return _in_order(results, screened.sources)


def analyse_builds(plan: Plan, options: Options, cache: Cache | None, progress: Progress | None) -> list[FileFacts]:
    """Full mode: each file's facts from the cache, else from building its models in a worker."""
    results = {**plan.screened.settled, **plan.settled}
    keys = {build.path: _cache_key(build, options, cache) for build in plan.builds}
    missed = []
    for build in plan.builds:
        key = keys[build.path]
        hit = cache.get(key) if cache is not None and key else None
        if hit is not None:
            results[build.path] = hit
        else:
            missed.append(build)
    if missed:
        digests = {build.path: build.digest for build in plan.builds}
        for facts in _run_workers(missed, plan.screened.sources, options, progress):
            results[facts.path] = facts
            key = keys.get(facts.path)
            if cache is not None and key and facts.digest == digests.get(facts.path):
                cache.put(key, facts)
    for path, facts in results.items():
        if path in plan.screened.readable and _falls_back(facts):
            results[path] = _static_fallback(facts, plan.screened.readable[path])
    _build_as_called_elsewhere(results, plan, options, cache, keys, progress)
    return _in_order(results, plan.screened.sources)


def _build_as_called_elsewhere(
    results: dict[str, FileFacts],
    plan: Plan,
    options: Options,
    cache: Cache | None,
    keys: Mapping[str, str | None],
    progress: Progress | None,
) -> None:
    """Full mode: the models skipped for want of arguments that a call site elsewhere builds, built with
    its arguments (``callsites``), from the cache when the file and the call sites are unchanged."""
    elsewhere = call_sites_elsewhere(results.values(), plan.screened, options)
    scripts = {build.path: build.script_classes for build in plan.builds}  # a script is run as its slice again
    digests = {build.path: build.digest for build in plan.builds}
    rebuild_keys: dict[str, str | None] = {}
    for path, sites in elsewhere.items():
        key = keys.get(path)
        rebuild_keys[path] = (
            cache.key(path, [key, "call-sites", repr(sorted(sites.items()))]) if cache and key else None
        )
    rebuilds = []
    for path, sites in elsewhere.items():
        key = rebuild_keys[path]
        hit = cache.get(key) if cache is not None and key else None
        if hit is not None:
            results[path] = with_models_built_as_called(results[path], hit, sites)
            continue
        specs = tuple(ModelSpec(name, name, site.kwargs, built_by="config") for name, site in sites.items())
        rebuilds.append(Build(path, (), specs, script_classes=scripts.get(path)))
    for rebuilt in _run_workers(rebuilds, plan.screened.sources, options, progress) if rebuilds else ():
        key = rebuild_keys.get(rebuilt.path)
        if cache is not None and key and rebuilt.digest == digests.get(rebuilt.path):  # not changed meanwhile
            cache.put(key, rebuilt)
        results[rebuilt.path] = with_models_built_as_called(results[rebuilt.path], rebuilt, elsewhere[rebuilt.path])


def analyse_source(path: str, text: str, entries: Sequence[Entry] = ()) -> FileFacts:
    """Static facts of one file (and of its configured ``entries``); a failure of the analyser is that
    file's problem, not the run's."""
    from .static import analyze_source  # not needed by a full or warm run: imported when used

    try:
        return analyze_source(path, text, entries)
    except RecursionError:
        return FileFacts(path, problem=AnalysisProblem(ProblemKind.SYNTAX_ERROR, "cannot analyse: nested too deeply"))
    except Exception as error:  # an initlint bug: the other files are still checked
        return FileFacts(path, problem=AnalysisProblem(ProblemKind.INTERNAL_ERROR, f"{type(error).__name__}: {error}"))


def _in_order(results: Mapping[str, FileFacts], sources: Sequence[SourceFile]) -> list[FileFacts]:
    """The checked files in the order found, then the files only configured entries brought in."""
    remaining = dict(results)
    in_order = [remaining.pop(s.path) for s in sources if s.path in remaining]
    return in_order + list(remaining.values())


def _cache_key(build: Build, options: Options, cache: Cache | None) -> str | None:
    """What the file's facts depend on: its bytes and its imports', the models asked, the device."""
    if cache is None or build.dependencies is None:
        return None
    root = options.for_file(build.path).root  # where the project's own imports are found
    parts = [*build.dependencies, repr(build.classes), repr(list(build.specs)), repr(options.device), root]
    return cache.key(build.path, parts)


def _falls_back(facts: FileFacts) -> bool:
    return _fallback_reason(facts) is not None


def _fallback_reason(facts: FileFacts) -> str | None:
    """Why a file is read instead of run, if it is: a dependency is missing, or a script's statements
    that build its models failed (run with no arguments, a required one was None)."""
    problem = facts.problem
    if problem is not None and problem.kind in (ProblemKind.MISSING_DEPENDENCY, ProblemKind.SCRIPT_FAILED):
        return f"importing the file failed ({problem.message.removeprefix('cannot import: ')})"
    for model in facts.models:
        if model.built_by == "call-site" and model.error is not None:
            where = model.built_at.line if model.built_at else model.line
            return f"building {model.name} as the script does (line {where}) failed ({model.error.message})"
    return None


def _static_fallback(failed: FileFacts, screening: Screening) -> FileFacts:
    """A file that cannot be run (a missing dependency, a failing script) is analysed from its source."""
    facts = analyse_source(failed.path, screening.text)
    reason = _fallback_reason(failed)
    if facts.problem is not None or reason is None:
        return failed
    missing_dependency = failed.problem is not None and failed.problem.kind == ProblemKind.MISSING_DEPENDENCY
    if not facts.models and not missing_dependency:
        return failed
    # A file that defines no model and imports an optional package that is not installed hides nothing:
    # it is reported as read from source, with no model (judge: IL909 as info), never as an error.
    return replace(facts, digest=failed.digest or screening.digest, static_fallback=reason)


def _run_workers(
    builds: Sequence[Build], sources: Sequence[SourceFile], options: Options, progress: Progress | None
) -> list[FileFacts]:
    """Build the models in worker processes; torch is imported there (the supervisor), never here."""
    from .dynamic.load import Task, analyse_files

    user_files = tuple(dict.fromkeys([*(s.path for s in sources), *(build.path for build in builds)]))
    work = [
        Task(
            build.path,
            user_files,
            options.for_file(build.path).timeout,
            build.classes,
            build.specs,
            options.device,
            options.for_file(build.path).root,
            build.script_classes,
        )
        for build in builds
    ]
    try:
        return analyse_files(work, options.jobs, progress, started=_import_libcst_meanwhile)
    except ImportError as error:  # torch is missing or broken: every file says so, nothing crashes
        problem = AnalysisProblem(
            ProblemKind.MISSING_DEPENDENCY, f"cannot import torch ({error}): install torch, or use --static"
        )
        return [FileFacts(build.path, problem=problem) for build in builds]


def _import_libcst_meanwhile() -> None:
    """Planning fixes needs libcst (0.2-0.3 s to import): import it while the supervisor imports torch.

    Only once the supervisor is forked: a fork in the middle of an import would leave its locks held.
    """
    threading.Thread(target=importlib.import_module, args=("libcst",), daemon=True).start()
