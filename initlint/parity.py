"""How ``initlint check`` lines up with ``ruff check``: the docs' parity table, generated from the CLI's own
options so it cannot drift (a new option without a row here fails the tests)."""

from __future__ import annotations

import click

# initlint's option (its first spelling) -> (ruff's equivalent, or "" where ruff has none; what differs)
RUFF_EQUIVALENTS: dict[str, tuple[str, str]] = {
    "--output-format": ("--output-format", "text, json, sarif, github, junit, html; `--format` is an alias"),
    "-o": ("-o, --output-file", "never coloured"),
    "--config": ("--config", "a pyproject.toml or initlint.toml for every file; default: each file's nearest"),
    "--select": ("--select", "codes or prefixes (`IL1`), comma-separated or repeated"),
    "--extend-select": ("--extend-select", ""),
    "--ignore": ("--ignore", ""),
    "--exclude": ("--exclude", "globs on names or paths; a path glob is relative to the working directory"),
    "--timeout": ("", "seconds a file's import or a model's build and trace may take"),
    "-j": ("", "worker processes (ruff sizes its thread pool itself)"),
    "--fail-on": ("", "lowest severity that fails the run (ruff has no severities)"),
    "--require-all-models": ("", "a model that could not be built fails the run"),
    "--exit-zero": ("-e, --exit-zero", ""),
    "--statistics": ("--statistics", "honours `--output-format json`"),
    "--color": ("--color", "also NO_COLOR and FORCE_COLOR"),
    "--fix": ("--fix", "safe fixes only; fixes are planned with libcst, atomic and idempotent"),
    "--unsafe-fixes": ("--unsafe-fixes", ""),
    "--diff": ("--diff", "exit 1 when there is a diff"),
    "--show-fixes": ("--show-fixes", ""),
    "--fix-only": ("--fix-only", ""),
    "--exit-non-zero-on-fix": ("--exit-non-zero-on-fix", ""),
    "--show-suppressed": ("", "report what suppression comments silenced"),
    "--show-signal": ("", "a sparkline per model of the signal through its layers"),
    "--static": ("", "source only: never import the checked code or torch"),
    "--device": ("", "where models are built: auto, cpu, meta"),
    "--stdin-filename": ("--stdin-filename", "with `-` as the path"),
    "--respect-gitignore": ("--respect-gitignore", "on by default, as ruff's; `--no-respect-gitignore` turns it off"),
    "--no-cache": ("-n, --no-cache", ""),
    "--cache-dir": ("--cache-dir", ""),
    "-q": ("-q, --quiet", "the findings only"),
    "-v": ("-v, --verbose", "which configuration governs each file, and timings, on stderr"),
}


def parity_markdown(command: click.Command) -> str:
    """The table for docs/ruff-parity.md: one row per option of ``command``, in the order ``--help`` lists."""
    lines = [
        "# `initlint check` and `ruff check`",
        "",
        "Generated from the CLI's options by `initlint.parity` (pinned by tests/test_docs.py): every option of",
        "`initlint check`, the ruff 0.17 option that does the same, and what differs.",
        "",
        "| initlint | ruff | note |",
        "|---|---|---|",
    ]
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        spelled = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        ruff, note = RUFF_EQUIVALENTS[param.opts[0]]
        lines.append(f"| {spelled} | {f'`{ruff}`' if ruff else '-'} | {note} |")
    return "\n".join(lines) + "\n"
