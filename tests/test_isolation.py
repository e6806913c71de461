"""Workers keep files apart: pristine torch per file, the exact bytes imported, user processes contained.

Every test runs real workers on real files; the processes user code starts are
found through /proc by the pids it writes down, or by a marker in their command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import XAVIER_RELU, findings_for, run_process, write

from initlint.dynamic.load import Task, analyse_files

FLAGGED = XAVIER_RELU.replace("class Net", "class Flagged")

PLAIN = """
import torch
import torch.nn as nn


class {name}(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


# As users run it: Python writes bytecode next to the sources (this environment may say otherwise).
USER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def check(directory: Path, *args: str, env: dict | None = None, timeout: float = 300) -> dict:
    result = run_process(
        "check", "--format", "json", "--no-cache", *args, cwd=directory, env=env or USER_ENV, timeout=timeout
    )
    assert result.stderr == ""
    return json.loads(result.stdout)


def statuses(document: dict) -> dict[str, str]:
    return {m["model"]: m["status"] for m in document["models"]}


def codes(document: dict, path: str) -> list[str]:
    return sorted(f["code"] for f in document["findings"] if f["path"] == path)


def alive(pid: int) -> bool:
    """Running (a zombie has finished)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def marked(marker: str) -> list[int]:
    """Live processes (not this one) whose command line contains ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().decode("utf-8", "replace")
        except OSError:
            continue
        if marker in cmdline and alive(int(entry)):
            found.append(int(entry))
    return found


def pids_in(directory: Path) -> list[int]:
    return [int(p.read_text()) for p in sorted(directory.glob("*.pid")) if p.read_text().strip()]


def kill_leftovers(pids: list[int]) -> None:
    """Never leave this test's processes behind, whatever the code under test did."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def wait_until(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


# -- A: every file sees pristine torch ---------------------------------------------


PATCH_INIT = """
import torch
import torch.nn as nn


def skip(tensor, *args, **kwargs):
    return tensor


torch.nn.init.kaiming_uniform_ = skip  # the quantisation idiom: no init, weights come from a checkpoint
torch.set_grad_enabled(False)
torch.set_default_dtype(torch.float64)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(3)


class QuantA(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x)
"""

PATCH_METHOD = """
import torch.nn as nn

nn.Linear.reset_parameters = lambda self: None


class QuantB(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x)
"""

PROBE = """
import json
import torch
import torch.nn as nn

STATE = [str(torch.get_default_dtype()), torch.is_grad_enabled(), torch.are_deterministic_algorithms_enabled(),
         torch.get_num_threads()]


class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        with open(__file__ + ".json", "w") as handle:
            json.dump(STATE, handle)
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)
"""


@pytest.mark.parametrize("patches_first", [True, False], ids=["patches-first", "patches-last"])
def test_each_file_sees_pristine_torch(tmp_path, patches_first):
    write(tmp_path, "patch_init.py", PATCH_INIT)
    write(tmp_path, "patch_method.py", PATCH_METHOD)
    write(tmp_path, "plain1.py", PLAIN.format(name="Plain1"))
    write(tmp_path, "plain2.py", PLAIN.format(name="Plain2"))
    write(tmp_path, "probe.py", PROBE)
    order = ["patch_init.py", "plain1.py", "patch_method.py", "plain2.py", "probe.py"]
    if not patches_first:
        order = [order[4], order[3], order[2], order[1], order[0]]
    document = check(tmp_path, "-j", "1", *order)
    assert codes(document, "plain1.py") == [] and codes(document, "plain2.py") == []
    # Each patched file sees its own patch: no kaiming_uniform_ for the weight; no init at all.
    assert codes(document, "patch_init.py") == ["IL303"]
    assert codes(document, "patch_method.py") == ["IL303", "IL303"]
    assert set(statuses(document).values()) == {"traced"}
    dtype, grad, deterministic, threads = json.loads((tmp_path / "probe.py.json").read_text())
    assert (dtype, grad, deterministic, threads) == ("torch.float32", True, False, 1)


# -- B: torch stays whole; the project's packages are importable ---------------------------------


DYNAMO = """
import torch._dynamo
import torch.distributed
import torch.nn as nn


