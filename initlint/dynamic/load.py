"""Run user code in worker processes, with a timeout per step, each file in a process as it was forked.

Three kinds of process:

- the parent (initlint) starts one supervisor and collects each file's facts
  as they come; it never imports torch;
- the supervisor runs no user code. It imports torch and the analysis,
  exercises them once, snapshots its state (``pristine``) and forks *runners*
  from it; it enforces the timeouts, and kills a runner, with everything the
  runner started, when it hangs, crashes or is no longer pristine;
- a runner imports one file and builds its models, reporting as it goes (the
  models it found, which one it is building, each result, the project files
  it loaded), then says whether it is still as it was forked.

Each file runs in a process in the state the supervisor forked: a fresh
runner, or one whose files so far changed nothing the next could observe
(``pristine`` says what is compared, what is restored, and what is out of
reach). Whatever else a file patches in torch, imports or leaves running goes
with its runner, which is never reused; nothing is ever unloaded (torch's C++
registrations cannot be imported twice). Forking a runner costs 30-60 ms (the
fork, then the pages it copies on write), checking one 3-5 ms: reusing them
is what makes a cold run of many files cost little more than importing and
building them. When a runner exits, crashes or hangs, the model in progress
becomes an error and another runner analyses the file's remaining models, so
one bad model never hides the others. The supervisor dies with the parent,
killing every runner and what they started; runners die with the supervisor;
a runner's memory is capped (``processes``).
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..fix.apply import digest
from ..shared.facts import ERROR, AnalysisProblem, FileFacts, ModelFacts, ModelSpec, ProblemKind, Span
from . import processes

if TYPE_CHECKING:
    from .pristine import Pristine  # imports torch: the parent never does


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


def _silence_output() -> None:
    """User code may print; our stdout must stay clean (one JSON object)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")
    sys.stderr = sys.stdout


# -- a runner: one file after another, while they leave it pristine ---------------------------------


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
    from ..discover import project_roots
    from .analyze import ImportFailed, analyze_file
    from .scriptrun import no_arguments, script_program, show_notebook_source
    from .userimport import project_imports

    with open(task.path, "rb") as handle:  # read once: the digest fixes are checked against is of what runs
        data = handle.read()
    imports = project_imports()
    script = task.script_classes is not None
    imports.pin(task.path, data, script_program(task.path, data, task.script_classes or ()) if script else None)
    show_notebook_source(task.path, data)
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


def _run_files(conn: Any, memory: int | None, supervisor: int, inherited: list[Any], pristine: Pristine | None) -> None:
    """A runner's life: contain itself, then analyse the files it is given, one at a time, for as long
    as each leaves it pristine (``pristine.settle``); exit after the first that does not.

    Runners are forked ahead of need, so the containment below is done while
    another runner works; each file arrives on the pipe.
    """
    processes.separate_group()  # before user code can start anything: what it starts is killed with it
    processes.die_with_parent(signal.SIGKILL, supervisor)
    for other in inherited:  # the supervisor's other pipes: never user code's to read or write
        other.close()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the supervisor's handler is not ours
    processes.limit_memory(memory)
    processes.steady_malloc()
    _silence_output()
    sys.dont_write_bytecode = True  # no __pycache__ in the user's tree, whatever imports what
    if pristine is not None:
        pristine.adopt(memory)
    channel = _Channel(conn)
    while True:
        try:
            task, skip = conn.recv()
        except (EOFError, OSError):  # not needed (any more)
            os._exit(0)
        failed = False
        try:
            _analyse_one(channel, task, skip)
        except BaseException as error:  # an initlint bug: say so, never hang the parent
            message = f"{type(error).__name__}: {error}"
            channel.send(("problem", AnalysisProblem(ProblemKind.INTERNAL_ERROR, message)))
            failed = True
        channel.send(("done", None))  # the file's facts are complete: nothing below can change them
        if failed:
            stale: str | None = "the analysis failed"
        elif pristine is None:
            stale = "a spawned runner has nothing to compare with"
        else:
            stale = pristine.settle()
        channel.send(("settled", stale))
        if stale is not None:
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
    """A runner process, forked before it is needed, and the run it works on (one file after another)."""

    def __init__(self, ctx: Any, memory: int | None, inherited: list[Any], pristine: Pristine | None):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_run_files,
            daemon=False,  # user code may start processes of its own
            args=(child, memory, os.getpid(), [*inherited, self.conn], pristine),
        )
        self.process.start()
        child.close()
        processes.separate_group(self.process.pid)  # the runner does too: whichever comes first
        self.run: _Run | None = None
        self.deadline = 0.0
        self.settled = False  # it said, after its file, whether it can take another
        self.stale: str | None = None  # why not, if it cannot

    def give(self, run: _Run) -> None:
        self.run = run
        self.settled = False
        run.current = None
        self.conn.send((run.task, run.skip()))
        self.deadline = time.monotonic() + run.task.timeout

    def receive(self) -> bool:
        """Take every message sent so far; False when the runner is gone before it settled."""
        assert self.run is not None
        try:
            while not self.settled and self.conn.poll():
                kind, payload = self.conn.recv()
                if kind == "settled":
                    self.settled, self.stale = True, payload
                else:
                    self.run.take(kind, payload)
                self.deadline = time.monotonic() + self.run.task.timeout
        except (EOFError, OSError):
            return False
        return self.settled or self.process.is_alive()

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


