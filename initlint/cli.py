"""The ``initlint`` command: click wiring only."""

from __future__ import annotations

import sys

import click

from . import __version__
from . import rules as catalogue
from .config import Config, ConfigError, check_selectors, find_config, load_config
from .engine import DEFAULT_JOBS, DEFAULT_TIMEOUT, Options, check_paths
from .findings import SEVERITIES, severity_rank
from .report import FORMATS, STATISTICS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="initlint")
def main() -> None:
    """Lint PyTorch models for weight-initialization mistakes."""


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(s.strip() for v in values for s in v.split(",") if s.strip())


def _options(config: Config, select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...],
             exclude: tuple[str, ...], timeout: float | None, jobs: int) -> Options:
    """Command-line flags over the configuration file over the defaults."""
    for values, flag in ((select, "--select"), (extend_select, "--extend-select"), (ignore, "--ignore")):
        check_selectors(values, flag)
    chosen = select or config.select or ("ALL",)
    return Options(
        exclude=(*config.exclude, *exclude),
        select=(*chosen, *config.extend_select, *extend_select),
        ignore=(*config.ignore, *ignore),
        per_file_ignores=config.per_file_ignores,
        timeout=timeout or config.timeout or DEFAULT_TIMEOUT,
        jobs=jobs,
        settings=config.settings,
        entries=config.models,
        root=config.root,
    )


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(sorted(FORMATS)), default="text", show_default=True,
              help="Output format.")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to a file instead of stdout.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="pyproject.toml to read [tool.initlint] from (default: the nearest one above PATHS).")
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (default: all).")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable on top of the selection.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and directories matching GLOB.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help=f"Seconds a file's import, or a model's build and trace, may take [default: {DEFAULT_TIMEOUT:g}].")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=DEFAULT_JOBS, show_default=True,
              help="Worker processes.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default=None,
              help="Lowest severity that makes the exit code 1 [default: warning].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--statistics", is_flag=True, help="Show a count per rule instead of the findings.")
def check(paths: tuple[str, ...], output_format: str, output_file: str | None, config_path: str | None,
          select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...], exclude: tuple[str, ...],
          timeout: float | None, jobs: int, fail_on: str | None, exit_zero: bool, statistics: bool) -> None:
    """Check the models defined under PATHS (default: the current directory)."""
    paths = paths or (".",)
    try:
        config = load_config(config_path or find_config(paths))
        options = _options(config, _codes(select), _codes(extend_select), _codes(ignore), exclude, timeout, jobs)
    except ConfigError as error:
        click.echo(f"initlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    try:
        report = check_paths(paths, options)
    except Exception as error:  # a bug in initlint: one line, exit 2, never a traceback
        click.echo(f"initlint: internal error: {type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_ERROR)
    for path in report.missing:
        click.echo(f"initlint: error: {path}: no such file or directory", err=True)
    rendered = STATISTICS(report) if statistics else FORMATS[output_format](report)
    if output_file:
        with open(output_file, "w", encoding="utf-8") as handle:
            handle.write(rendered + ("\n" if rendered else ""))
    elif rendered:
        click.echo(rendered)
    if report.missing:
        sys.exit(EXIT_ERROR)
    threshold = severity_rank(fail_on or config.fail_on or "warning")
    failing = any(severity_rank(f.severity) >= threshold for f in report.findings)
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
