"""The ``initlint`` command: click wiring only."""

from __future__ import annotations

import sys

import click

from . import __version__
from . import rules as catalogue
from .engine import DEFAULT_JOBS, Options, check_paths
from .findings import SEVERITIES, severity_rank
from .report import FORMATS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _selectors(values: tuple[str, ...]) -> tuple[str, ...]:
    found = tuple(s.strip() for v in values for s in v.split(",") if s.strip())
    unknown = [s for s in found if not catalogue.known_selector(s)]
    if unknown:
        raise click.BadParameter(f"unknown rule code or prefix: {', '.join(unknown)} (see `initlint rules`)")
    return found


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="initlint")
def main() -> None:
    """Lint PyTorch models for weight-initialization mistakes."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(sorted(FORMATS)), default="text", show_default=True,
              help="Output format.")
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (default: all).")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and directories matching GLOB.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds a file's import, or a model's build and trace, may take.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=DEFAULT_JOBS, show_default=True,
              help="Worker processes.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="warning", show_default=True,
              help="Lowest severity that makes the exit code 1.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
def check(paths: tuple[str, ...], output_format: str, select: tuple[str, ...], ignore: tuple[str, ...],
          exclude: tuple[str, ...], timeout: float, jobs: int, fail_on: str, exit_zero: bool) -> None:
    """Check the models defined under PATHS (default: the current directory)."""
    options = Options(
        exclude=exclude,
        select=_selectors(select) or ("ALL",),
        ignore=_selectors(ignore),
        timeout=timeout,
        jobs=jobs,
    )
    try:
        report = check_paths(paths or (".",), options)
    except Exception as error:  # a bug in initlint: one line, exit 2, never a traceback
        click.echo(f"initlint: internal error: {type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_ERROR)
    for path in report.missing:
        click.echo(f"initlint: error: {path}: no such file or directory", err=True)
    click.echo(FORMATS[output_format](report))
    if report.missing:
        sys.exit(EXIT_ERROR)
    failing = any(severity_rank(f.severity) >= severity_rank(fail_on) for f in report.findings)
    sys.exit(EXIT_FINDINGS if failing and not exit_zero else EXIT_CLEAN)


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Show the documentation of a rule (by code or name)."""
    found = catalogue.find(code)
    if found is None:
        click.echo(f"initlint: error: unknown rule {code!r} (see `initlint rules`)", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(found.doc())


@main.command(name="rules")
def list_rules() -> None:
    """List every rule: code, name, severity, summary."""
    for r in catalogue.RULES:
        click.echo(f"{r.code}  {r.name:<22} {r.severity:<8} {r.summary}")
