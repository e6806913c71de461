"""A cache of analysis results, so unchanged files are not imported or built again.

What is cached is a file's facts (what the worker learnt), not findings: rules,
selection and thresholds are applied afresh each run. The key covers all that
can change the facts: the file's bytes and path, the bytes of the local modules
it imports (transitively), the models asked of it, initlint's, torch's and
Python's versions, and the analysis options. Entries are written atomically; a
corrupt, unreadable or concurrently replaced entry is a miss, never an error.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pickle
import platform
import shutil
import sys
import tempfile
from typing import Any

from . import __version__
from .facts import FileFacts

FORMAT = "1"
DEFAULT_DIR = ".initlint_cache"
_NOT_CACHED = {"timeout", "crash", "internal-error"}  # depend on the machine's load, not on the code


def _torch_version() -> str:
    """The installed torch distribution's version, read from its dist-info directory name
    (importing torch takes seconds, importlib.metadata 40 ms; this takes one directory scan)."""
    for entry in sys.path:
        for found in glob.glob(os.path.join(entry or ".", "torch-*.dist-info")):
            return os.path.basename(found)[len("torch-"):-len(".dist-info")]
    return "none"


class Cache:
    def __init__(self, directory: str):
        self.directory = os.path.join(directory, f"v{FORMAT}")
        self._salt = "\0".join([FORMAT, __version__, _torch_version(), platform.python_version()])

    def key(self, path: str, parts: list[str]) -> str:
        """A key from the file's path and every other input that shapes its facts."""
        h = hashlib.sha256(self._salt.encode())
        for part in (os.path.abspath(path), *parts):
            h.update(b"\0" + part.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], f"{key}.pickle")

    def get(self, key: str) -> FileFacts | None:
        value = self.load(key)
        return value if isinstance(value, FileFacts) else None

    def put(self, key: str, facts: FileFacts) -> None:
        if cacheable(facts):
            self.store(key, facts)

    def load(self, key: str) -> Any:
        """Any cached value (None on a miss: missing, truncated, from another version)."""
        try:
            with open(self._path(key), "rb") as handle:
                return pickle.load(handle)
        except Exception:
            return None

    def store(self, key: str, value: Any) -> None:
        target = self._path(key)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, target)  # atomic: readers see the old entry or the new one
        except OSError:
            pass  # a read-only or full disk makes the run slower, not wrong


def cacheable(facts: FileFacts) -> bool:
    kinds = [facts.problem.kind] if facts.problem else []
    kinds += [m.error.kind for m in facts.models if m.error is not None]
    return not any(kind in _NOT_CACHED for kind in kinds)


def clean(directory: str) -> bool:
    """Remove a cache directory; True if there was one."""
    if not os.path.isdir(directory):
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return True
