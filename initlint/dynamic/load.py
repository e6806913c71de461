"""Run user code in worker processes, with a timeout per step, each file in a fresh process.

Three kinds of process:

- the parent (initlint) starts one supervisor and waits for its results;
- the supervisor runs no user code. It forks a fresh *runner* for each file
  from its warm state (torch imported, the analysis exercised once), enforces
  the timeouts, and when a file is done kills its runner with everything the
  runner started;
- a runner imports one file and builds its models, reporting as it goes (the
  models it found, which one it is building, each result, the project files
  it loaded).

A fresh process per file is what keeps files apart: whatever a file patches
in torch, imports or leaves running goes with its runner, and nothing is ever
unloaded (torch's C++ registrations cannot be imported twice). When a runner
exits, crashes or hangs, the model in progress becomes an error and a new
runner analyses the file's remaining models, so one bad model never hides
the others. The supervisor dies with the parent, killing every runner and
what they started; runners die with the supervisor; a runner's memory is
capped (``processes``).
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..fix.apply import digest
from ..shared.facts import ERROR, AnalysisProblem, FileFacts, ModelFacts, ModelSpec, ProblemKind, Span
from . import processes


@dataclass(frozen=True)
class Task:
    """One file to analyse in a worker."""

    path: str  # absolute
    user_files: tuple[str, ...]
    timeout: float  # seconds a step (the import, each model) may take
    lines: tuple[tuple[str, int], ...] = ()  # class name -> line, from screening
    specs: tuple[ModelSpec, ...] = ()  # factories and configured entries
    device: str = "auto"  # cpu | meta | auto (meta above a parameter count)
    root: str = ""  # the configuration's directory: the project's packages import from there
    script_classes: tuple[str, ...] | None = None  # a script: run its slice building these classes


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") and "fork" in methods else "spawn")


def preload() -> None:
    """Import torch and the analysis once, in the parent, so forked workers start warm.

    Raises ImportError when torch cannot be imported.
    """
    if _context().get_start_method() == "fork":
        from . import analyze  # noqa: F401  (imported for its side effect: torch, loaded once)


def _silence_output() -> None:
    """User code may print; our stdout must stay clean (one JSON object)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")
    sys.stderr = sys.stdout


# -- a runner: one file, in a fresh process --------------------------------------------------


class _Channel:
    """A runner's end of its pipe to the supervisor.

    A process that user code forks inherits it, and a forked copy that returns
    from the constructor runs our code on: its results would be taken for the
    file's. Such a copy never speaks; it exits when it tries.
    """

    def __init__(self, conn: Any):
        self._conn = conn
        self._owner = os.getpid()
        os.register_at_fork(after_in_child=self._conn.close)

    def send(self, event: tuple[str, Any]) -> None:
        if os.getpid() != self._owner:
            os._exit(0)
        self._conn.send(event)


def _analyse_one(channel: _Channel, task: Task, skip: frozenset[str]) -> None:
    from .analyze import ImportFailed, analyze_file
    from .scriptrun import no_arguments, script_program
    from .userimport import project_imports, project_roots

    with open(task.path, "rb") as handle:  # read once: the digest fixes are checked against is of what runs
        data = handle.read()
    imports = project_imports()
    script = task.script_classes is not None
    imports.pin(task.path, data, script_program(data, task.script_classes or ()) if script else None)
    sys.path[:0] = project_roots(task.path, task.root)
    channel.send(("digest", digest(data)))
    try:
        with no_arguments(task.path):
            events = analyze_file(task.path, list(task.user_files), skip, dict(task.lines), task.specs, task.device)
            for event in events:
                channel.send(("loaded", imports.new()))
                channel.send(event)
    except ImportFailed as error:
        span = Span(task.path, error.line, 1, error.line, 1) if error.line else None
        if script:  # the statements that build its models could not run (a required argument, a dataset)
            kind = ProblemKind.SCRIPT_FAILED  # ...so it is read instead
        else:
            kind = ProblemKind.MISSING_DEPENDENCY if error.missing else ProblemKind.IMPORT_ERROR
        channel.send(("problem", AnalysisProblem(kind, f"cannot import: {error}", span)))
    channel.send(("loaded", imports.new()))


def _run_file(conn: Any, memory: int | None, supervisor: int, inherited: list[Any]) -> None:
    """A runner's life: contain itself, wait for its file, analyse it, report, exit.

    Runners are forked ahead of need, so the containment below is done while
    another runner works; the file arrives on the pipe.
    """
    processes.separate_group()  # before user code can start anything: what it starts is killed with it
    processes.die_with_parent(signal.SIGKILL, supervisor)
    for other in inherited:  # the supervisor's other pipes: never user code's to read or write
        other.close()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the supervisor's handler is not ours
    processes.limit_memory(memory)
    _silence_output()
    sys.dont_write_bytecode = True  # no __pycache__ in the user's tree, whatever imports what
    try:
        task, skip = conn.recv()
    except (EOFError, OSError):  # not needed after all
        os._exit(0)
    channel = _Channel(conn)
    try:
        _analyse_one(channel, task, skip)
    except BaseException as error:  # an initlint bug: say so, never hang the parent
        channel.send(("problem", AnalysisProblem(ProblemKind.INTERNAL_ERROR, f"{type(error).__name__}: {error}")))
    channel.send(("done", None))
    os._exit(0)  # skip the user's atexit handlers


