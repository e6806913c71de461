"""Plan: the paths on the command line -> the files to analyse, and the models to build from each.

Nothing is imported here. The paths are walked (``discover.collect_files``),
each file is read once and screened with ``ast`` (``discover.screen``: does it
define classes that may be models? does it parse?), remembered in the cache by
its bytes. For full mode, ``plan_builds`` then follows the local imports of the
checked files (to recognise factory functions, and to key the cache on every
file a result depends on) and adds the configured entries
(``[tool.initlint] models``) to the file that defines them. Static mode only
reads the files here: it parses each one once, where it analyses it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from .cache import Cache
from .config import Entry, resolve_entry
from .discover import Screening, SourceFile, collect_files, local_module, model_factories, read_source, screen
from .fix.apply import digest
from .gitignore import GitIgnored
from .notebook import is_notebook
from .options import Options
from .shared.facts import AnalysisProblem, FileFacts, ModelSpec, ProblemKind
from .shared.scripts import Build as ScriptBuild


@dataclass(frozen=True)
class Screened:
    """The files the paths select, read and screened without importing them."""

    sources: tuple[SourceFile, ...]  # the checked files, in the order they were found
    settled: Mapping[str, FileFacts]  # absolute path -> the result of a file that cannot be read or parsed
    readable: Mapping[str, Screening]  # absolute path -> the screening of every other checked file
    unlisted: tuple[FileFacts, ...] = ()  # directories that could not be listed, as problems
    missing: tuple[str, ...] = ()  # paths that do not exist, as given
    notes: tuple[str, ...] = ()  # what was skipped and why (non-regular files), one line each


@dataclass(frozen=True)
class Build:
    """One file to import in a worker, and the models to build from it."""

    path: str  # absolute
    classes: tuple[tuple[str, int], ...]  # model classes it defines: (name, line)
    specs: tuple[ModelSpec, ...]  # its factory functions and the configured entries it defines
    digest: str | None = None  # sha256 of the bytes screened; None for an entry's file that is not checked
    # "path:sha256" of the file and of the local files it imports, transitively: what its result
    # depends on (the cache key); None when the file was not screened (it is then not cached)
    dependencies: tuple[str, ...] | None = None
    # A script: the model classes its top-level builds call; it is run as a slice (``shared.scripts``)
    # that builds them. None: the file is imported as it is.
    script_classes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Plan:
    """What full mode analyses: the builds, and the results known without building anything."""

    screened: Screened
    settled: Mapping[str, FileFacts]  # files without a model, and configured entries that cannot be found
    builds: tuple[Build, ...]


def screen_paths(paths: Sequence[str], options: Options, cache: Cache | None) -> Screened:
    """The Python files under ``paths`` (minus what their configurations exclude and git ignores), each
    read and screened.

    Static mode only reads them (``discover.read_source``): it parses each file once, where it analyses it.
    """
    ignored = GitIgnored() if options.respect_gitignore else _nothing_ignored
    selection = collect_files(paths, options.excludes, ignored)
    settled: dict[str, FileFacts] = {}
    readable: dict[str, Screening] = {}
    for source in selection.files:
        try:
            with open(source.path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            problem = AnalysisProblem(ProblemKind.DECODE_ERROR, f"cannot read file: {error.strerror}")
            settled[source.path] = FileFacts(source.path, problem=problem)
            continue
        screening = read_source(source.path, data) if options.static else _screen(source.path, data, cache)
        if screening.problem is not None:
            settled[source.path] = FileFacts(source.path, problem=screening.problem, digest=screening.digest)
        else:
            readable[source.path] = screening
    unlisted = tuple(
        FileFacts(os.path.abspath(directory), problem=AnalysisProblem(ProblemKind.DECODE_ERROR, reason))
        for directory, reason in selection.unreadable
    )
    return Screened(
        tuple(selection.files), settled, readable, unlisted, tuple(selection.missing), tuple(selection.notes)
    )


def _nothing_ignored(path: str) -> bool:
    return False


def plan_builds(screened: Screened, options: Options, cache: Cache | None) -> Plan:
    """What each checked file needs built: its classes, its factories and the configured entries in it."""
    imported = _local_imports(screened.readable, cache)
    factories = _factories(imported)
    settled: dict[str, FileFacts] = {}
    wanted: dict[str, tuple[tuple[tuple[str, int], ...], list[ModelSpec]]] = {}
    scripts: dict[str, tuple[str, ...]] = {}
    for path, screening in screened.readable.items():
        specs = [
            ModelSpec(name, name, (), line) for name, line, _, _ in screening.builders if (path, name) in factories
        ]
        constructions = [b for b in screening.builds if _builds_a_model(path, b, screening, imported)]
        specs += _call_sites(constructions)
        if constructions or screening.works or is_notebook(path):  # a notebook's cells run as a script
            scripts[path] = tuple(sorted({b.model_class for b in constructions}))
        if screening.candidates or specs:
            wanted[path] = (screening.candidates, specs)
        else:
            settled[path] = FileFacts(path, digest=screening.digest)
    for entry_path, entry in configured_entries(screened, options, settled):
        _, specs = wanted.setdefault(entry_path, ((), []))
        specs[:] = [s for s in specs if s.attribute != entry.attribute]  # configured kwargs win
        specs.append(ModelSpec(entry.name, entry.attribute, entry.kwargs, built_by="config"))
    builds = tuple(
        Build(
            path,
            classes,
            tuple(specs),
            imported[path].digest if path in imported else None,
            _dependencies(path, imported) if path in imported else None,
            scripts.get(path),
        )
        for path, (classes, specs) in wanted.items()
    )
    return Plan(screened, settled, builds)


def configured_entries(
    screened: Screened, options: Options, settled: dict[str, FileFacts]
) -> Iterator[tuple[str, Entry]]:
    """The ``models`` entries of the configurations governing the checked files, each with its file, for
    the checked files only: a commit that touches one file is not blocked by a model in another. An entry
    whose module cannot be found is a problem of the configuration, reported once (in ``settled``), for the
    run's configuration and those governing checked files."""
    # The run's own configuration (the first path's) and those governing the checked files
    governing = [options, *(options.for_file(source.path) for source in screened.sources)]
    configurations = {own.root: own for own in governing}
    checked = {os.path.normcase(path) for path in screened.readable}
    for root, own in configurations.items():
        for entry in own.entries:
            entry_path = resolve_entry(entry, root)
            if entry_path is None:
                problem = AnalysisProblem(
                    ProblemKind.IMPORT_ERROR,
                    f"cannot find module {entry.module!r} of models entry '{entry.module}:{entry.attribute}' "
                    f"under {os.path.relpath(root)}",
                )
                settled.setdefault(
                    f"<entry {entry.module}>", FileFacts(os.path.join(root, entry.module), problem=problem)
                )
            elif os.path.normcase(entry_path) in checked:
                yield entry_path, entry


