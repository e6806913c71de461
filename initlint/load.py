"""Run user code in worker processes, with a timeout per step.

Workers are forked once from a parent that has already imported torch, and
analyse files one after another; after each file a worker forgets the
modules the file imported and restores the working directory, ``sys.path``
and torch's defaults, so files do not see each other. A worker reports as it
goes (the models it found, which one it is building, each result). When a
worker exits, crashes or hangs, it is killed and replaced: the model in
progress becomes an error and the file's remaining models are analysed by the
replacement, so one bad model never hides the others.
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

from .facts import ERROR, AnalysisProblem, FileFacts, ModelFacts, ModelSpec, Span
from .fix.apply import digest



@dataclass(frozen=True)
class Task:
    """One file to analyse in a worker."""

    path: str  # absolute
    user_files: tuple[str, ...]
    timeout: float  # seconds a step (the import, each model) may take
    lines: tuple[tuple[str, int], ...] = ()  # class name -> line, from screening
    specs: tuple[ModelSpec, ...] = ()  # factories and configured entries
    device: str = "auto"  # cpu | meta | auto (meta above a parameter count)


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") and "fork" in methods else "spawn")


def preload() -> None:
    """Import torch and the analysis once, in the parent, so forked workers start warm.

    Raises ImportError when torch cannot be imported.
    """
    if _context().get_start_method() == "fork":
        from . import analyze  # noqa: F401  (imported for its side effect: torch, loaded once)


# -- the worker process ----------------------------------------------------------------


def _silence_output() -> None:
    """User code may print; our stdout must stay clean (one JSON object)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")
    sys.stderr = sys.stdout


class _Isolation:
    """What one file may change and the next must not see."""

    def __init__(self) -> None:
        import torch

        self.modules = set(sys.modules)
        self.path = list(sys.path)
        self.cwd = os.getcwd()
        self.dtype = torch.get_default_dtype()

    def restore(self) -> None:
        import torch

        for name in set(sys.modules) - self.modules:
            del sys.modules[name]
        sys.path[:] = self.path
        os.chdir(self.cwd)
        torch.set_default_dtype(self.dtype)


def _analyse_one(conn: Any, task: Task, skip: frozenset[str]) -> None:
    from .analyze import ImportFailed, analyze_file

    with open(task.path, "rb") as handle:  # what is about to be imported: fixes must match it
        conn.send(("digest", digest(handle.read())))
    try:
        for event in analyze_file(task.path, list(task.user_files), skip, dict(task.lines), task.specs, task.device):
            conn.send(event)
    except ImportFailed as error:
        span = Span(task.path, error.line, 1, error.line, 1) if error.line else None
        kind = "missing-dependency" if error.missing else "import-error"
        conn.send(("problem", AnalysisProblem(kind, f"cannot import: {error}", span)))


def _worker(conn: Any) -> None:
    _silence_output()
    try:
        import torch

        torch.set_num_threads(1)  # forked children of a threaded parent can deadlock in matmul
        while True:
            message = conn.recv()
            if message is None:
                break
            task, skip = message
            isolation = _Isolation()
            try:
                _analyse_one(conn, task, skip)
            except BaseException as error:  # an initlint bug: say so, never hang the parent
                conn.send(("problem", AnalysisProblem("internal-error", f"{type(error).__name__}: {error}")))
            finally:
                isolation.restore()
            conn.send(("done", None))
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    os._exit(0)  # skip the user's atexit handlers


# -- the parent's side --------------------------------------------------------------------


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
    """The state of one file's analysis, across worker replacements."""

    task: Task
    models: list[ModelFacts] = field(default_factory=list)
    names: list[str] | None = None  # models the file defines, once imported
    current: tuple[str, int] | None = None  # (model, line) being built
    problem: AnalysisProblem | None = None
    done: bool = False
    dropped: set[str] = field(default_factory=set)  # factories that built no module
    digest: str | None = None

    def skip(self) -> frozenset[str]:
        return frozenset(m.name for m in self.models) | self.dropped

    def result(self) -> FileFacts:
        return FileFacts(self.task.path, tuple(self.models), self.problem, self.digest)

    def take(self, kind: str, payload: Any) -> None:
        """One event from the worker."""
        if kind == "digest":
            self.digest = payload
        elif kind == "models":
            self.names = list(payload)
        elif kind == "start":
            self.current = payload
        elif kind == "model":
            self.models.append(payload)
            self.current = None
        elif kind == "dropped":
            self.dropped.add(payload)
            self.current = None
        elif kind == "problem":
            self.problem = payload
        elif kind == "done":
            self.done = True

    def lost(self, what: str, kind: str) -> None:
        """The worker died or hung: blame the step in progress; done unless models remain."""
        if self.names is None or self.current is None:
            step = "importing the file" if self.names is None else "analysing the file"
            self.problem = AnalysisProblem(kind, f"{step}: {what}")
            self.done = True
            return
        name, line = self.current
        message = f"building or tracing {name}: {what}"
        problem = AnalysisProblem(kind, message, Span(self.task.path, line, 1, line, 1))
        self.models.append(ModelFacts(self.task.path, name, line, ERROR, message, error=problem))
        self.current = None
        self.done = all(n in self.skip() for n in self.names)


class _Worker:
    """A worker process and the run it is busy with."""

    def __init__(self, ctx: Any):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.run: _Run | None = None
        self.deadline = 0.0

    def give(self, run: _Run) -> None:
        self.run = run
        run.current = None
        self.conn.send((run.task, run.skip()))
        self.deadline = time.monotonic() + run.task.timeout

    def receive(self) -> bool:
        """Take every message sent so far; False when the worker is gone."""
        try:
            while self.conn.poll():
                kind, payload = self.conn.recv()
                self.run.take(kind, payload)
                self.deadline = time.monotonic() + self.run.task.timeout
                if kind == "done":
                    self.run = None
                    return True
        except (EOFError, OSError):
            return False
        return self.process.is_alive() or self.conn.poll()

    def kill(self) -> str:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()
        return _exit_description(self.process.exitcode)

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.kill()


def analyse_files(
    tasks: Sequence[Task], jobs: int = 1, progress: Callable[[int, int, str], None] | None = None
) -> list[FileFacts]:
    """Analyse files in at most ``jobs`` workers; results in the order given."""
    ctx = _context()
    runs = [_Run(t) for t in tasks]
    waiting = list(runs)
    workers = [_Worker(ctx) for _ in range(max(1, min(jobs, len(runs))))]
    finished = 0
    try:
        while waiting or any(w.run for w in workers):
            for worker in workers:
                if worker.run is None and waiting:
                    worker.give(waiting.pop(0))
                    if progress:
                        progress(finished, len(runs), worker.run.task.path)
            busy = [w for w in workers if w.run is not None]
            timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            multiprocessing.connection.wait([w.conn for w in busy], timeout=timeout)
            for index, worker in enumerate(workers):
                run = worker.run
                if run is None:
                    continue
                alive = worker.receive()
                if worker.run is None:  # the file is done
                    finished += 1
                    if progress:
                        progress(finished, len(runs), run.task.path)
                    continue
                timed_out = time.monotonic() > worker.deadline
                if alive and not timed_out:
                    continue
                exit_text = worker.kill()
                if timed_out:
                    run.lost(f"timed out after {run.task.timeout:g} s", "timeout")
                else:
                    run.lost(f"the worker {exit_text}", "crash")
                workers[index] = _Worker(ctx)
                if run.done:
                    finished += 1
                else:
                    waiting.insert(0, run)  # the replacement carries on with the models left
    finally:
        for worker in workers:
            worker.stop()
    return [r.result() for r in runs]