# -- the supervisor: runners, timeouts, cleanup -------------------------------------------------


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
    """The state of one file's analysis, across runners."""

    task: Task
    models: list[ModelFacts] = field(default_factory=list)
    names: list[str] | None = None  # models the file defines, once imported
    current: tuple[str, int] | None = None  # (model, line) being built
    problem: AnalysisProblem | None = None
    done: bool = False
    dropped: set[str] = field(default_factory=set)  # factories that built no module
    digest: str | None = None
    loaded: set[tuple[str, str]] = field(default_factory=set)  # (path, sha256) of project files run

    def skip(self) -> frozenset[str]:
        return frozenset(m.name for m in self.models) | self.dropped

    def result(self) -> FileFacts:
        return FileFacts(
            self.task.path, tuple(self.models), self.problem, self.digest, loaded=tuple(sorted(self.loaded))
        )

    def take(self, kind: str, payload: Any) -> None:
        """One event from the runner."""
        if kind == "digest":
            self.digest = payload
        elif kind == "loaded":
            self.loaded.update(payload)
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

    def lost(self, what: str, kind: ProblemKind) -> None:
        """The runner died or hung: blame the step in progress; done unless models remain."""
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


class _Runner:
    """A runner process, forked before it is needed, and the run it then works on."""

    def __init__(self, ctx: Any, memory: int | None, inherited: list[Any]):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_run_file,
            daemon=False,  # user code may start processes of its own
            args=(child, memory, os.getpid(), [*inherited, self.conn]),
        )
        self.process.start()
        child.close()
        processes.separate_group(self.process.pid)  # the runner does too: whichever comes first
        self.run: _Run | None = None
        self.deadline = 0.0

    def give(self, run: _Run) -> None:
        self.run = run
        run.current = None
        self.conn.send((run.task, run.skip()))
        self.deadline = time.monotonic() + run.task.timeout

    def receive(self) -> bool:
        """Take every message sent so far; False when the runner is gone before saying it is done."""
        assert self.run is not None
        try:
            while not self.run.done and self.conn.poll():
                self.run.take(*self.conn.recv())
                self.deadline = time.monotonic() + self.run.task.timeout
        except (EOFError, OSError):
            return False
        return self.run.done or self.process.is_alive()

    def end(self) -> None:
        """Kill the runner and what it started in its process group; reaped later (``_Reaper``)."""
        processes.kill_group(self.process.pid)
        self.conn.close()

    def exit_text(self) -> str:
        """How a runner that died on its own ended (it is reaped by now: it closed its pipe)."""
        self.process.join(5)
        return _exit_description(self.process.exitcode)


class _Reaper:
    """Killed runners, waited for without blocking: a runner's exit (unmapping its copy of the
    supervisor's memory) takes milliseconds the next file need not wait for."""

    def __init__(self) -> None:
        self.dying: list[Any] = []

    def add(self, runner: _Runner) -> None:
        self.dying.append(runner.process)

    def reap(self) -> None:
        self.dying = [p for p in self.dying if p.is_alive()]  # is_alive() reaps the exited

    def pids(self) -> frozenset[int]:
        return frozenset(p.pid for p in self.dying)


def _supervise_runs(tasks: Sequence[Task], jobs: int, memory: int | None, parent: Any) -> list[FileFacts]:
    """Analyse files in at most ``jobs`` runners at once; results in the order given.

    One spare runner is forked ahead while others work, so a file never waits for a fork.
    """
    ctx = _context()
    runs = [_Run(t) for t in tasks]
    waiting = list(runs)
    busy: list[_Runner] = []
    spares: list[_Runner] = []
    reaper = _Reaper()
    finished = 0

    def fork() -> _Runner:
        return _Runner(ctx, memory, [parent, *(r.conn for r in (*busy, *spares))])

    while waiting or busy:
        while waiting and len(busy) < jobs:
            runner = spares.pop() if spares else fork()
            starting = waiting.pop(0)
            runner.give(starting)
            busy.append(runner)
            parent.send(("progress", (finished, len(runs), starting.task.path)))
        if waiting and not spares:
            spares.append(fork())
        timeout = max(0.0, min(r.deadline for r in busy) - time.monotonic())
        if parent in multiprocessing.connection.wait([parent, *(r.conn for r in busy)], timeout=timeout):
            raise SystemExit  # the parent never writes: readable means it is gone
        for runner in list(busy):
            alive = runner.receive()
            timed_out = time.monotonic() > runner.deadline
            run = runner.run
            assert run is not None
            if not run.done and alive and not timed_out:
                continue
            busy.remove(runner)
            exit_text = "" if alive or timed_out else runner.exit_text()
            runner.end()
            reaper.add(runner)
            # What left the runner's process group, orphaned to us (adopt_orphans), goes too.
            processes.kill_descendants(keep=frozenset(r.process.pid for r in (*busy, *spares)) | reaper.pids())
            if not run.done:
                if timed_out:
                    run.lost(f"timed out after {run.task.timeout:g} s", ProblemKind.TIMEOUT)
                else:
                    run.lost(f"the worker {exit_text}", ProblemKind.CRASH)
            if run.done:
                finished += 1
                parent.send(("progress", (finished, len(runs), run.task.path)))
            else:
                waiting.insert(0, run)  # a new runner carries on with the models left
        reaper.reap()
    for spare in spares:
        spare.end()
    return [r.result() for r in runs]


