"""Hostile inputs: each gives one clear line and the right exit code, and never hides other files."""

from __future__ import annotations

import json

import pytest
from conftest import XAVIER_RELU, findings_for, run_process, write

GOOD_BUT_FLAGGED = XAVIER_RELU.replace("class Net", "class Flagged")

HOSTILE = {
    "syntax.py": ("import torch.nn as nn\nclass A(nn.Module)\n    pass\n", "IL901", 2, "syntax error"),
    "importerror.py": (
        "import torch.nn as nn\nimport not_a_module_xyz\nclass A(nn.Module):\n    pass\n",
        "IL909",
        3,
        "No module named 'not_a_module_xyz'",
    ),
    "importerror_nomodel.py": (  # read from source, it defines no model: info, never an error
        "import not_a_module_xyz\nimport torch.nn as nn\nclass A(NotAModule):\n    pass\n",
        "IL909",
        1,
        "No module named 'not_a_module_xyz'",
    ),
    "sysexit.py": (
        "import sys\nimport torch.nn as nn\nsys.exit(3)\nclass A(nn.Module):\n    pass\n",
        "IL902",
        3,
        "called sys.exit(3)",
    ),
    "osexit.py": (
        "import os\nimport torch.nn as nn\nos._exit(4)\nclass A(nn.Module):\n    pass\n",
        "IL905",
        1,
        "exited with code 4",
    ),
    "ctor.py": (
        "import torch.nn as nn\nclass Bad(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        raise RuntimeError('boom')\n",
        "IL903",
        5,
        "RuntimeError: boom",
    ),
    "hang.py": (
        "import time\nimport torch.nn as nn\nclass Hangs(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        while True:\n            time.sleep(0.1)\n",
        "IL904",
        3,
        "timed out after 3 s",
    ),
    "segv.py": (
        "import ctypes\nimport torch.nn as nn\nclass Crash(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        ctypes.string_at(0)\n",
        "IL905",
        3,
        "segmentation fault",
    ),
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile")
    for name, (source, *_rest) in HOSTILE.items():
        (directory / name).write_text(source)
    (directory / "latin1.py").write_bytes(b"import torch.nn as nn\n# caf\xe9\nclass A(nn.Module):\n    pass\n")
    write(directory, "zz_good.py", GOOD_BUT_FLAGGED)
    result = run_process("check", "--format", "json", "--timeout", "3", ".", cwd=directory)
    return result


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_file_is_reported_clearly(hostile_run, name):
    _, code, line, text = HOSTILE[name]
    document = json.loads(hostile_run.stdout)
    found = [f for f in document["findings"] if f["path"] == name]
    assert [f["code"] for f in found] == [code]
    assert found[0]["line"] == line
    assert text in found[0]["message"]
    assert "\n" not in found[0]["message"]
    # IL909: analysed from source; info when reading it found no model
    expected = "error" if code != "IL909" else "info" if name == "importerror_nomodel.py" else "warning"
    assert found[0]["severity"] == expected


def test_non_utf8_file_is_a_source_error(hostile_run):
    document = json.loads(hostile_run.stdout)
    [f] = [f for f in document["findings"] if f["path"] == "latin1.py"]
    assert f["code"] == "IL901" and f["line"] == 2 and "0xe9" in f["message"]


def test_other_files_are_still_checked(hostile_run):
    document = json.loads(hostile_run.stdout)
    assert findings_for(document, "IL101", "Flagged")
    statuses = {m["model"]: m["status"] for m in document["models"]}
    assert statuses["Flagged"] == "traced"
    assert statuses["Hangs"] == "error" and statuses["Crash"] == "error" and statuses["Bad"] == "error"


def test_exit_code_and_clean_streams(hostile_run):
    assert hostile_run.returncode == 1
    assert hostile_run.stderr == ""  # user code's prints and tracebacks never leak
    json.loads(hostile_run.stdout)  # exactly one JSON document


def test_models_after_a_hang_in_the_same_file_are_still_checked(tmp_path):
    write(
        tmp_path,
        "mixed.py",
        """
import time
import torch
import torch.nn as nn


class Hangs(nn.Module):
    def __init__(self):
        super().__init__()
        time.sleep(60)


class After(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
    )
    result = run_process("check", "--format", "json", "--timeout", "2", "mixed.py", cwd=tmp_path)
    document = json.loads(result.stdout)
    assert [f["code"] for f in findings_for(document, model="Hangs")] == ["IL904"]
    assert [f["code"] for f in findings_for(document, model="After")] == ["IL101"]


def test_missing_path_is_a_usage_error_but_the_rest_is_checked(tmp_path):
    write(tmp_path, "m.py", GOOD_BUT_FLAGGED)
    result = run_process("check", "m.py", "does_not_exist", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "initlint: error: does_not_exist: no such file or directory"
    assert "IL101" in result.stdout


def test_user_output_does_not_pollute_json(tmp_path):
    write(
        tmp_path,
        "noisy.py",
        """
import sys
import torch.nn as nn
print("hello from import")
print("to stderr", file=sys.stderr)


class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        print("constructing")
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)
""",
    )
    result = run_process("check", "--format", "json", "noisy.py", cwd=tmp_path)
    document = json.loads(result.stdout)
    assert document["models"][0]["status"] == "traced"
    assert result.stderr == ""
    assert result.returncode == 0
