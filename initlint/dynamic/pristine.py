"""Whether a runner is as it was forked, after a file: what lets the next file reuse the process.

A fresh runner per file keeps files apart by construction, and costs 30-60 ms a
file (forking a process that imported torch, then the pages it copies on
write). So after each file its runner compares what the next file could observe
with the state it was forked in, and takes the next file only when nothing
differs; any difference, or any doubt, and the supervisor forks a fresh runner.

Compared with a snapshot the supervisor takes before forking (which each runner
completes with what its own set-up changed):

- modules: ``sys.modules`` holds the same modules under the same names; the
  file's project modules are dropped (the next file imports its own), and any
  other new module (a library or a torch submodule imported for the first time)
  means a fresh runner;
- names: every global of every module loaded before the file is the same object
  (``nn.init.kaiming_uniform_``, ``F.relu``, ``torch.randn``, ``builtins.print``,
  ``sys.stdout``), and every module-level list, dict and set holds the same items
  (``nn.Module``'s global hooks, ``warnings.filters``, ``copyreg``'s tables);
- classes: every class those modules reach has the same attributes
  (``nn.Linear.reset_parameters``, ``torch.Tensor``'s methods);
- an audit hook, installed before the first file, sees what leaves no trace in
  those: ``__code__``, ``__defaults__`` or ``__kwdefaults__`` set on a function,
  ``__bases__``, ``__name__``... on a class, ``__class__`` on a module, loaded
  before the file (unless set back); starting a process, loading or calling C
  through ctypes, adding an audit hook, setting environment variables, reaching
  objects through ``gc``, writing under ``/proc``: each means a fresh runner;
- torch's global switches: default dtype and device, grad, inference and
  forward-grad mode, threads, deterministic algorithms, anomaly mode, autocast,
  matmul precision, backend flags, torch-function and dispatch mode stacks;
- the process: threads, children, open descriptors, signal handlers, timers and
  mask, working directory, environment, umask, resource limits, recursion limit,
  trace and profile hooks, gc settings, numpy's error handling, memory mapped.

Restored rather than compared, being initlint's own per-file set-up or caches
every file reads alike: ``sys.path``, ``sys.argv``, ``sys.meta_path`` (the
project import finder), ``sys.path_importer_cache``, ``linecache``, ``inspect``'s
module caches, the flags torch leaves behind removed global hooks, and the random
generators (torch's and numpy's as forked; ``random`` reseeded, as a fork does).
Never compared: ``re``'s pattern cache, import locks, a module's
``__warningregistry__``, a class's ``__slotnames__`` (``copy``'s cache) and
torch's hook-handle counter. So a file's results do not depend on the files
before it, but for memory it reads without writing: what ``torch.empty`` returns
holds whatever was freed there last, in a fresh runner as in a reused one (the
measured forward skips models with such parameters, IL303).

Comparing the ~6,300 dicts item by item would touch every object they hold, and
in a forked process touching is writing (reference counts): it copied ~100 ms of
pages per runner, more than a fresh fork costs. So a dict is read by its version
tag, straight from memory (CPython bumps it on every change), and compared item
by item, with its copy, only when the tag moved; a change that puts back what
was there (torch.fx patches ``nn.Module.__call__`` while it traces) is no change.
Lists and sets (~1,100) are compared with their copies, which for unchanged items
compares pointers only. Where the interpreter does not keep dict versions as
checked at import (``readable``), runners are never reused.

Out of reach, by design: C++ state torch exposes through no getter listed above;
objects nested inside a module's containers, and attributes of objects a module
holds (other than classes and functions); code written to defeat the check, which
could as well forge results on the runner's pipe. The check runs no code of the
file: equal items are compared by identity, and should a changed item's own
``__eq__`` run, that alone makes the runner stale.
"""

from __future__ import annotations

import ctypes
import gc
import inspect
import linecache
import os
import random
import signal
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import torch

from .record import CodeMap
from .userimport import forget_project_imports

_MISSING = object()

# Audit events after which a process is never reused.
_STALE_EVENTS = {
    "os.fork": "started a process",
    "os.forkpty": "started a process",
    "os.system": "started a process",
    "os.exec": "started a process",
    "os.posix_spawn": "started a process",
    "os.spawn": "started a process",
    "subprocess.Popen": "started a process",
    "pty.spawn": "started a process",
    "sys.addaudithook": "added an audit hook",
    "os.putenv": "set an environment variable",
    "os.unsetenv": "unset an environment variable",
    "gc.get_objects": "reached objects through gc",
    "gc.get_referrers": "reached objects through gc",
    "gc.get_referents": "reached objects through gc",
}

