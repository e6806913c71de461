"""Run user code in isolated worker processes, with a timeout per step.

Each file gets its own child process, forked from a parent that has already
imported torch (so a child costs tens of milliseconds, not an ``import
torch``). The child reports as it goes: the models it found, which one it is
building, each result. When a child exits, crashes or hangs, the model in
progress becomes an error and a new child carries on with the rest, so one
bad model never hides the others.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .fix.apply import digest
from .facts import ERROR, AnalysisProblem, FileFacts, ModelFacts, ModelSpec, Span

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Task:
    """One file to analyse in a worker."""

    path: str  # absolute
    user_files: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT
    lines: tuple[tuple[str, int], ...] = ()  # class name -> line, from screening
    specs: tuple[ModelSpec, ...] = ()  # factories and configured entries
    device: str = "auto"  # cpu | meta | auto (meta above a parameter count)


def preload() -> None:
    """Import torch and the analysis once, in the parent, so forked children start warm.

    Raises ImportError when torch cannot be imported.
    """
    if _context().get_start_method() == "fork":
        from . import analyze  # noqa: F401


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") and "fork" in methods else "spawn")


def _silence_output() -> None:
    """User code may print; our stdout must stay clean (one JSON object)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")
    sys.stderr = sys.stdout


def _child(conn: Any, task: Task, skip: frozenset[str]) -> None:
    _silence_output()
    try:
        import torch

        torch.set_num_threads(1)  # forked children of a threaded parent can deadlock in matmul
        from .analyze import ImportFailed, analyze_file

        with open(task.path, "rb") as handle:  # what is about to be imported: fixes must match it
            conn.send(("digest", digest(handle.read())))
        try:
            for event in analyze_file(task.path, list(task.user_files), skip, dict(task.lines), task.specs,
                                      task.device):
                conn.send(event)
        except ImportFailed as error:
            span = Span(task.path, error.line, 1, error.line, 1) if error.line else None
            conn.send(("problem", AnalysisProblem("import-error", f"cannot import: {error}", span)))
    except BaseException as error:  # an initlint bug: say so, never hang the parent
        conn.send(("problem", AnalysisProblem("internal-error", f"{type(error).__name__}: {error}")))
    conn.send(("done", None))
    conn.close()
    os._exit(0)  # skip the user's atexit handlers


def _exit_description(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return {"SIGSEGV": "crashed (segmentation fault)", "SIGKILL": "was killed (out of memory?)"}.get(
            name, f"crashed ({name})"
        )
    return f"exited with code {code}"


@dataclass
class _Run:
    """The state of one file's analysis across worker restarts."""

    task: Task
    models: list[ModelFacts] = field(default_factory=list)
    names: list[str] | None = None  # models the file defines, once imported
    current: tuple[str, int] | None = None  # (model, line) being built
    dropped: set[str] = field(default_factory=set)  # factories that built no module
    digest: str | None = None
    problem: AnalysisProblem | None = None
    done: bool = False
    process: Any = None
    conn: Any = None
    deadline: float = 0.0

    def skip(self) -> frozenset[str]:
        return frozenset(m.name for m in self.models) | self.dropped

    def result(self) -> FileFacts:
        return FileFacts(self.task.path, tuple(self.models), self.problem, self.digest)


def _start(ctx: Any, run: _Run) -> None:
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, run.task, run.skip()), daemon=True)
    process.start()
    sender.close()
    run.process, run.conn = process, receiver
    run.current = None
    run.deadline = time.monotonic() + run.task.timeout


def _stop(run: _Run) -> None:
    if run.process is not None and run.process.is_alive():
        run.process.kill()
    if run.process is not None:
        run.process.join(5)
    if run.conn is not None:
        run.conn.close()
    run.process = run.conn = None


_exiting: list[Any] = []  # finished children still tearing down; reaped without waiting


def _release(run: _Run) -> None:
    """A child that said it is done exits by itself: do not wait for its teardown (~10 ms)."""
    if run.conn is not None:
        run.conn.close()
    _exiting.append(run.process)
    run.process = run.conn = None
    _exiting[:] = [p for p in _exiting if p.exitcode is None]


def _reap() -> None:
    for process in _exiting:
        process.join(5)
        if process.exitcode is None:
            process.kill()
            process.join()
    _exiting.clear()


def _receive(run: _Run) -> None:
    """Take every message the child has sent so far."""
    while run.conn is not None and run.conn.poll():
        try:
            kind, payload = run.conn.recv()
        except (EOFError, OSError):
            _lost(run, None)
            return
        if kind == "digest":
            run.digest = payload
        elif kind == "models":
            run.names = list(payload)
        elif kind == "start":
            run.current = payload
        elif kind == "model":
            run.models.append(payload)
            run.current = None
        elif kind == "dropped":
            run.dropped.add(payload)
            run.current = None
        elif kind == "problem":
            run.problem = payload
        elif kind == "done":
            _release(run)
            run.done = True
            return
        run.deadline = time.monotonic() + run.task.timeout


def _lost(run: _Run, timed_out: float | None) -> None:
    """The child died or hung: blame the step in progress, maybe carry on."""
    if timed_out is None and run.process is not None:
        run.process.join(2)
    exit_text = _exit_description(run.process.exitcode if run.process is not None else None)
    _stop(run)
    if timed_out is not None:
        kind, what = "timeout", f"timed out after {timed_out:g} s"
    else:
        kind, what = "crash", f"the worker {exit_text}"
    if run.names is None:
        run.problem = AnalysisProblem(kind, f"importing the file: {what}")
        run.done = True
        return
    if run.current is None:
        run.problem = AnalysisProblem(kind, f"analysing the file: {what}")
        run.done = True
        return
    name, line = run.current
    message = f"building or tracing {name}: {what}"
    span = Span(run.task.path, line, 1, line, 1)
    run.models.append(ModelFacts(run.task.path, name, line, ERROR, message, error=AnalysisProblem(kind, message, span)))
    run.done = all(n in run.skip() for n in run.names)


def analyse_files(
    tasks: Sequence[Task], jobs: int = 1, progress: Callable[[int, int, str], None] | None = None
) -> list[FileFacts]:
    """Analyse files in at most ``jobs`` workers; results in the order given."""
    ctx = _context()
    runs = [_Run(t) for t in tasks]
    waiting = list(runs)
    active: list[_Run] = []
    finished = 0
    while waiting or active:
        while waiting and len(active) < max(jobs, 1):
            run = waiting.pop(0)
            _start(ctx, run)
            active.append(run)
            if progress:
                progress(finished, len(runs), run.task.path)
        timeout = max(0.0, min(r.deadline for r in active) - time.monotonic())
        multiprocessing.connection.wait([r.conn for r in active if r.conn is not None], timeout=timeout)
        for run in list(active):
            _receive(run)
            if not run.done and run.conn is not None:
                if not run.process.is_alive() and not run.conn.poll():
                    _lost(run, None)
                elif time.monotonic() > run.deadline:
                    _lost(run, run.task.timeout)
            if run.done:
                active.remove(run)
                finished += 1
                if progress:
                    progress(finished, len(runs), run.task.path)
            elif run.conn is None:
                _start(ctx, run)  # a fresh worker for the models left
    _reap()
    return [r.result() for r in runs]
