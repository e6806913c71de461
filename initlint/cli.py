"""The ``initlint`` command: click wiring only."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from dataclasses import replace
from typing import NoReturn

import click

from . import __version__
from . import rules as catalogue
from .api import check_paths, check_source
from .cache import DEFAULT_DIR as DEFAULT_CACHE_DIR
from .cache import NotACache
from .cache import clean as clean_cache
from .config import ConfigError, find_config
from .findings import SEVERITIES, Finding, severity_rank
from .fix import summary as fix_summary
from .fix.apply import FileChange, Unfixable, confine, fixed_text, prepare, write
from .options import DEFAULT_JOBS, DEFAULT_TIMEOUT, Options, Overrides, configured
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


def _configured(paths: tuple[str, ...], overrides: Overrides, config_path: str | None) -> Options:
    """Each file's configuration with the flags over it; a broken configuration is one line, exit 2."""
    try:
        return configured(paths, overrides, config_path)
    except ConfigError as error:
        click.echo(f"initlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)


def _fails(finding: Finding, options: Options) -> bool:
    """Whether a finding fails the run: at or above the fail-on of its file's configuration."""
    own = options.for_file(os.path.abspath(finding.path))
    return severity_rank(finding.severity) >= severity_rank(own.fail_on)


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
    help="Configuration for every file: a pyproject.toml ([tool.initlint]) or an initlint.toml "
    "(default: each file's nearest one).",
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
@click.option("--fix-only", is_flag=True, help="Apply fixes and report only what was fixed (exit 0 but for errors).")
@click.option(
    "--exit-non-zero-on-fix", is_flag=True, help="With --fix: exit 1 when anything was fixed, even if nothing remains."
)
@click.option("--show-suppressed", is_flag=True, help="Also report findings silenced by suppression comments.")
@click.option(
    "--show-signal",
    is_flag=True,
    help="Text output: after the findings, a sparkline per model of the signal's RMS through its layers.",
)
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
@click.option(
    "--respect-gitignore/--no-respect-gitignore",
    default=True,
    show_default=True,
    help="Skip what git ignores (.gitignore, .git/info/exclude) when walking directories.",
)
@click.option("-q", "--quiet", is_flag=True, help="Text output: the findings only, no summary or hints.")
@click.option(
    "-v", "--verbose", is_flag=True, help="On stderr: the configuration governing each checked file, and timings."
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
    fix_only: bool,
    exit_non_zero_on_fix: bool,
    show_suppressed: bool,
    show_signal: bool,
    static_mode: bool,
    device: str,
    no_cache: bool,
    cache_dir: str | None,
    stdin_filename: str | None,
    respect_gitignore: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    """Check the models defined under PATHS (default: the current directory).

    This imports the files and runs their models' constructors and forwards (in
    worker processes); use --static for code you would not run.
    """
    paths = paths or (".",)
    if exit_zero and exit_non_zero_on_fix:  # as ruff: they contradict each other
        click.echo("initlint: error: --exit-zero cannot be used with --exit-non-zero-on-fix", err=True)
        sys.exit(EXIT_ERROR)
    fix = fix or fix_only
    if output_file:
        _check_writable(output_file)
    located = (stdin_filename,) if paths == ("-",) and stdin_filename else paths  # stdin: its file's config
    overrides = Overrides(
        _codes(select), _codes(extend_select), _codes(ignore), exclude, timeout, fail_on, require_all_models
    )
    options = _configured(located, overrides, config_path)
    options = replace(options, jobs=jobs, device=device, static=static_mode, respect_gitignore=respect_gitignore)
    if not no_cache:
        options = replace(options, cache_dir=cache_dir or os.path.join(options.root, DEFAULT_CACHE_DIR))
    if paths == ("-",):  # an editor's buffer: read from stdin, analysed from source
        buffer, name = sys.stdin.read(), stdin_filename or "stdin.py"
        report = check_source(buffer, name, options)
        if fix or diff:
            _fix_stdin(buffer, name, report, options, unsafe_fixes, diff, fix_only)
    else:
        started = time.monotonic()
        report = _run(paths, options)
        if verbose:
            _tell_configurations(report, options, time.monotonic() - started)
    for path in report.missing:
        click.echo(f"initlint: error: {path}: no such file or directory", err=True)
    for note in report.notes:
        click.echo(f"initlint: warning: {note}", err=True)
    if diff:
        changes = _changes(report, unsafe_fixes, paths)
        click.echo("".join(change.diff() for change in changes), nl=False)
        sys.exit(EXIT_FINDINGS if changes else (EXIT_ERROR if report.missing else EXIT_CLEAN))
    fixed: list[FileChange] = []
    unsafe_left = 0
    if fix:
        fixed = _apply(_changes(report, unsafe_fixes, paths))
        unsafe_left = fix_summary.unsafe_left(report.findings, unsafe_fixes)
        if fixed and not fix_only:
            report = _run(paths, options)  # what remains, judged on the files as they are now
    listed, count = _fixes_told(fixed if fix else None, report, unsafe_fixes, unsafe_left, show_fixes, fix_only)
    if output_format != "text" and listed:  # machine-read formats stay parseable: the list goes to stderr
        click.echo("\n".join(listed), err=True)
    fixes_told = _laid_out(listed, count)
    if show_suppressed:
        report = _with_suppressed(report)
    if fix_only:
        rendered = "\n".join(fixes_told) if output_format == "text" else ""
    elif statistics:
        rendered = render_statistics_json(report) if output_format == "json" else renderer("statistics")(report)
    elif output_format == "text":
        rendered = renderer("text")(report, unsafe_fixes=unsafe_fixes, show_signal=show_signal, quiet=quiet)
        rendered = "\n".join([rendered, *fixes_told])
    else:
        rendered = renderer(output_format)(report)
    _emit(rendered, output_file, color)
    if report.missing:
        sys.exit(EXIT_ERROR)
    if exit_non_zero_on_fix and fixed:
        sys.exit(EXIT_FINDINGS)
    failing = not fix_only and any(_fails(f, options) for f in report.findings)
    sys.exit(EXIT_FINDINGS if failing and not exit_zero else EXIT_CLEAN)


def _fix_stdin(
    buffer: str, name: str, report: Report, options: Options, unsafe: bool, diff: bool, fix_only: bool
) -> NoReturn:
    """``--fix -`` / ``--diff -``, as ruff does: the fixed source (or its diff) on stdout, what remains
    on stderr (not with ``--fix-only``, which exits 0); never a file written."""
    chosen = [f for f in report.findings if f.fix is not None and (f.fix.applicability == "safe" or unsafe)]
    absolute = os.path.abspath(name)
    try:
        change = fixed_text(absolute, name, absolute, buffer, chosen)
    except Unfixable as error:
        click.echo(f"initlint: error: {name}: not fixed: {error}", err=True)
        sys.exit(EXIT_ERROR)
    if diff:
        click.echo(change.diff() if change.after != buffer else "", nl=False)
        sys.exit(EXIT_FINDINGS if change.after != buffer else EXIT_CLEAN)
    click.echo(change.after, nl=False)
    if fix_only:
        sys.exit(EXIT_CLEAN)
    remaining = check_source(change.after, name, options)
    if remaining.findings:
        click.echo(renderer("text")(remaining, unsafe_fixes=unsafe), err=True)
    sys.exit(EXIT_FINDINGS if any(_fails(f, options) for f in remaining.findings) else EXIT_CLEAN)


def _with_suppressed(report: Report) -> Report:
    """``--show-suppressed``: what suppression comments silenced, among the findings and marked so."""
    silenced = [replace(f, message=f"{f.message} (suppressed)") for f in report.suppressed]
    findings = tuple(sorted([*report.findings, *silenced], key=lambda f: f.sort_key))
    return replace(report, findings=findings, suppressed=())


def _emit(rendered: str, output_file: str | None, color: str) -> None:
    """The report to stdout (coloured as ``--color`` says) or to ``-o FILE`` (never coloured)."""
    if not output_file:
        if rendered:
            click.echo(rendered, color=_colour(color))
        return
    try:
        with open(output_file, "w", encoding="utf-8") as handle:
            handle.write(click.unstyle(rendered) + ("\n" if rendered else ""))
    except OSError as error:
        click.echo(f"initlint: error: cannot write {output_file}: {error.strerror}", err=True)
        sys.exit(EXIT_ERROR)


def _tell_configurations(report: Report, options: Options, seconds: float) -> None:
    """``-v``: which configuration governs each checked file (as ruff -v tells), and how long the check took."""
    for path in sorted({os.path.abspath(m.path) for m in report.models} | set(report.digests)):
        config = options.scopes.config_file(path) if options.scopes is not None else None
        shown = os.path.relpath(config) if config else "none (defaults)"
        click.echo(f"initlint: {os.path.relpath(path)}: configuration {shown}", err=True)
    files = f"{report.files} file{'' if report.files == 1 else 's'}"
    click.echo(f"initlint: checked {files} in {seconds:.2f} s", err=True)


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


def _fixes_told(
    fixed: list[FileChange] | None,
    report: Report,
    unsafe: bool,
    unsafe_left: int,
    show_fixes: bool,
    fix_only: bool,
) -> tuple[list[str], str | None]:
    """What is said about fixes after the findings: the fixes applied (or, without --fix, available)
    when --show-fixes asks, and the count line of a --fix run that fixed something."""
    if fixed is None:
        return (fix_summary.available(report.findings, unsafe) if show_fixes else []), None
    listed = fix_summary.applied(fixed) if show_fixes else []
    done = fix_summary.fixed_count(fixed)
    if fix_only:
        return listed, fix_summary.after_fix_only(done, unsafe_left)
    return listed, fix_summary.after_fix(done, len(report.findings))


def _laid_out(listed: list[str], count: str | None) -> list[str]:
    """The lines after the report, as ruff lays them out: the list between blank lines, the count last."""
    lines = ["", *listed] if listed else []
    if count:
        lines += ["", count] if listed else [count]
    return lines


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


@main.command()
def server() -> None:
    """Run the language server (LSP over stdio) for editors; needs the lsp extra (pygls)."""
    try:
        from .server import serve  # pygls: imported only here, never by `initlint check`
    except ImportError as error:
        click.echo(f"initlint: error: the language server needs pygls: pip install 'initlint[lsp]' ({error})", err=True)
        sys.exit(EXIT_ERROR)
    serve()
