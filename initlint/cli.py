"""The ``initlint`` command: click wiring only."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from dataclasses import replace

import click

from . import __version__
from . import rules as catalogue
from .api import check_paths, check_source
from .cache import DEFAULT_DIR as DEFAULT_CACHE_DIR
from .cache import NotACache
from .cache import clean as clean_cache
from .config import Config, ConfigError, check_selectors, find_config, load_config
from .findings import SEVERITIES, severity_rank
from .fix.apply import FileChange, Unfixable, confine, prepare, write
from .options import DEFAULT_JOBS, DEFAULT_TIMEOUT, Options
from .report import FORMATS, renderer
from .report.model import Report
from .report.statistics import render_json as render_statistics_json

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it; never the "findings" code


class _Command(click.Group):
    """Interrupts and a vanished working directory end in one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            os.getcwd()
        except FileNotFoundError:
            click.echo("initlint: error: the current directory no longer exists", err=True)
            sys.exit(EXIT_ERROR)
        previous = signal.signal(signal.SIGTERM, _terminated)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as interrupt:
            click.echo("\ninitlint: interrupted", err=True)
            sys.exit(128 + signal.SIGTERM if isinstance(interrupt, _Terminated) else EXIT_INTERRUPTED)
        finally:
            signal.signal(signal.SIGTERM, previous)


class _Terminated(KeyboardInterrupt):
    """SIGTERM unwinds like an interrupt: workers are stopped and temporary files removed."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


@click.group(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="initlint")
def main() -> None:
    """Lint PyTorch models for weight-initialization mistakes.

    By default `initlint check` imports the checked files and runs their model
    constructors (in worker processes): only check code you trust that way.
    `initlint check --static` reads the source only and never runs it.
    """


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(s.strip() for v in values for s in v.split(",") if s.strip())


def _options(
    config: Config,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    timeout: float | None,
    jobs: int,
) -> Options:
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
        require_all_models=config.require_all_models,
        root=config.root,
    )


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option(
    "--output-format",
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format (--format is the same).",
)
@click.option(
    "-o",
    "--output-file",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the report to a file instead of stdout.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="pyproject.toml to read [tool.initlint] from (default: the nearest one above PATHS).",
)
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (default: all).")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable on top of the selection.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and directories matching GLOB.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help=f"Seconds a file's import, or a model's build and trace, may take [default: {DEFAULT_TIMEOUT:g}].",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(min=1), default=DEFAULT_JOBS, show_default=True, help="Worker processes."
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default=None,
    help="Lowest severity that makes the exit code 1 [default: warning].",
)
@click.option(
    "--require-all-models",
    is_flag=True,
    help="Fail when a model cannot be built (IL908 becomes an error); config: require-all-models = true.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--statistics", is_flag=True, help="Show a count per rule instead of the findings.")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the text output (auto: on a terminal, unless NO_COLOR is set or FORCE_COLOR is).",
)
@click.option("--fix", is_flag=True, help="Apply safe fixes, then report what remains.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (or show) fixes marked unsafe.")
@click.option("--diff", is_flag=True, help="Print the fixes as unified diffs; write nothing (exit 1 if any).")
@click.option("--show-fixes", is_flag=True, help="List the fixes applied (with --fix) or available.")
@click.option("--show-suppressed", is_flag=True, help="Also report findings silenced by suppression comments.")
@click.option(
    "--static",
    "static_mode",
    is_flag=True,
    help="Analyse source only: never import your code or torch (what the initlint-static hook runs).",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "meta"]),
    default="auto",
    show_default=True,
    help="Where models are built: meta needs no memory (inits are judged analytically); auto uses meta "
    "when building on the CPU would allocate more than 50M elements.",
)
@click.option(
    "--stdin-filename",
    metavar="PATH",
    default=None,
    help="With PATHS '-': the file the source read from stdin is (for messages, excludes and config).",
)
@click.option("--no-cache", is_flag=True, help="Analyse every file again, ignoring and not writing the cache.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help=f"Where results are cached [default: {DEFAULT_CACHE_DIR} next to the configuration, or here].",
)
def check(
    paths: tuple[str, ...],
    output_format: str,
    output_file: str | None,
    config_path: str | None,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    timeout: float | None,
    jobs: int,
    fail_on: str | None,
    require_all_models: bool,
    exit_zero: bool,
    statistics: bool,
    color: str,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    show_fixes: bool,
    show_suppressed: bool,
    static_mode: bool,
    device: str,
    no_cache: bool,
    cache_dir: str | None,
    stdin_filename: str | None,
) -> None:
    """Check the models defined under PATHS (default: the current directory).

    This imports the files and runs their models' constructors and forwards (in
    worker processes); use --static for code you would not run.
    """
    paths = paths or (".",)
    if output_file:
        _check_writable(output_file)
    try:
        located = (stdin_filename,) if paths == ("-",) and stdin_filename else paths  # stdin: its file's config
        config = load_config(config_path or find_config(located))
        options = _options(config, _codes(select), _codes(extend_select), _codes(ignore), exclude, timeout, jobs)
    except ConfigError as error:
        click.echo(f"initlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    options = replace(options, device=device, static=static_mode)
    if require_all_models:
        options = replace(options, require_all_models=True)
    if not no_cache:
        options = replace(options, cache_dir=cache_dir or os.path.join(config.root, DEFAULT_CACHE_DIR))
    if paths == ("-",):  # an editor's buffer: read from stdin, analysed from source
        if fix or diff:
            click.echo("initlint: error: --fix and --diff need files, not stdin", err=True)
            sys.exit(EXIT_ERROR)
        report = check_source(sys.stdin.read(), stdin_filename or "stdin.py", options)
    else:
        report = _run(paths, options)
    for path in report.missing:
        click.echo(f"initlint: error: {path}: no such file or directory", err=True)
    for note in report.notes:
        click.echo(f"initlint: warning: {note}", err=True)
    if diff:
        changes = _changes(report, unsafe_fixes, paths)
        click.echo("".join(change.diff() for change in changes), nl=False)
        sys.exit(EXIT_FINDINGS if changes else (EXIT_ERROR if report.missing else EXIT_CLEAN))
    fixed: list[FileChange] = []
    if fix:
        fixed = _apply(_changes(report, unsafe_fixes, paths))
        if fixed:
            report = _run(paths, options)  # what remains, judged on the files as they are now
    if show_fixes:
        _show_fixes(fixed if fix else None, report, unsafe_fixes)
    if show_suppressed:
        report = replace(
            report,
            findings=tuple(
                sorted(
                    [*report.findings, *(replace(f, message=f"{f.message} (suppressed)") for f in report.suppressed)],
                    key=lambda f: f.sort_key,
                )
            ),
            suppressed=(),
        )
    if statistics:
        rendered = render_statistics_json(report) if output_format == "json" else renderer("statistics")(report)
    elif output_format == "text":
        fixed_count = sum(len(c.fixed) for c in fixed) if fix else None
        rendered = renderer("text")(report, unsafe_fixes=unsafe_fixes, fixed=fixed_count)
    else:
        rendered = renderer(output_format)(report)
    if output_file:
        rendered = click.unstyle(rendered)  # a file never gets colour codes
        try:
            with open(output_file, "w", encoding="utf-8") as handle:
                handle.write(rendered + ("\n" if rendered else ""))
        except OSError as error:
            click.echo(f"initlint: error: cannot write {output_file}: {error.strerror}", err=True)
            sys.exit(EXIT_ERROR)
    elif rendered:
        click.echo(rendered, color=_colour(color))
    if report.missing:
        sys.exit(EXIT_ERROR)
    threshold = severity_rank(fail_on or config.fail_on or "warning")
    failing = any(severity_rank(f.severity) >= threshold for f in report.findings)
    sys.exit(EXIT_FINDINGS if failing and not exit_zero else EXIT_CLEAN)


def _colour(choice: str) -> bool | None:
    """``--color``: always or never; auto is a terminal's, unless NO_COLOR or FORCE_COLOR says otherwise."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return None  # click: colour on a terminal only