class {name}(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_files_importing_torch_submodules_share_a_worker(tmp_path, jobs):
    write(tmp_path, "a.py", DYNAMO.format(name="A"))
    write(tmp_path, "b.py", DYNAMO.format(name="B"))
    write(tmp_path, "c.py", DYNAMO.format(name="C"))
    document = check(tmp_path, "-j", jobs, "a.py", "b.py", "c.py")
    assert document["findings"] == []
    assert statuses(document) == {"A": "traced", "B": "traced", "C": "traced"}


GPT = XAVIER_RELU.replace("class Net", "class GPT")

RUN_SCRIPT = """
import torch.nn as nn
from mypkg.model import GPT


class Runner(nn.Module):
    def __init__(self):
        super().__init__()
        self.gpt = GPT()

    def forward(self, x):
        return self.gpt(x)
"""


@pytest.mark.parametrize("marker", ["pyproject.toml", ".git"])
def test_scripts_import_the_projects_packages_from_its_root(tmp_path, marker):
    (tmp_path / ".git").mkdir() if marker == ".git" else write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    write(tmp_path, "mypkg/__init__.py", "")
    write(tmp_path, "mypkg/model.py", GPT)
    write(tmp_path, "projects/x/run.py", RUN_SCRIPT)
    document = check(tmp_path / "projects" / "x", "run.py")
    assert statuses(document) == {"Runner": "traced"}
    [finding] = document["findings"]
    assert finding["code"] == "IL101" and finding["path"] == str(tmp_path / "mypkg" / "model.py")


# -- C: the bytes executed are the bytes read, and are recorded --------------------------


SAME_SIZE = ("nn.init.xavier_uniform_", "nn.init.kaiming_normal_")  # kaiming_normal_'s default gain suits relu

HELPER = """
import torch.nn as nn


def init_fc(layer):
    nn.init.xavier_uniform_(layer.weight)
"""

USES_HELPER = """
import torch
import torch.nn as nn
from helper import init_fc


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        init_fc(self.fc1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


def rewrite_keeping_size_and_mtime(path: Path, old: str, new: str) -> None:
    """The edit Python's bytecode cache cannot see: same size, same modification time."""
    before = path.stat()
    text = path.read_text()
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize("edited", ["net.py", "helper.py"])
def test_an_edit_that_keeps_size_and_mtime_is_seen(tmp_path, edited):
    write(
        tmp_path,
        "net.py",
        XAVIER_RELU.replace("xavier_normal_", "xavier_uniform_") if edited == "net.py" else USES_HELPER,
    )
    write(tmp_path, "helper.py", HELPER)
    assert [f["code"] for f in check(tmp_path, "net.py")["findings"]] == ["IL101"]
    # A stale .pyc would run the old init (whatever wrote it: initlint before this fix, or the user's Python).
    subprocess.run([sys.executable, "-c", "import net"], cwd=tmp_path, env=USER_ENV, check=True, capture_output=True)
    rewrite_keeping_size_and_mtime(tmp_path / edited, *SAME_SIZE)
    assert check(tmp_path, "net.py")["findings"] == []


def test_a_check_writes_no_bytecode_into_the_checked_tree(tmp_path):
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/helper.py", HELPER)
    write(tmp_path, "pkg/net.py", USES_HELPER.replace("from helper", "from .helper"))
    document = check(tmp_path, "pkg")
    assert statuses(document) == {"Net": "traced"}
    assert [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("__pycache__")] == []


LOADED_PROJECT = {
    "pkg/__init__.py": "",
    "pkg/layers.py": "import torch.nn as nn\n\n\ndef dense():\n    return nn.Linear(4, 4)\n",
    "pkg/sub/__init__.py": "",
    "pkg/sub/helpers.py": "SCALE = 1.0\n",
    "pkg/sub/blocks.py": "from . import helpers\nfrom ..layers import dense\n\nSCALE = helpers.SCALE\n",
    "pkg/optional.py": "FAST = True\n",
    "pkg/lazy.py": "import torch.nn as nn\n\n\ndef head():\n    return nn.Linear(4, 2)\n",
    "pkg/never.py": "raise AssertionError('never imported')\n",
    "pkg/model.py": """
import torch
import torch.nn as nn
from pkg import layers
from .sub import blocks

try:
    from pkg import optional
except ImportError:
    optional = None


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        from pkg import lazy

        self.body = layers.dense()
        self.head = lazy.head()

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))
""",
}


def test_every_project_file_imported_is_recorded_with_its_digest(tmp_path):
    for name, source in LOADED_PROJECT.items():
        write(tmp_path, name, source)
    model = str(tmp_path / "pkg/model.py")
    [facts] = analyse_files([Task(model, (model,), 60.0)])
    assert facts.problem is None and [m.status for m in facts.models] == ["traced"]
    expected = {
        (str(tmp_path / name), hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
        for name in LOADED_PROJECT
        if name != "pkg/never.py"
    }
    assert set(facts.loaded) == expected
    assert (model, facts.digest) in facts.loaded


# -- D: user code that forks, spawns or uses multiprocessing ----------------------------------------


FORKS = """
import os
import time
import torch.nn as nn


class Forks(nn.Module):
    def __init__(self):
        super().__init__()
        if os.fork() == 0:  # the child goes on with the program after a while, as forked children do
            with open(__file__ + ".child.pid", "w") as handle:
                handle.write(str(os.getpid()))
            time.sleep({sleep})
        else:
            with open(__file__ + ".parent.pid", "w") as handle:
                handle.write(str(os.getpid()))
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)
"""

SLOW_FLAGGED = FLAGGED.replace("import torch\n", "import time\nimport torch\n").replace(
    "super().__init__()\n", "super().__init__()\n        time.sleep(2)  # the forked child wakes meanwhile\n"
)


@pytest.mark.parametrize("sleep", [30, 0.5], ids=["child-lingers", "child-returns-while-others-run"])
def test_a_constructor_that_forks_changes_no_other_result(tmp_path, sleep):
    write(tmp_path, "a_forks.py", FORKS.format(sleep=sleep))
    write(tmp_path, "b_flagged.py", SLOW_FLAGGED)
    write(tmp_path, "c_plain.py", PLAIN.format(name="Plain"))
    try:
        document = check(
            tmp_path, "-j", "1", "--timeout", "20", "a_forks.py", "b_flagged.py", "c_plain.py", timeout=120
        )
        assert [(m["path"], m["model"], m["status"]) for m in document["models"]] == [
            ("a_forks.py", "Forks", "traced"),
            ("b_flagged.py", "Flagged", "traced"),
            ("c_plain.py", "Plain", "traced"),
        ]
        assert codes(document, "a_forks.py") == [] and codes(document, "c_plain.py") == []
        assert codes(document, "b_flagged.py") == ["IL101"]
        started = pids_in(tmp_path)
        assert len(started) == 2 and not [pid for pid in started if alive(pid)]
        assert marked(str(tmp_path)) == []
    finally:
        kill_leftovers(pids_in(tmp_path) + marked(str(tmp_path)))


POOL = """
import multiprocessing
import subprocess
import sys
import torch.nn as nn


def width(n):
    return n * 4


class Pooled(nn.Module):
    def __init__(self):
        super().__init__()
        with multiprocessing.Pool(2) as pool:
            widths = pool.map(width, [1, 2])
        self.spawned = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        self.fc = nn.Linear(widths[0], widths[1])

    def forward(self, x):
        return self.fc(x)
"""


def test_a_constructor_may_use_a_process_pool_and_subprocesses(tmp_path):
    write(tmp_path, "pooled.py", POOL)
    try:
        document = check(tmp_path, "pooled.py")
        assert statuses(document) == {"Pooled": "traced"}
        assert document["findings"] == []
        assert marked(str(tmp_path)) == [] and marked("time.sleep(60)") == []
    finally:
        kill_leftovers(marked(str(tmp_path)) + marked("time.sleep(60)"))


# -- E: nothing outlives a killed initlint ------------------------------------------------------------


HANGS = """
import os
import subprocess
import sys
import torch.nn as nn


class Hangs(nn.Module):
    def __init__(self):
        super().__init__()
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", __file__])
        with open(__file__ + ".helper.pid", "w") as handle:
            handle.write(str(helper.pid))
        if os.fork() == 0:
            while True:
                pass
        with open(__file__ + ".worker.pid", "w") as handle:
            handle.write(str(os.getpid()))
        while True:
            pass
"""


def test_killing_initlint_kills_its_workers_and_their_processes(tmp_path):
    write(tmp_path, "hangs.py", HANGS)
    marker = str(tmp_path)
    parent = subprocess.Popen(
        [sys.executable, "-m", "initlint", "check", "--no-cache", "--timeout", "600", str(tmp_path / "hangs.py")],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: len(pids_in(tmp_path)) == 2, 60), "the model never started"
        assert len(marked(marker)) >= 4  # initlint, its worker(s), the forked child, the helper
        parent.kill()
        parent.wait()
        assert wait_until(lambda: marked(marker) == [], 5), f"left behind: {marked(marker)}"
        assert not [pid for pid in pids_in(tmp_path) if alive(pid)]
    finally:
        parent.kill()
        kill_leftovers(pids_in(tmp_path) + marked(marker))


# -- F: memory is capped per worker ------------------------------------------------------------------


GREEDY = """
import numpy as np
import torch
import torch.nn as nn


class Greedy(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = np.ones(400_000_000)  # 3.2 GB, written
        self.fc = nn.Linear(4, 4)


class Huge(nn.Module):
    def __init__(self):
        super().__init__()
        self.buffer = torch.empty(10_000_000_000)  # 40 GB
        self.fc = nn.Linear(4, 4)
"""


def test_a_model_over_the_memory_cap_is_a_clear_error(tmp_path):
    write(tmp_path, "greedy.py", GREEDY)
    write(tmp_path, "z_flagged.py", FLAGGED)
    env = {**USER_ENV, "INITLINT_MEMORY_LIMIT": "1500M"}
    document = check(tmp_path, "-j", "1", "--device", "cpu", env=env)
    for model in ("Greedy", "Huge"):
        [finding] = findings_for(document, model=model)
        assert finding["code"] in ("IL903", "IL905") and "memory" in finding["message"].lower()
    assert codes(document, "z_flagged.py") == ["IL101"]
    assert statuses(document)["Flagged"] == "traced"


LIMIT_PROBE = """
import resource
import torch.nn as nn


class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        with open(__file__ + ".limit", "w") as handle:
            handle.write(str(resource.getrlimit(resource.RLIMIT_DATA)[0]))
        self.fc = nn.Linear(4, 4)
"""


def test_workers_have_a_memory_cap_by_default(tmp_path):
    write(tmp_path, "probe.py", LIMIT_PROBE)
    env = {k: v for k, v in USER_ENV.items() if k != "INITLINT_MEMORY_LIMIT"}
    check(tmp_path, "probe.py", env=env)
    limit = int((tmp_path / "probe.py.limit").read_text())
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < limit < physical