# Module attributes that change as any code runs and that no file sees differently: never compared.
_UNCOMPARED = {
    ("re", "_cache"),
    ("re", "_cache2"),
    ("importlib._bootstrap", "_module_locks"),
    ("importlib._bootstrap", "_blocking_on"),
    ("sys", "modules"),  # compared on its own: the file's project modules are dropped first
    ("sys", "path_importer_cache"),
    ("linecache", "cache"),
    ("inspect", "modulesbyfile"),
    ("inspect", "_filesbymodname"),
    ("warnings", "onceregistry"),
}
_UNCOMPARED_GLOBALS = frozenset({"__warningregistry__"})  # set in a module's globals by a warning it issues
_UNCOMPARED_ATTRIBUTES = frozenset({"__slotnames__"})  # set on a class by copy.deepcopy / pickle of its instances
_COUNTERS = {"torch.utils.hooks.RemovableHandle": frozenset({"next_id", "__slotnames__"})}
_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: classes whose attributes cannot be set
_MAX_GROWTH = 256 << 20  # bytes of data mapping a file may leave behind (freed memory glibc keeps)

# -- reading dicts from memory -------------------------------------------------------

_WORD = ctypes.sizeof(ctypes.c_void_p)
_word_at = ctypes.c_size_t.from_address
_DICT_VERSION = 3 * _WORD  # CPython's PyDictObject: {refcnt, type, ma_used, ma_version_tag, ...}


def _version(address: int) -> int:
    return int(_word_at(address + _DICT_VERSION).value)


def _readable() -> bool:
    """Whether this interpreter keeps a dict's version where read above, bumped on every change: checked live."""
    if sys.implementation.name != "cpython":
        return False
    try:
        first, second = object(), object()
        held = {"a": first}
        versions = [_version(id(held))]
        held["a"] = second
        versions.append(_version(id(held)))
        held["b"] = first
        versions.append(_version(id(held)))
        del held["b"]
        versions.append(_version(id(held)))
        held["a"] = second  # the same object again: no change
        versions.append(_version(id(held)))
        return versions[0] < versions[1] < versions[2] < versions[3] == versions[4]
    except (ValueError, OverflowError, TypeError, OSError):
        return False


readable = _readable()