def _warm_up() -> None:
    """Exercise the analysis once, so that runners fork with torch's lazy setup done; then freeze the heap.

    Frozen objects are left out of garbage collection: a runner's ``gc.collect()``
    then neither scans nor copies (on write) the supervisor's heap. Measured on
    a small file: 160 ms in a cold runner, 120 ms warmed up, 20 ms frozen too.
    """
    import torch
    import torch.nn as nn

    from ..shared import theory
    from .analyze import analyze_model

    class WarmUp(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.conv = nn.Conv2d(2, 2, 3)
            for init in (
                nn.init.normal_,
                nn.init.trunc_normal_,
                nn.init.xavier_normal_,
                nn.init.xavier_uniform_,
                nn.init.kaiming_normal_,
                nn.init.orthogonal_,
            ):
                init(self.fc.weight)
            nn.init.zeros_(self.fc.bias)
            self.conv.weight.data.normal_(0, 0.02)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y: torch.Tensor = self.fc(torch.relu(x))
            return y

    try:
        analyze_model(os.path.abspath(__file__), "WarmUp", 1, WarmUp, [], device="auto")
    except Exception:  # an optimisation only: runners then pay for the setup themselves
        pass
    for name in theory.ACTIVATIONS:  # each takes ~10 ms of quadrature; runners would each redo them
        theory.gains(name)
    gc.freeze()


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit


def _supervise(conn: Any, parent_end: Any, tasks: Sequence[Task], jobs: int, memory: int | None, parent: int) -> None:
    """The supervisor's life: analyse every file in runners, send the results, leave nothing behind."""
    parent_end.close()  # the parent's end lives in the parent alone: its death reads as EOF here
    signal.signal(signal.SIGTERM, _stop)
    processes.die_with_parent(signal.SIGTERM, parent)
    processes.adopt_orphans()
    _silence_output()
    try:
        import torch

        from .userimport import forget_project_modules

        torch.set_num_threads(1)  # forked children of a threaded parent can deadlock in matmul
        forget_project_modules()  # a parent using the API may have imported some
        _warm_up()
        conn.send(("results", _supervise_runs(tasks, jobs, memory, conn)))
    except (SystemExit, KeyboardInterrupt):  # the parent is gone or going: it expects nothing more
        pass
    except BaseException as error:  # an initlint bug: the parent says so for every file
        conn.send(("failed", f"{type(error).__name__}: {error}"))
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        processes.kill_descendants()
        os._exit(0)


# -- the parent's side ----------------------------------------------------------------------------


def analyse_files(
    tasks: Sequence[Task],
    jobs: int = 1,
    progress: Callable[[int, int, str], None] | None = None,
    started: Callable[[], None] | None = None,
) -> list[FileFacts]:
    """Analyse files in at most ``jobs`` workers; results in the order given.

    Each worker's memory is capped (``processes.memory_limit``: $INITLINT_MEMORY_LIMIT).
    ``started`` is called once the workers' supervisor is forked (threads may start then).
    """
    if not tasks:
        return []
    ctx = _context()
    jobs = max(1, min(jobs, len(tasks)))
    try:
        memory = processes.memory_limit(jobs)
    except ValueError as error:
        return _failed(tasks, str(error))
    ours, theirs = ctx.Pipe()
    supervisor = ctx.Process(
        target=_supervise,
        daemon=False,  # its runners must be allowed children
        args=(theirs, ours, list(tasks), jobs, memory, os.getpid()),
    )
    supervisor.start()
    theirs.close()
    if started is not None:
        started()
    try:
        while True:
            kind, payload = ours.recv()
            if kind == "results":
                results: list[FileFacts] = payload
                return results
            if kind == "failed":
                return _failed(tasks, payload)
            if progress:
                progress(*payload)
    except (EOFError, OSError):
        supervisor.join(5)
        return _failed(tasks, f"the worker supervisor {_exit_description(supervisor.exitcode)}")
    finally:
        ours.close()  # EOF: a supervisor still at work stops, killing its runners
        supervisor.join(10)
        if supervisor.is_alive():
            supervisor.kill()
            supervisor.join()


def _failed(tasks: Sequence[Task], why: str) -> list[FileFacts]:
    problem = AnalysisProblem(ProblemKind.INTERNAL_ERROR, why)
    return [FileFacts(t.path, problem=problem) for t in tasks]
