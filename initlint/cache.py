"""A cache of analysis results, so unchanged files are not imported or built again.

What is cached is a file's facts (what the worker learnt), its screening and
planned fix edits, never findings: rules, selection and thresholds are
applied afresh each run. The key covers what can change a result: the file's
path and bytes, the models asked of it, the analysis options, initlint's own
source, torch's and Python's versions. Facts also name every project file the
analysis loaded, with its digest: an entry is used only while all of them
are unchanged, however they were imported.

Entries are plain JSON whose shape is checked on read (``jsoncodec``), so a
planted or stale entry can never run code: it is a miss. The cache directory
holds a ``CACHEDIR.TAG`` marker (``clean`` removes only marked directories,
and only the files initlint wrote there) and a ``.gitignore`` of ``*``.
"""

from __future__ import annotations

import glob
import hashlib
import os
import platform
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from . import jsoncodec
from .shared.facts import FileFacts, ProblemKind

FORMAT = "2"
DEFAULT_DIR = ".initlint_cache"
MARKER = "CACHEDIR.TAG"
# The Cache Directory Tagging Specification's signature (backup tools skip such folders),
# then a line saying whose cache it is: `clean` requires both.
_MARKER_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This directory is a cache created by initlint; `initlint clean` removes it.\n"
)
_OWNER_LINE = "created by initlint"
# Problems that depend on the machine or the moment, not on the code: analysed again next time.
_NOT_CACHED = frozenset(
    {
        ProblemKind.TIMEOUT,
        ProblemKind.CRASH,
        ProblemKind.INTERNAL_ERROR,
        ProblemKind.MISSING_DEPENDENCY,
        ProblemKind.IMPORT_ERROR,
    }
)


def _torch_version() -> str:
    """The installed torch distribution's version, read from its dist-info directory name
    (importing torch takes seconds, importlib.metadata 40 ms; this takes one directory scan)."""
    for entry in sys.path:
        for found in glob.glob(os.path.join(entry or ".", "torch-*.dist-info")):
            return os.path.basename(found)[len("torch-") : -len(".dist-info")]
    return "none"


def _own_source_digest() -> str:
    """initlint's own code: an edited initlint never serves facts an older one computed."""
    package = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(package, "**", "*.py"), recursive=True)):
        h.update(os.path.relpath(path, package).encode() + b"\0")
        with open(path, "rb") as handle:
            h.update(hashlib.sha256(handle.read()).digest())
    return h.hexdigest()


def file_digest(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


class Cache:
    def __init__(self, directory: str):
        self.root = directory
        self.directory = os.path.join(directory, f"v{FORMAT}")
        self._salt = "\0".join([FORMAT, _own_source_digest(), _torch_version(), platform.python_version()])

    def key(self, path: str, parts: Sequence[str]) -> str:
        """A key from the file's path and every other input that shapes its result."""
        h = hashlib.sha256(self._salt.encode())
        for part in (os.path.abspath(path), *parts):
            h.update(b"\0" + part.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], f"{key}.json")

    def get(self, key: str) -> FileFacts | None:
        """Cached facts, if every project file they were learnt from is unchanged."""
        facts: FileFacts | None = self.load(key, FileFacts)
        if facts is None or any(file_digest(path) != digest for path, digest in facts.loaded):
            return None
        return facts

    def put(self, key: str, facts: FileFacts) -> None:
        if cacheable(facts):
            self.store(key, facts)

    def load(self, key: str, kind: Any) -> Any:
        """The cached value of type ``kind``, or None on a miss (missing, truncated, another shape)."""
        try:
            with open(self._path(key), "rb") as handle:
                found_key, value = jsoncodec.loads(handle.read(), tuple[str, kind])
        except (OSError, jsoncodec.ShapeError, TypeError):
            return None
        return value if found_key == key else None  # an entry moved from another key

    def store(self, key: str, value: object) -> None:
        target = self._path(key)
        try:
            self._prepare()
            os.makedirs(os.path.dirname(target), exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(jsoncodec.dumps((key, value)))
                os.replace(temporary, target)  # atomic: readers see the old entry or the new one
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass  # a read-only or full disk makes the run slower, not wrong

    def _prepare(self) -> None:
        """The marker that makes the folder initlint's, and a .gitignore so git never sees it."""
        marker = os.path.join(self.root, MARKER)
        if os.path.isfile(marker):
            return
        os.makedirs(self.root, exist_ok=True)
        for name, text in ((".gitignore", "# Created by initlint.\n*\n"), (MARKER, _MARKER_TEXT)):
            with open(os.path.join(self.root, name), "w", encoding="utf-8") as handle:
                handle.write(text)


def cacheable(facts: FileFacts) -> bool:
    kinds = [facts.problem.kind] if facts.problem else []
    kinds += [m.error.kind for m in facts.models if m.error is not None]
    return not any(kind in _NOT_CACHED for kind in kinds)


class NotACache(Exception):
    """``clean`` was pointed at a directory initlint did not create."""


def is_cache(directory: str) -> bool:
    try:
        with open(os.path.join(directory, MARKER), encoding="utf-8") as handle:
            return _OWNER_LINE in handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False


def _ours(relative: str) -> bool:
    """An entry initlint writes in its cache folder (``v2/ab/<key>.json``) or its temporary."""
    parts = relative.split(os.sep)
    return len(parts) == 3 and parts[0].startswith("v") and parts[-1].endswith((".json", ".tmp"))


def clean(directory: str) -> bool:
    """Remove a cache directory initlint created; True if there was one.

    Raises NotACache for a directory without initlint's marker. Only files
    initlint writes are removed: anything else found inside is left, with the
    folders holding it and the marker.
    """
    if not os.path.lexists(directory):
        return False
    if os.path.islink(directory) or not os.path.isdir(directory) or not is_cache(directory):
        raise NotACache(f"{directory} is not an initlint cache (no {MARKER} written by initlint): nothing removed")
    for folder, subfolders, files in os.walk(directory, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if folder != directory and _ours(os.path.relpath(path, directory)) and not os.path.islink(path):
                os.unlink(path)
        for name in subfolders:
            try:
                os.rmdir(os.path.join(folder, name))
            except OSError:
                pass  # holds something initlint did not write, or is a link
    if set(os.listdir(directory)) <= {MARKER, ".gitignore"}:
        for name in (".gitignore", MARKER):
            if os.path.isfile(os.path.join(directory, name)):
                os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
    return True
