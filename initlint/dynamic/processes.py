"""Containing processes that run user code: die with the parent, cap memory, tune malloc, kill what they leave behind.

prctl, /proc and the memory cap are Linux's; elsewhere those controls are
no-ops, and workers are only as contained as process groups make them.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_LINUX = sys.platform.startswith("linux")

MEMORY_VARIABLE = "INITLINT_MEMORY_LIMIT"
_SHARE_OF_MEMORY = 0.75  # of the machine's RAM, for all workers together
_MINIMUM = 1 << 30  # torch alone takes a few hundred MB
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _prctl(option: int, value: int) -> None:
    if _LINUX:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def die_with_parent(sig: int, parent: int) -> None:
    """Have the kernel send ``sig`` to this process when ``parent`` (its parent) exits."""
    _prctl(_PR_SET_PDEATHSIG, sig)
    if os.getppid() != parent:  # it exited before we asked
        os.kill(os.getpid(), sig)


def adopt_orphans() -> None:
    """Become the parent of every orphaned descendant (not init), so none escapes ``kill_descendants``."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    ppid = int(handle.read().rpartition(b")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # exited meanwhile
            children.setdefault(ppid, []).append(int(entry))
    return children


def kill_descendants(keep: frozenset[int] = frozenset()) -> None:
    """SIGKILL every descendant of this process except ``keep`` and theirs, and reap those that are ours.

    Killed processes' children are handed to us (``adopt_orphans``) and reaped
    on the next round; rounds stop when none is left.
    """
    if not _LINUX:
        return
    me = os.getpid()
    for _ in range(100):  # a bound, should user code fork faster than we kill
        children = _children()
        found, queue = [], [me]
        while queue:
            for child in children.get(queue.pop(), ()):
                if child not in keep:
                    found.append(child)
                    queue.append(child)
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in children.get(me, ()):
            if pid not in keep:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass


def separate_group(pid: int = 0) -> None:
    """Put process ``pid`` (0: this one) in a process group of its own, which its children join."""
    try:
        os.setpgid(pid, pid)
    except (OSError, AttributeError):
        pass  # it did so itself already, or exited


def kill_group(leader: int) -> None:
    """SIGKILL a process group: a runner and everything it started that stayed in its group."""
    try:
        os.killpg(leader, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # already empty


# glibc's mallopt parameters
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEPT = 256 << 20  # freed memory kept mapped for the next file
_FROM_HEAP = 64 << 20  # allocations up to this size come from the heap, reusing what was freed


def steady_malloc() -> None:
    """Set glibc's malloc up for a process that analyses one file after another: memory a file frees
    stays mapped for the next (up to 256 MB), instead of going back to the kernel and being faulted
    in again page by page (measured: a fifth of a runner's time on a corpus of CNNs and transformer
    blocks). No-op without glibc.

    Not M_PERTURB, which would make what ``torch.empty`` returns zeros in any runner: it writes every
    block malloc hands out, and a LLaMA-70B-shaped build then took 20 s and 5 GB instead of 4.5 s.
    """
    if not _LINUX:
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _FROM_HEAP)
    mallopt(_M_TRIM_THRESHOLD, _KEPT)


def memory_limit(workers: int) -> int | None:
    """Bytes of data each of ``workers`` may map: $INITLINT_MEMORY_LIMIT (e.g. 4G, 512M; none: no limit),
    else an equal share of three quarters of the machine's RAM."""
    given = os.environ.get(MEMORY_VARIABLE, "")
    setting = given.strip().upper().removesuffix("B")
    if setting in ("NONE", "0"):
        return None
    if setting:
        unit = setting[-1] if setting[-1] in _UNITS else ""
        try:
            return int(float(setting.removesuffix(unit)) * _UNITS[unit])
        except ValueError:
            raise ValueError(f"{MEMORY_VARIABLE}={given!r}: expected a size such as 4G or 512M, or none") from None
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return max(int(physical * _SHARE_OF_MEMORY / max(workers, 1)), _MINIMUM)


def limit_memory(limit: int | None) -> None:
    """Cap this process's (and its children's) private writable memory.

    RLIMIT_DATA, not RLIMIT_AS: it counts what can hold data (the heap, anonymous
    mappings), not address space reserved by torch and thread arenas. Over the
    cap, allocations fail: MemoryError in Python, "can't allocate memory" in torch.
    """
    if limit is None or not _LINUX:
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
