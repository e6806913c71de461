"""``[tool.initlint]`` in pyproject.toml: found, parsed and validated here.

Every key is checked: an unknown key or a bad value is a ``ConfigError``
(the CLI's exit code 2), never silently ignored.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from . import rules as catalogue
from .findings import SEVERITIES
from .rules.base import Settings


class ConfigError(Exception):
    """A configuration problem, with the file and key in the message."""


@dataclass(frozen=True)
class Entry:
    """A configured model: ``module:attribute`` called with ``kwargs``."""

    module: str  # dotted module or a path to a .py file, relative to the config's directory
    attribute: str  # a class or factory, possibly dotted (``Outer.build``)
    kwargs: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        if not self.kwargs:
            return self.attribute
        return f"{self.attribute}({', '.join(f'{k}={v!r}' for k, v in self.kwargs)})"


@dataclass(frozen=True)
class Config:
    path: str | None = None  # the pyproject.toml it came from
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: str | None = None
    timeout: float | None = None
    models: tuple[Entry, ...] = ()
    require_all_models: bool = False  # a model initlint could not build fails the run (IL908 as an error)
    settings: Settings = field(default_factory=Settings)

    @property
    def root(self) -> str:
        return os.path.dirname(self.path) if self.path else os.getcwd()


_KEYS = {"select", "ignore", "extend-select", "per-file-ignores", "exclude", "fail-on", "timeout", "models",
         "require-all-models", "thresholds"}  # fmt: skip


# Configuration files that hold initlint's keys at their top level, preferred in this order over a
# pyproject.toml in the same directory (as ruff prefers .ruff.toml and ruff.toml).
STANDALONE = (".initlint.toml", "initlint.toml")


def find_config(paths: Iterable[str]) -> str | None:
    """The nearest .initlint.toml, initlint.toml or pyproject.toml with a [tool.initlint] table, walking
    up from the paths."""
    starts = [os.path.abspath(p) for p in paths] or [os.getcwd()]
    for start in starts:
        directory = start if os.path.isdir(start) else os.path.dirname(start)
        while True:
            for name in STANDALONE:
                if os.path.isfile(os.path.join(directory, name)):
                    return os.path.join(directory, name)
            candidate = os.path.join(directory, "pyproject.toml")
            if os.path.isfile(candidate) and _has_table(candidate):
                return candidate
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    return None


def _has_table(path: str) -> bool:
    """Whether the file configures initlint; a broken file that mentions it does (load reports it)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    try:
        return "initlint" in tomllib.loads(data.decode("utf-8", "replace")).get("tool", {})
    except tomllib.TOMLDecodeError:
        return b"tool.initlint" in data


def load_config(path: str | None) -> Config:
    """Parse a configuration file; Config() when path is None.

    A pyproject.toml (or any file with a ``[tool.initlint]`` table) is read from
    that table and must have it; an initlint.toml, .initlint.toml or other file
    given with ``--config`` holds the keys at its top level.
    """
    if path is None:
        return Config()
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from error
    tool = document.get("tool", {})
    nested = isinstance(tool, dict) and "initlint" in tool
    if os.path.basename(path) in STANDALONE:
        if nested:
            raise ConfigError(
                f"{path}: keys go at the top level of {os.path.basename(path)}, not under [tool.initlint]"
            )
        return parse_table(document, path, section="")
    if not nested:
        if os.path.basename(path) == "pyproject.toml":
            raise ConfigError(f"{path}: no [tool.initlint] table")
        return parse_table(document, path, section="")
    table = tool["initlint"]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.initlint] must be a table")
    return parse_table(table, path)


def parse_table(table: dict[str, Any], path: str, section: str = "[tool.initlint]") -> Config:
    """The settings of a table of initlint's keys (``section`` names it in errors)."""
    where = f"{path}: {section}" if section else path
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ConfigError(f"{where}: fail-on must be one of {', '.join(SEVERITIES)}, not {fail_on!r}")
    timeout = table.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ConfigError(f"{where}: timeout must be a positive number of seconds, not {timeout!r}")
    require_all = table.get("require-all-models", False)
    if not isinstance(require_all, bool):
        raise ConfigError(f"{where}: require-all-models must be true or false, not {require_all!r}")
    return Config(
        path=path,
        select=_selectors(table, "select", where),
        ignore=_selectors(table, "ignore", where),
        extend_select=_selectors(table, "extend-select", where),
        per_file_ignores=_per_file_ignores(table.get("per-file-ignores", {}), where),
        exclude=_strings(table, "exclude", where),
        fail_on=fail_on,
        timeout=float(timeout) if timeout is not None else None,
        models=tuple(_entry(item, where) for item in _list(table, "models", where)),
        require_all_models=require_all,
        settings=_settings(table.get("thresholds", {}), where),
    )


