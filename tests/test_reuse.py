"""Runners are reused only while files leave them pristine: whatever a file changes, the next file runs elsewhere.

Every file below writes down, when imported, the process it runs in, when, and
what it sees of torch and the interpreter; then some change one thing. The
oracle is the first file's record (a fresh runner, before any change) and the
order in which files ran in each process, never initlint's own report of why a
runner was not reused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import XAVIER_RELU, run_process, write

RECORDS = """
import json
import math
import os
import random
import sys
import threading
import time
import warnings

import torch
import torch.nn as nn


def record():
    seen = {
        "dtype": str(torch.get_default_dtype()),
        "grad": torch.is_grad_enabled(),
        "threads": torch.get_num_threads(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "kaiming_uniform_": nn.init.kaiming_uniform_.__module__,
        "reset_parameters": nn.Linear.reset_parameters.__module__,
        "normal_": torch.Tensor.normal_ is torch._C.TensorBase.normal_,
        "forward hooks": len(nn.modules.module._global_forward_hooks),
        "gain": nn.init.calculate_gain("leaky_relu"),
        "sqrt": math.sqrt(4.0),
        "warnings filters": len(warnings.filters),
        "environment": os.environ.get("INITLINT_TEST_MARK"),
        "working directory": os.getcwd(),
        "this": "this" in sys.modules,
        "threads alive": threading.active_count(),
        "random": torch.rand(1).item(),
    }
    with open(__file__ + ".json", "w") as handle:
        json.dump({"pid": os.getpid(), "at": time.monotonic_ns(), "seen": seen}, handle)


record()
{change}


class {name}(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)
"""

# One change each, made when the file is imported: each must keep the next file out of this process.
CHANGES = {
    "init_function": "nn.init.kaiming_uniform_ = lambda tensor, *args, **kwargs: tensor",
    "class_method": "nn.Linear.reset_parameters = lambda self: None",
    "tensor_method": "torch.Tensor.normal_ = lambda self, *args, **kwargs: self",
    "default_dtype": "torch.set_default_dtype(torch.float64)",
    "grad_mode": "torch.set_grad_enabled(False)",
    "threads": "torch.set_num_threads(3)",
    "determinism": "torch.use_deterministic_algorithms(True)",
    "global_hook": "nn.modules.module.register_module_forward_hook(lambda *args: None)",
    "warnings_filter": 'warnings.filterwarnings("error")',
    "stdlib_function": "math.sqrt = lambda x: 1.0",
    "function_defaults": "nn.init.calculate_gain.__defaults__ = (0.5,)",
    "environment": 'os.environ["INITLINT_TEST_MARK"] = "set"',
    "working_directory": 'os.chdir("/")',
    "new_module": "import this",
    "thread": "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()",
    "process": 'os.system("true")',
    "random_state": "torch.manual_seed(1234); random.seed(1234)",  # no reason to leave: generators are reset
}
CLEAN = "pass"


def corpus(directory: Path) -> list[str]:
    """A clean file first, then each change followed by a clean file: the order files are given in."""
    order = ["a_clean.py"]
    write(directory, "a_clean.py", RECORDS.replace("{change}", CLEAN).replace("{name}", "Clean"))
    for number, (label, change) in enumerate(CHANGES.items()):
        changed, after = f"m{number:02d}_{label}.py", f"m{number:02d}_{label}_next.py"
        write(directory, changed, RECORDS.replace("{change}", change).replace("{name}", f"Changed{number}"))
        write(directory, after, RECORDS.replace("{change}", CLEAN).replace("{name}", f"Next{number}"))
        order += [changed, after]
    return order


def records(directory: Path, order: list[str]) -> dict[str, dict]:
    return {name: json.loads((directory / f"{name}.json").read_text()) for name in order}


def check(directory: Path, *args: str) -> dict:
    result = run_process("check", "--format", "json", "--no-cache", *args, cwd=directory, timeout=600)
    assert result.stderr == ""
    return json.loads(result.stdout)


def later_in_same_process(seen: dict[str, dict], name: str) -> list[str]:
    """Files that ran in the process ``name`` ran in, after it."""
    mine = seen[name]
    return [other for other, r in seen.items() if r["pid"] == mine["pid"] and r["at"] > mine["at"]]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_that_changes_anything_is_the_last_its_runner_runs(tmp_path, jobs):
    order = corpus(tmp_path)
    document = check(tmp_path, "-j", jobs, *order)
    assert {m["status"] for m in document["models"]} == {"traced"}
    seen = records(tmp_path, order)
    pristine = seen["a_clean.py"]["seen"]
    for name in order:  # every file, changed or not, found torch and the process as the first did
        assert seen[name]["seen"] == pristine, name
    for label in CHANGES:
        if label != "random_state":
            [changed] = [name for name in order if name.endswith(f"_{label}.py")]
            assert later_in_same_process(seen, changed) == [], changed
    # ...and files that change nothing leave their runner to the next file.
    assert len({r["pid"] for r in seen.values()}) < len(order)
    if jobs == "1":
        for name, following in zip(order, order[1:]):
            if name == "a_clean.py" or name.endswith(("_next.py", "_random_state.py")):
                assert seen[following]["pid"] == seen[name]["pid"], name


HELPER_ONE = """
import torch.nn as nn


def head():
    layer = nn.Linear(32, 32)
    nn.init.normal_(layer.weight, std=0.01)
    return layer
"""

HELPER_TWO = HELPER_ONE.replace("nn.init.normal_(layer.weight, std=0.01)", "nn.init.kaiming_normal_(layer.weight)")

USES_HEAD = """
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from helpers import head  # noqa: E402

open(__file__ + ".pid", "w").write(str(os.getpid()))


class {name}(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = head()
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(torch.relu(self.head(x)))
"""


def two_projects(tmp_path: Path) -> list[str]:
    """Two folders each have a helpers.py (one/ inits its head with N(0, 0.01) before a ReLU, two/ with He)."""
    write(tmp_path, "one/helpers.py", HELPER_ONE)
    write(tmp_path, "two/helpers.py", HELPER_TWO)
    write(tmp_path, "one/model.py", USES_HEAD.format(name="One"))
    write(tmp_path, "two/model.py", USES_HEAD.format(name="Two"))
    return ["one/model.py", "two/model.py"]


def test_each_file_imports_its_own_project_modules_in_a_reused_runner(tmp_path):
    """A runner reused for the second file must not hand it the first's helpers (a fresh initlint, as users
    run it: a test process that imported and traced much before forks a different state)."""
    document = check(tmp_path, "-j", "1", *two_projects(tmp_path))
    assert [m["status"] for m in document["models"]] == ["traced", "traced"]
    assert (tmp_path / "one/model.py.pid").read_text() == (tmp_path / "two/model.py.pid").read_text()  # reused
    assert [(f["code"], f["path"], f["model"]) for f in document["findings"]] == [
        ("IL201", os.path.join("one", "helpers.py"), "One")
    ]


LEAVES_A_HOOK_FLAG = """
import json, sys
import torch.nn.modules.module as torch_module
from initlint.dynamic.load import Task, analyse_files

handle = torch_module.register_module_forward_hook(lambda *args: None, with_kwargs=True)
handle.remove()
assert handle.id in torch_module._global_forward_hooks_with_kwargs  # torch's leftover
files = tuple(sys.argv[1:])
facts = analyse_files([Task(path, files, 60.0) for path in files], jobs=1)
print(json.dumps([m.status for f in facts for m in f.models]))
"""


def test_a_hook_flag_left_in_the_parent_does_not_stop_reuse(tmp_path):
    """torch keeps a global hook's with_kwargs flag after the hook is removed; a parent that traced a model
    in-process (a test calling check_model) forks runners with it: not a change any file made."""
    files = [str(tmp_path / name) for name in two_projects(tmp_path)]
    done = subprocess.run([sys.executable, "-c", LEAVES_A_HOOK_FLAG, *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["traced", "traced"]
    assert (tmp_path / "one/model.py.pid").read_text() == (tmp_path / "two/model.py.pid").read_text()


def test_reused_runners_give_the_findings_fresh_ones_give(tmp_path):
    """The same files checked one per process (a directory each) and all together agree, file by file."""
    names = []
    for number in range(6):
        source = XAVIER_RELU.replace("class Net", f"class Net{number}")
        if number % 2:
            source = source.replace("xavier_normal_", "kaiming_normal_")
        write(tmp_path, f"all/m{number}.py", source)
        write(tmp_path, f"alone{number}/m{number}.py", source)
        names.append(f"m{number}.py")
    together = check(tmp_path / "all", "-j", "1", *names)
    for number, name in enumerate(names):
        alone = check(tmp_path / f"alone{number}", name)
        assert [f for f in together["findings"] if f["path"] == name] == alone["findings"]
        assert [m for m in together["models"] if m["path"] == name] == alone["models"]


@pytest.mark.skipif(sys.platform != "linux", reason="runners are reused where they are forked")
def test_many_files_share_few_runners(tmp_path):
    order = []
    for number in range(8):
        write(tmp_path, f"f{number}.py", RECORDS.replace("{change}", CLEAN).replace("{name}", f"Clean{number}"))
        order.append(f"f{number}.py")
    check(tmp_path, "-j", "2", *order)
    assert len({r["pid"] for r in records(tmp_path, order).values()}) <= 2


def test_an_in_process_check_leaves_no_hook_flag():
    """The concrete forward's hooks are removed with their flags (a model fx cannot trace takes that path)."""
    import torch
    import torch.nn as nn
    import torch.nn.modules.module as torch_module

    import initlint

    class Looping(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            for _ in range(int(x.abs().sum().item()) % 3 + 1):  # data-dependent: fx cannot trace it
                x = torch.relu(self.fc(x))
            return x

    before = dict(torch_module._global_forward_hooks_with_kwargs)
    initlint.check_model(Looping)
    assert dict(torch_module._global_forward_hooks_with_kwargs) == before
