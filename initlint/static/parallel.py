"""Static analysis of many files on several cores: forked workers, each file's facts sent back when done.

Static mode runs no user code, so its workers need no isolation: they are
forked from initlint (the analysis imported, the sources in memory) and handed
one file at a time, the largest first, so no core idles while another still
has a queue; this process only hands out files and collects their facts. A
worker that dies costs the file it was analysing (an internal error, as an
analyser bug costs one file) and nothing else: its other files go to the
others, or are analysed here. Where fork is not available, or there is too
little source to pay for a process, every file is analysed in this process.
"""

from __future__ import annotations

import gc
import signal
import sys
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from ..shared.facts import AnalysisProblem, FileFacts, ProblemKind

if TYPE_CHECKING:  # multiprocessing takes 15 ms to import: only a run with workers pays for it
    from multiprocessing.connection import Connection

Result = TypeVar("Result")
Analyse = Callable[[str, str], Result]  # (absolute path, text) -> what is learnt from the file
Lost = Callable[[str], Result]  # (absolute path) -> the result of a file whose worker died
Sources = Sequence[tuple[str, str]]  # (absolute path, text) of each file

# Source a worker should have to pay for its fork: about 2,000 lines, some 50 ms of analysis.
_BYTES_PER_WORKER = 64 * 1024
# Files a worker holds at once: the next is there when it sends a result.
_AHEAD = 2


# Collections every 20,000 allocations instead of Python's 700: the objects analysing a file allocates
# mostly live until its facts are sent, and collecting them young again and again took 10-20% of the
# analysis (125k lines at -j 1: 4.9 -> 4.0-4.6 s, interleaved runs), for 1.1x the peak memory.
_ALLOCATIONS_PER_COLLECTION = 20_000


def analyse_all(sources: Sources, analyse: Analyse[Result], jobs: int, lost: Lost[Result]) -> list[Result]:
    """``analyse(path, text)`` of every source, in the order given, on up to ``jobs`` cores; ``lost(path)``
    stands for a file whose worker died analysing it."""
    before = gc.get_threshold()
    gc.set_threshold(_ALLOCATIONS_PER_COLLECTION, *before[1:])  # inherited by the workers
    try:
        return _analysed(sources, analyse, jobs, lost)
    finally:
        gc.set_threshold(*before)


def _analysed(sources: Sources, analyse: Analyse[Result], jobs: int, lost: Lost[Result]) -> list[Result]:
    workers = min(jobs, len(sources), sum(len(text) for _, text in sources) // _BYTES_PER_WORKER)
    if workers < 2 or not _can_fork():
        return [analyse(path, text) for path, text in sources]
    results: dict[int, Result] = {}
    waiting = deque(sorted(range(len(sources)), key=lambda i: len(sources[i][1]), reverse=True))
    try:
        running = _Workers(sources, analyse, lost, workers, waiting)
    except OSError:  # no process can be forked (a process limit): all of them here
        return [analyse(path, text) for path, text in sources]
    with running:
        while running.busy:
            running.collect(results, waiting)
    for index in waiting:  # every worker died
        results[index] = analyse(*sources[index])
    return [results[index] for index in range(len(sources))]


def _can_fork() -> bool:
    import multiprocessing

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class _Workers(Generic[Result]):
    """Forked workers, the files each holds, and their results as they come."""

    def __init__(
        self, sources: Sources, analyse: Analyse[Result], lost: Lost[Result], count: int, waiting: deque[int]
    ) -> None:
        import multiprocessing

        self.sources = sources
        self.lost = lost
        context = multiprocessing.get_context("fork")
        pipes = [context.Pipe() for _ in range(count)]
        self.ends = [mine for mine, _ in pipes]
        self.held: dict[Connection, deque[int]] = {}  # a live worker's end -> the files it was given, in order
        self.processes = []
        try:
            for mine, theirs in pipes:
                process = context.Process(target=_work, args=(theirs, self.ends, sources, analyse), daemon=True)
                process.start()
                theirs.close()
                self.processes.append(process)
                self.held[mine] = deque()
                for _ in range(_AHEAD):
                    self._give(mine, waiting)
        except BaseException:
            self.close()
            raise

    @property
    def busy(self) -> bool:
        return bool(self.held)

    def collect(self, results: dict[int, Result], waiting: deque[int]) -> None:
        """Wait for results from the workers and take them, handing out more files."""
        from multiprocessing.connection import wait

        ready = wait(list(self.held))
        for conn in [end for end in self.held if end in ready]:
            try:
                index, result = conn.recv()
            except (EOFError, OSError):  # it died: the file it was analysing is lost, the others wait again
                lost = self.held.pop(conn)
                if lost:
                    results[lost[0]] = self.lost(self.sources[lost[0]][0])
                    waiting.extendleft(reversed(list(lost)[1:]))
                continue
            results[index] = result
            self.held[conn].remove(index)
            self._give(conn, waiting)

    def _give(self, conn: Connection, waiting: deque[int]) -> None:
        """The largest waiting file to a worker; a worker with nothing left to do is told to stop."""
        if not waiting and self.held[conn]:
            return  # it has work; it stops once that is done
        index = waiting.popleft() if waiting else None
        try:
            conn.send(index)
        except OSError:  # it died: waiting for it reads its end closed
            if index is not None:
                waiting.appendleft(index)
            return
        if index is None:
            del self.held[conn]
        else:
            self.held[conn].append(index)

    def close(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join()
        for conn in self.ends:
            conn.close()

    def __enter__(self) -> _Workers[Result]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def lost_facts(path: str) -> FileFacts:
    """The facts of a file whose worker died analysing it: an internal error, as an analyser bug."""
    problem = AnalysisProblem(ProblemKind.INTERNAL_ERROR, "the static analysis process died analysing this file")
    return FileFacts(path, problem=problem)


def _work(conn: Connection, parent_ends: Sequence[Connection], sources: Sources, analyse: Analyse[Result]) -> None:
    """A worker's life: analyse each file it is given and send its facts back, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is the parent's to handle: it stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for end in parent_ends:  # the parent's ends live in the parent alone: its death reads as EOF here
        end.close()
    # What the worker inherited lives as long as it does: collections need not scan it again and again
    # (each parsed file promotes thousands of nodes; the full collections that follow took 15% of its time).
    gc.freeze()
    while True:
        try:
            index = conn.recv()
            if index is None:
                return
            conn.send((index, analyse(*sources[index])))
        except (EOFError, OSError):  # the parent is gone
            return