def _list(table: dict[str, Any], key: str, where: str) -> list[Any]:
    value = table.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key} must be a list")
    return value


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _list(table, key, where)
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(values)


def _selectors(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _strings(table, key, where)
    check_selectors(values, f"{where}: {key}")
    return values


def check_selectors(values: Iterable[str], where: str) -> None:
    unknown = [v for v in values if not catalogue.known_selector(v)]
    if unknown:
        raise ConfigError(f"{where}: unknown rule code or prefix {unknown[0]!r} (see `initlint rules`)")


def _per_file_ignores(value: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: per-file-ignores must be a table of glob = [codes]")
    found = []
    for pattern, codes in value.items():
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ConfigError(f"{where}: per-file-ignores.{pattern!r} must be a list of rule codes")
        check_selectors(codes, f"{where}: per-file-ignores.{pattern!r}")
        found.append((pattern, tuple(codes)))
    return tuple(found)


def _entry(item: Any, where: str) -> Entry:
    kwargs: dict[str, Any] = {}
    if isinstance(item, dict):
        unknown = sorted(set(item) - {"entry", "kwargs"})
        if unknown or "entry" not in item:
            raise ConfigError(f"{where}: a models table needs 'entry' (and optional 'kwargs'), got {sorted(item)}")
        kwargs = item.get("kwargs", {})
        if not isinstance(kwargs, dict):
            raise ConfigError(f"{where}: kwargs of {item['entry']!r} must be a table")
        item = item["entry"]
    if not isinstance(item, str) or item.count(":") != 1 or not all(item.split(":")):
        raise ConfigError(f"{where}: models entries look like 'package.module:factory', not {item!r}")
    module, attribute = item.split(":")
    return Entry(module, attribute, tuple(sorted(kwargs.items())))


def _settings(value: Any, where: str) -> Settings:
    """``[tool.initlint.thresholds]``: the keys are those the rules declare (``Rule.thresholds``)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: thresholds must be a table")
    known = catalogue.THRESHOLDS
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown threshold {unknown[0]!r} (known: {', '.join(sorted(known))})")
    chosen = []
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number <= 1:
            raise ConfigError(f"{where}: thresholds.{key} must be a number greater than 1, not {number!r}")
        chosen.append((key, float(number)))
    return Settings(tuple(chosen))


def suggest_entry(path: str, attribute: str, needs: Iterable[str], root: str) -> str:
    """The ``models`` item that would build ``attribute`` of the file at ``path``, as TOML to paste, its
    arguments left for the user to fill in: ``{ entry = "pkg.nets:Net", kwargs = { depth = ... } }``.
    ``resolve_entry`` finds the file again: a dotted module under ``root`` (or ``root/src``), else a path."""
    relative = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    module = relative
    parts = relative.removeprefix("src/").removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    if relative.endswith(".py") and parts and all(p.isidentifier() for p in parts) and not relative.startswith(".."):
        module = ".".join(parts)
    kwargs = ", ".join(f"{name} = ..." for name in needs)
    text = f'{{ entry = "{module}:{attribute}"'
    return text + (f", kwargs = {{ {kwargs} }} }}" if kwargs else " }")


def resolve_entry(entry: Entry, root: str) -> str | None:
    """The file an entry's module lives in, searched under the config's directory (and src/)."""
    if entry.module.endswith(".py") or "/" in entry.module:
        path = os.path.join(root, entry.module)
        return os.path.abspath(path) if os.path.isfile(path) else None
    parts = entry.module.split(".")
    for base in (root, os.path.join(root, "src")):
        for candidate in (os.path.join(base, *parts) + ".py", os.path.join(base, *parts, "__init__.py")):
            if os.path.isfile(candidate):
                return os.path.abspath(candidate)
    return None