class _Words:
    """Reads the machine words at fixed addresses, all at once where numpy is there to gather them.

    The addresses are in objects the snapshot holds, so they stay theirs; numpy
    reads them through views over the stretches of memory they fall in (never
    reading between), one gather per stretch instead of a ctypes call each.
    """

    _GAP = 1 << 30  # addresses further apart than this are read through separate views

    def __init__(self, addresses: list[int]):
        self.addresses = addresses
        self._parts: list[tuple[Any, Any, Any]] = []  # (view, word offsets in it, positions in the result)
        numpy: Any = sys.modules.get("numpy")
        if numpy is None or not addresses:
            return
        self._zeros, self._uint64 = numpy.zeros, numpy.uint64  # bound now: a file may rebind numpy's names
        order = sorted(range(len(addresses)), key=addresses.__getitem__)
        stretches: list[list[int]] = [[order[0]]]
        for position in order[1:]:
            if addresses[position] - addresses[stretches[-1][-1]] > self._GAP:
                stretches.append([])
            stretches[-1].append(position)
        for positions in stretches:
            low, high = addresses[positions[0]], addresses[positions[-1]]
            words = (ctypes.c_uint64 * ((high - low) // 8 + 1)).from_address(low)
            view = numpy.frombuffer(words, dtype=numpy.uint64)
            offsets = numpy.array([(addresses[p] - low) // 8 for p in positions], dtype=numpy.int64)
            self._parts.append((view, offsets, numpy.array(positions, dtype=numpy.int64)))

    def read(self) -> Any:
        """The words now: a numpy array, or a list without numpy."""
        if not self._parts:
            return [int(_word_at(address).value) for address in self.addresses]
        values = self._zeros(len(self.addresses), dtype=self._uint64)
        for view, offsets, positions in self._parts:
            values[positions] = view[offsets]
        return values

    def differing(self, now: Any, then: Any) -> list[int]:
        """Positions where two ``read``s differ."""
        if not self._parts:
            return [i for i, (a, b) in enumerate(zip(now, then)) if a != b]
        positions: list[int] = (now != then).nonzero()[0].tolist()
        return positions


class _Watched:
    """Dicts, lists and sets of the snapshot, and a copy of each.

    A dict is read by its version tag alone, from memory: none of its items
    is touched. Lists and sets (a tenth of the items) are compared item by item.
    """

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.objects: list[Any] = []  # held: their addresses stay theirs
        self.copies: list[Any] = []
        self.ignored: list[frozenset[str]] = []
        self.dicts: list[int] = []  # indexes of the dicts, in the order of their versions
        self.others: list[int] = []  # indexes of the lists and sets
        self._words: _Words | None = None  # reads the dicts' versions; made again (``seal``) once others are added
        self._versions: Any = []  # the dicts' versions in the snapshot, as ``_words`` reads them
        self._read: Any = None  # ...and as last read

    def add(self, label: str, container: Any, ignored: frozenset[str] = frozenset()) -> None:
        """Watch a container as it is now (a dict's version is read by ``seal``, all at once)."""
        self.labels.append(label)
        self.objects.append(container)
        self.ignored.append(ignored)
        self.copies.append(_copy(container))
        (self.dicts if isinstance(container, dict) else self.others).append(len(self.objects) - 1)
        self._words = None

    def seal(self) -> None:
        """Read the versions of the dicts added since the last time; the others keep theirs."""
        self._words = _Words([id(self.objects[index]) + _DICT_VERSION for index in self.dicts])
        now = self._words.read()
        versions = now.copy()
        versions[: len(self._versions)] = self._versions
        self._versions = versions

    def changed(self) -> list[int]:
        """Which containers differ from the snapshot (a dict: in memory; it may hold the same items)."""
        if self._words is None:
            self.seal()
        assert self._words is not None
        self._read = self._words.read()
        found = [self.dicts[position] for position in self._words.differing(self._read, self._versions)]
        objects, copies = self.objects, self.copies
        return found + [index for index in self.others if objects[index] != copies[index]]

    def differs(self, index: int) -> str | None:
        """Whether a container that changed holds other items; what changed if it does ("" for a list or set)."""
        live, copy, ignored = self.objects[index], self.copies[index], self.ignored[index]
        if not isinstance(live, dict):
            return None if live == copy else ""
        if len(live) == len(copy) and live == copy:
            return None
        for name in set(live) | set(copy):
            if name not in ignored and live.get(name, _MISSING) is not copy.get(name, _MISSING):
                return str(name)
        return None

    def renew(self) -> None:
        """After ``changed``: the dicts' versions as read are the snapshot's (their items are the same)."""
        self._versions = self._read

    def refresh(self, indexes: list[int]) -> None:
        """After ``changed``: take these containers as they are now (what a runner's own set-up changed)."""
        for index in indexes:
            self.copies[index] = _copy(self.objects[index])
        self.renew()


def _copy(container: Any) -> Any:
    if isinstance(container, dict):
        return dict(container)
    return list(container) if isinstance(container, list) else set(container)


# -- the state outside Python's objects ------------------------------------------------------------------


def _torch_switches() -> list[Callable[[], Any]]:
    """torch's process-wide settings, each read by a getter (the ones this torch has)."""
    getters: list[Callable[[], Any]] = [
        torch.get_default_dtype,
        torch.is_grad_enabled,
        torch.is_inference_mode_enabled,
        torch.get_num_threads,
        torch.get_num_interop_threads,
        torch.are_deterministic_algorithms_enabled,
        torch.is_deterministic_algorithms_warn_only_enabled,
        torch.is_anomaly_enabled,
        torch.is_anomaly_check_nan_enabled,
        torch.get_float32_matmul_precision,
        torch.is_warn_always_enabled,
        lambda: torch.is_autocast_enabled("cpu"),
        lambda: torch.get_autocast_dtype("cpu"),
    ]
    for name in ("get_default_device", "is_autocast_cache_enabled", "get_deterministic_debug_mode"):
        getter = getattr(torch, name, None)
        if callable(getter):
            getters.append(getter)
    for name in (
        "_len_torch_function_stack",
        "_len_torch_dispatch_stack",
        "_is_torch_function_enabled",
        "_is_torch_function_all_disabled",
        "_is_fwd_grad_enabled",
        "_get_tracing_state",
        "_is_multithreading_enabled",
        "_is_view_replay_enabled",
        "_get_mkldnn_enabled",
        "_get_mkldnn_deterministic",
        "_get_cudnn_enabled",
        "_get_cudnn_benchmark",
        "_get_cudnn_deterministic",
        "_get_cudnn_allow_tf32",
        "_get_cublas_allow_tf32",
        "_get_cublas_allow_fp16_reduced_precision_reduction",
        "_get_cublas_allow_bf16_reduced_precision_reduction",
        "_get_flash_sdp_enabled",
        "_get_math_sdp_enabled",
        "_get_mem_efficient_sdp_enabled",
        "_get_cudnn_sdp_enabled",
        "_get_deterministic_fill_uninitialized_memory",
        "_get_linalg_preferred_backend",
        "_get_blas_preferred_backend",
        "_get_warnAlways",
        "_jit_get_inline_everything_mode",
    ):
        getter = getattr(torch._C, name, None)
        if callable(getter):
            getters.append(getter)
    return getters


_SWITCHES = _torch_switches()


def _switches() -> tuple[Any, ...]:
    values = []
    for getter in _SWITCHES:
        try:
            values.append(getter())
        except Exception as error:  # a getter this build cannot answer: its failure is the value
            values.append(type(error))
    return tuple(values)


def _data_mapped() -> int:
    """Bytes of private data this process maps (VmData: what RLIMIT_DATA caps)."""
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) << 10
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _children() -> list[str]:
    """This process's child processes, from /proc (empty where /proc cannot say)."""
    found = []
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as handle:
                found.extend(handle.read().split())
    except OSError:
        pass
    return found


def _listing(path: str) -> tuple[str, ...]:
    try:
        return tuple(sorted(os.listdir(path)))
    except OSError:
        return ()


def _process() -> dict[str, Any]:
    """The process-wide state a file can change outside Python's objects and torch's switches."""
    state: dict[str, Any] = {
        "threads": (threading.active_count(), len(_listing("/proc/self/task"))),
        "open descriptors": _listing("/proc/self/fd"),
        "recursion limit": sys.getrecursionlimit(),
        "trace hook": sys.gettrace(),
        "profile hook": sys.getprofile(),
        "switch interval": sys.getswitchinterval(),
        "gc settings": (gc.isenabled(), gc.get_threshold()),
        "environment": dict(os.environ),
    }
    try:
        state["working directory"] = os.getcwd()
    except OSError:
        state["working directory"] = None
    umask = os.umask(0o022)
    os.umask(umask)
    state["umask"] = umask
    if sys.platform.startswith("linux"):
        import resource

        state["resource limits"] = tuple(
            resource.getrlimit(getattr(resource, name)) for name in sorted(dir(resource)) if name.startswith("RLIMIT_")
        )
        state["signal mask"] = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        state["timers"] = tuple(
            signal.getitimer(which) for which in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)
        )
    state["signal handlers"] = tuple(signal.getsignal(s) for s in sorted(signal.valid_signals()) if s < signal.NSIG)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        state["numpy error handling"] = (numpy.geterr(), numpy.geterrcall())
    return state


class _Audit:
    """What the audit hook saw while a file ran: the first reason to stop, and the attributes set
    that leave no trace in a dict (a function's code and defaults, a class's bases)."""

    def __init__(self) -> None:
        self.armed = False
        self.reason: str | None = None
        self.set: list[tuple[Any, str, Any]] = []  # (object, attribute, the value it had)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.armed:
            return
        if event in _STALE_EVENTS:
            self.reason = self.reason or _STALE_EVENTS[event]
        elif event.startswith("ctypes."):
            self.reason = self.reason or "used ctypes"
        elif event == "object.__setattr__" or event == "object.__delattr__":
            if len(args) >= 2 and isinstance(args[1], str):
                self.set.append((args[0], args[1], getattr(args[0], args[1], _MISSING)))
        elif event == "open" and args and isinstance(args[0], str) and args[0].startswith("/proc/"):
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            if any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR):
                self.reason = self.reason or "wrote under /proc"


# -- the snapshot ------------------------------------------------------------------------------------------


class Pristine:
    """The state runners are forked in; ``settle`` says whether a runner still has it after a file.

    Taken in the supervisor, once, where it costs tens of milliseconds; each
    runner calls ``adopt`` after its own set-up and before any file (taking what
    the set-up changed as pristine, and installing the audit hook), and
    ``settle`` after each file. Only where ``readable``.
    """

    def __init__(self) -> None:
        _drop_inert_hook_flags()  # left by a hook removed before the fork (an in-process check): no state
        # First what imports modules when first read (torch's default device, numpy.random), then the modules.
        self.switches = _switches()
        self.random = (torch.random.get_rng_state(), _numpy_random())
        self.modules: dict[str, Any] = {}
        self.watched = _Watched()
        self.class_ids: set[int] = set()
        self._take_new_modules()
        self.watched.seal()
        self.linecache = dict(linecache.cache)
        self.inspect_caches = (dict(inspect.modulesbyfile), dict(inspect._filesbymodname))  # type: ignore[attr-defined]
        self.sys_lists = (list(sys.path), list(sys.argv), list(sys.meta_path))
        self.importer_cache = frozenset(sys.path_importer_cache)
        self.process: dict[str, Any] = {}
        self.data = 0
        self.headroom: int | None = None
        self.audit = _Audit()

    def _take_new_modules(self) -> None:
        """Watch the modules not seen yet: their globals, their lists, dicts and sets, their classes."""
        classes: dict[int, type] = {}
        for name, module in list(sys.modules.items()):
            if name in self.modules:
                continue
            self.modules[name] = module
            if not isinstance(module, types.ModuleType):
                continue
            namespace = vars(module)
            self.watched.add(name, namespace, _UNCOMPARED_GLOBALS)
            for attribute, value in list(namespace.items()):
                if isinstance(value, type):
                    _reach(value, classes, self.class_ids)
                elif isinstance(value, (list, dict, set)) and (name, attribute) not in _UNCOMPARED:
                    self.watched.add(f"the contents of {name}.{attribute}", value)
        referents = gc.get_referents  # a class's attributes: the dict behind its read-only mapping
        for cls in classes.values():
            label = f"{cls.__module__}.{cls.__qualname__}"
            [attributes] = referents(cls.__dict__)
            self.watched.add(label, attributes, _COUNTERS.get(label, _UNCOMPARED_ATTRIBUTES))
        self.class_ids.update(classes)

    def adopt(self, memory: int | None) -> None:
        """In a runner, before its first file: take what its own set-up changed as pristine, install the audit hook."""
        if len(sys.modules) != len(self.modules):  # reading every name would copy pages on write: only if needed
            self._take_new_modules()
        self.watched.refresh(self.watched.changed())
        self.switches = _switches()
        self.sys_lists = (list(sys.path), list(sys.argv), list(sys.meta_path))
        self.importer_cache = frozenset(sys.path_importer_cache)
        self.modules = dict(sys.modules)
        self.process = _process()
        self.data = _data_mapped()
        self.headroom = None if memory is None else max(memory - self.data, 0)
        sys.addaudithook(self.audit)
        self.audit.armed = True

    def settle(self) -> str | None:
        """After a file: restore initlint's per-file set-up; then the first thing that differs, None if nothing."""
        try:
            reason = self._settle()
        except Exception as error:  # whatever the check cannot read is a difference
            reason = f"could not be checked ({type(error).__name__}: {error})"
        self.audit.set.clear()
        self.audit.armed = reason is None
        return reason

    def _settle(self) -> str | None:
        if threading.active_count() > self.process["threads"][0]:
            return "left a thread running"
        self._restore()
        stray = self._drop_project_modules()
        if stray is not None:
            return f"imported {stray}"
        gc.collect()  # the file's objects go now: their finalizers run while the hook still watches
        self.audit.armed = False
        if self.audit.reason is not None:
            return self.audit.reason
        return self._compare_objects() or self._compare_process()

    def _restore(self) -> None:
        forget_project_imports()
        path, argv, meta_path = self.sys_lists
        sys.path[:], sys.argv[:], sys.meta_path[:] = path, argv, meta_path
        for key in set(sys.path_importer_cache) - self.importer_cache:
            del sys.path_importer_cache[key]
        linecache.cache.clear()
        linecache.cache.update(self.linecache)
        for cache, saved in zip((inspect.modulesbyfile, inspect._filesbymodname), self.inspect_caches):  # type: ignore[attr-defined]
            cache.clear()
            cache.update(saved)
        _drop_inert_hook_flags()
        torch_state, numpy_state = self.random
        torch.random.set_rng_state(torch_state)
        random.seed()  # from the system's entropy, as after a fork (``random`` reseeds in a forked child)
        if numpy_state is not None:
            sys.modules["numpy"].random.set_state(numpy_state)

    def _drop_project_modules(self) -> str | None:
        """Forget the modules the file imported from the project; the name of any other new module."""
        code = CodeMap()
        stray = None
        for name, module in list(sys.modules.items()):
            if name in self.modules:
                continue
            if _is_project_module(module, code):
                del sys.modules[name]
            elif stray is None:
                stray = name
        return stray

    def _compare_objects(self) -> str | None:
        """The first module, global, container or class attribute changed (running no code of the file)."""
        if len(sys.modules) != len(self.modules):
            return "removed a module"
        for name, module in self.modules.items():
            if sys.modules.get(name, _MISSING) is not module:
                return f"replaced or removed the module {name}"
        changed = self.watched.changed()
        if changed:
            ran: list[str] = []
            code = CodeMap()

            def watch(frame: types.FrameType, event: str, arg: Any) -> None:
                if event == "call" and code.classify(frame.f_code.co_filename)[0] == "user":
                    ran.append(frame.f_code.co_name)

            sys.setprofile(watch)
            try:
                differences = [(index, self.watched.differs(index)) for index in changed]
            finally:
                sys.setprofile(None)
            if ran:
                return f"changed a value whose comparison ran {ran[0]}()"
            for index, difference in differences:
                if difference is not None:
                    label = self.watched.labels[index]
                    return f"changed {label}.{difference}" if difference else f"changed {label}"
            self.watched.renew()  # changed and put back: the same as before
        for owner, attribute, before in self.audit.set:
            if self._was_pristine(owner) and getattr(owner, attribute, _MISSING) is not before:
                return f"set {attribute} of {getattr(owner, '__qualname__', type(owner).__name__)}"
        return None

    def _was_pristine(self, owner: Any) -> bool:
        """Whether an object the audit hook saw changed existed before the file."""
        if isinstance(owner, type):
            return id(owner) in self.class_ids
        if isinstance(owner, types.ModuleType):
            return any(module is owner for module in self.modules.values())
        if isinstance(owner, types.FunctionType):  # its code or defaults: a function of a module loaded before
            return owner.__module__ in self.modules
        return False  # an instance (parametrize swaps a module's class): the file's own object

    def _compare_process(self) -> str | None:
        if _switches() != self.switches:
            return "changed a torch setting (default dtype or device, grad mode, threads, determinism...)"
        if _children():
            return "left a process running"
        state = _process()
        for key, value in self.process.items():
            if state.get(key) != value:
                return f"changed the {key}"
        growth = _data_mapped() - self.data
        if growth > min(_MAX_GROWTH, self.headroom // 8 if self.headroom is not None else _MAX_GROWTH):
            return f"kept {growth >> 20} MB of memory"
        return None


def _drop_inert_hook_flags() -> None:
    """Removing a global forward hook registered ``with_kwargs`` leaves its flag behind (torch keeps it in
    a dict the handle does not know; initlint's concrete forward does this). Looked up only for hooks
    still registered, it is inert: dropped, so that it is no change."""
    module = torch.nn.modules.module
    hooks, flags = (
        getattr(module, "_global_forward_hooks", None),
        getattr(module, "_global_forward_hooks_with_kwargs", None),
    )
    if isinstance(hooks, dict) and isinstance(flags, dict):
        for key in [key for key in flags if key not in hooks]:
            del flags[key]


def _reach(cls: type, found: dict[int, type], known: set[int]) -> None:
    """``cls`` and the classes its attributes hold, transitively: those whose attributes can be set."""
    if id(cls) in found or id(cls) in known or cls.__flags__ & _IMMUTABLE_TYPE:
        return
    found[id(cls)] = cls
    for value in list(vars(cls).values()):
        if isinstance(value, type):
            _reach(value, found, known)


def _numpy_random() -> Any:
    numpy = sys.modules.get("numpy")
    return numpy.random.get_state() if numpy is not None else None


def _is_project_module(module: Any, code: CodeMap) -> bool:
    """A module imported from the user's project (a file of it, or a namespace package in it)."""
    filename = getattr(module, "__file__", None)
    if isinstance(filename, str):
        return code.classify(filename)[0] == "user"
    locations = list(getattr(module, "__path__", None) or ())
    return bool(locations) and all(
        isinstance(p, str) and code.classify(os.path.join(p, "__init__.py"))[0] == "user" for p in locations
    )