def _builds_a_model(path: str, build: ScriptBuild, screening: Screening, imported: Mapping[str, Screening]) -> bool:
    """Whether a top-level construction calls a model class: one this file defines, or one it imports
    by name from a project file that defines it. Nothing else is ever run as a build."""
    if build.model_class in {name for name, _ in screening.candidates}:
        return True
    for module, level, name in screening.imports:
        if name == build.model_class:
            source = local_module(path, module, level)
            if source is not None and source in imported and name in {c for c, _ in imported[source].candidates}:
                return True
    return False


def _call_sites(builds: Sequence[ScriptBuild]) -> list[ModelSpec]:
    """A model for each construction a script makes, named after its class (and variable, if the
    class is built more than once), replacing the class's own check."""
    counts = Counter(b.model_class for b in builds)
    return [
        ModelSpec(
            b.model_class if counts[b.model_class] == 1 else b.label,
            b.function,
            (),
            b.line,
            built_by="call-site",
            replaces=b.model_class,
        )  # fmt: skip
        for b in builds
    ]


def _screen(path: str, data: bytes, cache: Cache | None) -> Screening:
    """``discover.screen``, remembered by the file's bytes."""
    if cache is None:
        return screen(path, data)
    key = cache.key(path, ["screen", digest(data)])
    cached: Screening | None = cache.load(key, Screening)
    if cached is not None:
        return cached
    found = screen(path, data)
    cache.store(key, found)
    return found


def _local_imports(screened: Mapping[str, Screening], cache: Cache | None) -> dict[str, Screening]:
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


def _dependencies(path: str, everything: Mapping[str, Screening]) -> tuple[str, ...]:
    """ "path:sha256" of ``path`` and the local files it imports, transitively."""
    seen, queue = {path}, [path]
    while queue:
        importer = queue.pop()
        for module, level, _ in everything[importer].imports:
            imported = local_module(importer, module, level)
            if imported and imported in everything and imported not in seen:
                seen.add(imported)
                queue.append(imported)
    return tuple(sorted(f"{p}:{everything[p].digest}" for p in seen))


def _factories(everything: Mapping[str, Screening]) -> set[tuple[str, str]]:
    """Factory functions, knowing what the checked files' local imports define."""
    return model_factories(
        {(path, name): callees for path, s in everything.items() for name, _, callees, _ in s.builders},
        {(path, name) for path, s in everything.items() for name, _, _, callable_ in s.builders if callable_},
        {name for s in everything.values() for name, _ in s.candidates},
        {path: set(s.libraries) for path, s in everything.items()},
    )