def _supervise_runs(
    tasks: Sequence[Task], jobs: int, memory: int | None, parent: Any, pristine: Pristine | None
) -> None:
    """Analyse files in at most ``jobs`` runners at once, sending each file's facts to the parent when done.

    A runner left pristine by its file takes the next one; any other is killed
    with what it started, and from then on a spare runner is kept forked ahead,
    so that a file rarely waits for a fork.
    """
    ctx = _context()
    runs = [_Run(t) for t in tasks]
    order = {id(run): index for index, run in enumerate(runs)}
    waiting = list(runs)
    working: list[_Runner] = []  # on a file, or saying whether it is still pristine after one
    idle: list[_Runner] = []  # forked ahead, or pristine after a file
    reaper = _Reaper()
    finished = 0
    fork_ahead = False

    def fork() -> _Runner:
        return _Runner(ctx, memory, [parent, *(r.conn for r in (*working, *idle))], pristine)

    def retire(runner: _Runner) -> None:
        runner.end()
        reaper.add(runner)
        # What left the runner's process group, orphaned to us (adopt_orphans), goes too.
        processes.kill_descendants(keep=frozenset(r.process.pid for r in (*working, *idle)) | reaper.pids())

    def report(run: _Run) -> None:
        """A file is done: its facts go to the parent now, unpickled there while others run."""
        nonlocal finished
        finished += 1
        parent.send(("facts", (order[id(run)], run.result())))
        parent.send(("progress", (finished, len(runs), run.task.path)))

    while waiting or working:
        while waiting and len(working) < jobs:
            runner = idle.pop() if idle else fork()
            starting = waiting.pop(0)
            runner.give(starting)
            working.append(runner)
            parent.send(("progress", (finished, len(runs), starting.task.path)))
        if waiting and not idle and fork_ahead:
            idle.append(fork())
        timeout = max(0.0, min(r.deadline for r in working) - time.monotonic())
        if parent in multiprocessing.connection.wait([parent, *(r.conn for r in working)], timeout=timeout):
            raise SystemExit  # the parent never writes: readable means it is gone
        for runner in list(working):
            run = runner.run
            assert run is not None
            was_done = run.done
            alive = runner.receive()
            if run.done and not was_done:
                report(run)
            if runner.settled and runner.stale is None:
                working.remove(runner)
                idle.append(runner)  # pristine: the next file runs here
                continue
            timed_out = time.monotonic() > runner.deadline
            if not runner.settled and alive and not timed_out:
                continue
            working.remove(runner)
            exit_text = "" if alive or timed_out else runner.exit_text()
            retire(runner)
            fork_ahead = True
            if not run.done:
                if timed_out:
                    run.lost(f"timed out after {run.task.timeout:g} s", ProblemKind.TIMEOUT)
                else:
                    run.lost(f"the worker {exit_text}", ProblemKind.CRASH)
                if run.done:
                    report(run)
                else:
                    waiting.insert(0, run)  # a new runner carries on with the models left
        reaper.reap()
    # the runners left are killed once the parent has its facts


def _warm_up() -> None:
    """Exercise the analysis once, so that runners fork with torch's lazy setup done."""
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
        try:
            import torch

            from . import analyze, scriptrun  # noqa: F401  (torch and the analysis, loaded once for every runner)
        except ImportError as error:
            conn.send(("no torch", str(error)))
            return
        from .pristine import Pristine, readable
        from .userimport import forget_project_modules

        torch.set_num_threads(1)  # forked children of a threaded parent can deadlock in matmul
        forget_project_modules()  # a parent using the API may have imported some
        gc.callbacks.clear()  # ...or have its collections timed (hypothesis): each would change a runner's state
        _warm_up()
        # Runners are reused only when forked (a spawned one has no snapshot to compare with), and where
        # the check can read dicts from memory.
        pristine = Pristine() if readable and _context().get_start_method() == "fork" else None
        # Frozen objects are left out of garbage collection: a runner's gc.collect() then neither scans
        # nor copies (on write) the supervisor's heap. Measured on a small file: 160 ms in a cold
        # runner, 120 ms warmed up, 20 ms frozen too.
        gc.freeze()
        _supervise_runs(tasks, jobs, memory, conn, pristine)
        conn.send(("finished", None))
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
    results: list[FileFacts | None] = [None] * len(tasks)
    try:
        while True:
            kind, payload = ours.recv()
            if kind == "facts":
                index, facts = payload
                results[index] = facts
            elif kind == "progress":
                if progress:
                    progress(*payload)
            elif kind == "finished":
                missing = AnalysisProblem(ProblemKind.INTERNAL_ERROR, "the worker supervisor sent no facts")
                return [f or FileFacts(t.path, problem=missing) for f, t in zip(results, tasks, strict=True)]
            elif kind == "failed":
                return _failed(tasks, payload)
            elif kind == "no torch":
                raise ImportError(payload)
    except (EOFError, OSError):
        supervisor.join(5)
        return _failed(tasks, f"the worker supervisor {_exit_description(supervisor.exitcode)}")
    finally:
        ours.close()  # EOF: a supervisor still at work stops, killing its runners
        threading.Thread(target=_reap, args=(supervisor,), daemon=True).start()


def _reap(supervisor: Any) -> None:
    """Wait for the supervisor to exit, killing it if it lingers. In a thread: killing its runners takes
    tens of milliseconds the results need not wait for (at exit, multiprocessing waits for it)."""
    supervisor.join(10)
    if supervisor.is_alive():
        supervisor.kill()
        supervisor.join()


def _failed(tasks: Sequence[Task], why: str) -> list[FileFacts]:
    problem = AnalysisProblem(ProblemKind.INTERNAL_ERROR, why)
    return [FileFacts(t.path, problem=problem) for t in tasks]