def _check_writable(output_file: str) -> None:
    """Before minutes of analysis: the report's folder must exist and take a file."""
    folder = os.path.dirname(os.path.abspath(output_file))
    if not os.path.isdir(folder):
        problem = "no such directory"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = "the directory is not writable"
    else:
        return
    click.echo(f"initlint: error: cannot write {output_file}: {problem}", err=True)
    sys.exit(EXIT_ERROR)


class _Progress:
    """`[3/50] models/resnet.py` on a terminal's stderr, rewritten in place; nothing when piped."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int, total: int, path: str) -> None:
        line = f"[{done}/{total}] {os.path.relpath(path)}"[: shutil.get_terminal_size().columns - 1]
        sys.stderr.write(f"\r\x1b[2K{line}")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def _run(paths: tuple[str, ...], options: Options) -> Report:
    progress = _Progress() if sys.stderr.isatty() else None
    try:
        return check_paths(paths, options, progress)
    except Exception as error:  # a bug in initlint: one line, exit 2, never a traceback
        click.echo(f"initlint: internal error: {type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_ERROR)
    finally:
        if progress is not None:
            progress.clear()


def _changes(report: Report, unsafe: bool, paths: tuple[str, ...]) -> list[FileChange]:
    """The file changes --fix would write (and --diff shows): never to a file outside ``paths``."""
    chosen = [f for f in report.findings if f.fix is not None and (f.fix.applicability == "safe" or unsafe)]
    changes, problems = prepare(chosen, report.digests)
    changes, outside = confine(changes, paths)
    for path, reason in [*problems, *outside]:
        click.echo(f"initlint: warning: {path}: not fixed: {reason}", err=True)
    return changes


def _apply(changes: list[FileChange]) -> list[FileChange]:
    written = []
    for change in changes:
        try:
            write(change)
        except Unfixable as error:
            click.echo(f"initlint: warning: {change.shown}: not fixed: {error}", err=True)
            continue
        written.append(change)
    return written


def _show_fixes(fixed: list[FileChange] | None, report: Report, unsafe: bool) -> None:
    """Fixes applied (after --fix) or available, by file, on stderr so formats stay parseable."""
    if fixed is not None:
        lines = [
            f"{c.shown}:{f.line}:{f.column}: {f.code} {f.fix.message}"
            for c in fixed
            for f in c.fixed
            if f.fix is not None
        ]
        title = f"Fixed {len(lines)} finding{'' if len(lines) == 1 else 's'}:"
    else:
        lines = [
            f"{f.path}:{f.line}:{f.column}: {f.code} {f.fix.message} ({f.fix.applicability})"
            for f in report.findings
            if f.fix is not None and (f.fix.applicability == "safe" or unsafe)
        ]
        title = f"{len(lines)} fix{'' if len(lines) == 1 else 'es'} available:"
    click.echo("\n".join([title, *(f"  {line}" for line in lines)]), err=True)


@main.command()
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="The cache to remove.")
def clean(cache_dir: str | None) -> None:
    """Remove the result cache."""
    config_path = find_config(["."])
    root = os.path.dirname(config_path) if config_path else os.getcwd()
    directory = cache_dir or os.path.join(root, DEFAULT_CACHE_DIR)
    try:
        removed = clean_cache(directory)
    except NotACache as error:
        click.echo(f"initlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"Removed {directory}" if removed else f"No cache at {directory}")


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
