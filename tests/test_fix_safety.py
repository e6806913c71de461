"""--fix never loses a byte (issue 9): links are written through and kept, nothing outside
the paths given is written, inserted inits hold for every constructor argument, and a
rewritten call keeps its comments and layout."""

from __future__ import annotations

import math
import os
import shutil
import stat
from pathlib import Path

import pytest
import torch
from conftest import XAVIER_RELU, findings_for, run_cli, run_json, run_process, write
from test_fix import assert_std

from initlint.dynamic.analyze import import_file

CASES = Path(__file__).resolve().parent / "fix_cases"
FIXED_LINE = 'nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")'


def _leftovers(directory: Path) -> list[str]:
    return [name for name in os.listdir(directory) if name.startswith(".initlint-")]


# -- links and the paths given -------------------------------------------------------------


def test_symlink_is_written_through_and_kept(tmp_path):
    real = write(tmp_path, "real.py", XAVIER_RELU)
    link = tmp_path / "link.py"
    link.symlink_to("real.py")
    code, _ = run_cli("check", "link.py", "--fix", cwd=tmp_path)
    assert code == 0
    assert link.is_symlink() and os.readlink(link) == "real.py"
    assert FIXED_LINE in real.read_text()
    assert _leftovers(tmp_path) == []


def test_symlink_to_a_file_outside_the_paths_is_reported_and_untouched(tmp_path):
    project = tmp_path / "project"
    outside = write(tmp_path, "outside/real.py", XAVIER_RELU)
    project.mkdir()
    (project / "link.py").symlink_to(outside)
    before = outside.read_bytes()
    # --fix leaves the finding (exit 1); --diff shows no change, as --fix would make none (exit 0).
    for flag, exit_code in (("--fix", 1), ("--diff", 0)):
        result = run_process("check", "project", flag, "--no-cache", cwd=tmp_path)
        assert result.returncode == exit_code
        assert result.stderr.splitlines() == [
            f"initlint: warning: {os.path.join('project', 'link.py')}: not fixed: it links to {outside}, "
            "outside the paths given on the command line"
        ]
        assert outside.read_bytes() == before and (project / "link.py").is_symlink()
    assert result.stdout == ""


def test_a_symlinked_file_given_by_name_is_inside_the_paths(tmp_path):
    outside = write(tmp_path, "outside/real.py", XAVIER_RELU)
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "link.py").symlink_to(outside)
    code, _ = run_cli("check", "project/link.py", "--fix", cwd=tmp_path)
    assert code == 0
    assert FIXED_LINE in outside.read_text() and (tmp_path / "project" / "link.py").is_symlink()


def test_diff_names_the_file_fix_would_write(tmp_path):
    write(tmp_path, "real.py", XAVIER_RELU)
    (tmp_path / "a_link.py").symlink_to("real.py")  # walked first: the finding is reported here
    result = run_process("check", ".", "--diff", "--no-cache", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("--- a/real.py\n+++ b/real.py\n")
    assert result.stdout.count("+++") == 1


def test_hard_link_is_kept(tmp_path):
    path = write(tmp_path, "project/m.py", XAVIER_RELU)
    other = tmp_path / "elsewhere.py"
    os.link(path, other)
    os.chmod(path, 0o640)
    inode = os.stat(path).st_ino
    code, _ = run_cli("check", "project/m.py", "--fix", cwd=tmp_path)
    assert code == 0
    assert os.stat(path).st_ino == inode and os.stat(path).st_nlink == 2
    assert os.path.samefile(path, other) and FIXED_LINE in other.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert _leftovers(tmp_path / "project") == []


def test_two_hard_links_given_are_fixed_once(tmp_path):
    path = write(tmp_path, "a.py", XAVIER_RELU)
    os.link(path, tmp_path / "b.py")
    result = run_process("check", ".", "--fix", "--no-cache", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert os.stat(path).st_nlink == 2 and FIXED_LINE in path.read_text()


def test_a_failed_overwrite_of_a_hard_link_loses_nothing(tmp_path, monkeypatch):
    """The in-place write dies halfway (disk full): the old bytes are put back, the links kept."""
    from initlint.fix import apply

    path = write(tmp_path, "m.py", XAVIER_RELU)
    os.link(path, tmp_path / "other.txt")
    before = path.read_bytes()
    real_write = getattr(apply, "_write_in_place", None)
    calls = []

    def dies_halfway(target, data):
        calls.append(data)
        if len(calls) == 1:
            with open(target, "r+b") as handle:
                handle.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")
        real_write(target, data)

    monkeypatch.setattr(apply, "_write_in_place", dies_halfway, raising=False)
    code, out = run_cli("check", "m.py", "--fix", cwd=tmp_path)
    assert code == 1
    assert "m.py: not fixed: cannot write: No space left on device; nothing was written" in out
    assert path.read_bytes() == before and os.stat(path).st_nlink == 2
    assert _leftovers(tmp_path) == []


# -- IL102: inits that hold for every constructor argument -----------------------------------


def assert_std_among_many(weight, expected):
    """Measured std within 5 sigma of the std estimate (sqrt(1/2n)): this test checks ~60 layers per run,
    where 3 sigma would fail one run in seven by chance. He (0.177) is still told from Xavier (0.125)
    or PyTorch's default (0.072) at width 64 by far more than that."""
    n = weight.numel()
    assert float(weight.detach().std()) == pytest.approx(expected, rel=5 / math.sqrt(2 * n) + 0.01)


def _he_std(name: str, weight) -> float:
    """He et al.'s std, by hand: gain sqrt(2) before a ReLU, 1 for the logits layer."""
    fan_in = weight[0].numel()
    return math.sqrt((1.0 if name in ("head", "out") else 2.0) / fan_in)


INSERTED = {
    "deep_mlp.py": (
        "DeepMLP",
        [{}, {"depth": 1}, {"depth": 12, "width": 64}],
        [
            "        self.body = nn.Sequential(*layers)  # hidden stack\n"
            "        for module in self.body.modules():\n"
            "            if isinstance(module, nn.Linear):\n"
            '                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")\n'
            "        self.head = nn.Linear(width, 10)\n"
            '        nn.init.kaiming_normal_(self.head.weight, nonlinearity="linear")\n'
        ],
    ),
    "deep_cnn.py": (
        "DeepCNN",
        [{}, {"depth": 1, "pool": False}, {"depth": 12, "channels": 8}],
        [
            "        for module in self.convs.modules():\n"
            "            if isinstance(module, nn.Conv2d):\n"
            '                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")\n'
            "        if pool:\n",
            "            self.fc = nn.Linear(channels, channels)\n"
            '            nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")\n'
            "        self.pool_on = pool\n",
        ],
    ),
    "branchy.py": (
        "Branchy",
        [{}, {"gate": False}, {"width": 64}],
        [
            "            self.gate = nn.Linear(width, width)  # optional extra layer\n"
            '            nn.init.kaiming_normal_(self.gate.weight, nonlinearity="relu")\n'
            "        self.gated = gate\n"
        ],
    ),
    "setattr_mlp.py": (
        "AttrMLP",
        [{}, {"depth": 1}, {"depth": 12, "width": 64}],
        [
            '            setattr(self, f"layer{i}", nn.Linear(width, width))\n'
            '            nn.init.kaiming_normal_(getattr(self, f"layer{i}").weight, nonlinearity="relu")\n'
            "        self.out = nn.Linear(width, 10)\n"
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(INSERTED))
def test_default_init_fix_holds_for_every_constructor_argument(tmp_path, case):
    model, arguments, fragments = INSERTED[case]
    path = tmp_path / case
    shutil.copy(CASES / case, path)
    _, document = run_json(case, cwd=tmp_path)
    assert findings_for(document, "IL102") and all(f["fix"] for f in findings_for(document, "IL102"))
    run_cli("check", case, "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert run_json(case, cwd=tmp_path)[1]["findings"] == []
    cls = getattr(import_file(str(path)), model)
    torch.manual_seed(0)  # reproducible draws
    for kwargs in arguments:
        built = cls(**kwargs)
        judged = [(n, m) for n, m in built.named_modules() if type(m).__name__ in ("Linear", "Conv2d")]
        assert judged
        for name, module in judged:
            assert_std_among_many(module.weight, _he_std(name, module.weight))
    fixed = path.read_text()
    for fragment in fragments:
        assert fragment in fixed


def test_a_container_with_its_head_gets_one_loop_valid_for_every_depth(tmp_path):
    """One Sequential holds ReLU layers and the linear head: He-ReLU for all is within the head's tolerance
    (a final projection may be 1.5x off), so one loop over the container fixes it (issue 13 item 2)."""
    path = tmp_path / "head_in_body.py"
    shutil.copy(CASES / "head_in_body.py", path)
    _, document = run_json("head_in_body.py", cwd=tmp_path)
    found = findings_for(document, "IL102")
    assert found and all(f["fix"] and f["fix"]["applicability"] == "unsafe" for f in found)
    run_cli("check", "head_in_body.py", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert "for module in self.net.modules():" in path.read_text()
    code, after = run_json("head_in_body.py", cwd=tmp_path)
    assert code == 0 and after["findings"] == []
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    for depth in (2, 8):  # the loop holds whatever the constructor builds: He std sqrt(2/128) for every layer
        weights = [m.weight for m in namespace["HeadInBody"](depth=depth).net if hasattr(m, "weight")]
        assert len(weights) == depth + 1
        for w in weights:
            assert abs(w.std().item() - (2 / 128) ** 0.5) < 0.01


def test_no_fix_when_layers_join_the_container_after_it_was_assigned(tmp_path):
    path = tmp_path / "appended.py"
    shutil.copy(CASES / "appended.py", path)
    _, document = run_json("appended.py", cwd=tmp_path)
    [body] = [f for f in findings_for(document, "IL102") if f["layers"][0].startswith("body.")]
    assert body["fix"] is None
    assert "no automatic fix: body.0 is attached at line 11, not by the statement at line 9" in body["message"]
    run_cli("check", "appended.py", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert "self.body[" not in path.read_text() and "modules()" not in path.read_text()


# -- IL101/IL201: a rewritten call keeps its comments and layout ------------------------------

CALLS_BEFORE = """import torch
import torch.nn as nn
from torch.nn import init


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, 128)
        self.fc4 = nn.Linear(128, 128)
        self.fc5 = nn.Linear(128, 128)
        self.fc6 = nn.Linear(128, 128)
        self.out = nn.Linear(128, 10)
        nn.init.xavier_uniform_(  # noqa: E501
            self.fc1.weight,  # the weight
            gain=1.0,  # unity gain
        )  # after
        init.kaiming_normal_(
            self.fc2.weight,  # w
            a=0,  # slope
            mode="fan_out",  # keep me
            nonlinearity="tanh",  # wrong
        )
        nn.init.xavier_normal_(self.fc3.weight,  # w3
                               gain=1.0)  # closing
        nn.init.kaiming_uniform_(self.fc4.weight, 0, 'fan_in', 'tanh')  # noqa: E501
        nn.init.xavier_normal_(self.fc5.weight, gain=1.0)  # type: ignore[arg-type]
        nn.init.xavier_uniform_(
            self.fc6.weight,  # six
        )

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        x = torch.relu(self.fc4(x))
        x = torch.relu(self.fc5(x))
        x = torch.relu(self.fc6(x))
        return self.out(x)
"""

CALLS_AFTER = """import torch
import torch.nn as nn
from torch.nn import init


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, 128)
        self.fc4 = nn.Linear(128, 128)
        self.fc5 = nn.Linear(128, 128)
        self.fc6 = nn.Linear(128, 128)
        self.out = nn.Linear(128, 10)
        nn.init.kaiming_uniform_(  # noqa: E501
            self.fc1.weight,  # the weight
            # unity gain
            nonlinearity="relu",
        )  # after
        init.kaiming_normal_(
            self.fc2.weight,  # w
            # slope
            mode="fan_out",  # keep me
            nonlinearity="relu",  # wrong
        )
        nn.init.kaiming_normal_(self.fc3.weight,  # w3
                               nonlinearity="relu")  # closing
        nn.init.kaiming_uniform_(self.fc4.weight, nonlinearity='relu')  # noqa: E501
        nn.init.kaiming_normal_(self.fc5.weight, nonlinearity="relu")  # type: ignore[arg-type]
        nn.init.kaiming_uniform_(
            self.fc6.weight,  # six
            nonlinearity="relu",
        )

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        x = torch.relu(self.fc4(x))
        x = torch.relu(self.fc5(x))
        x = torch.relu(self.fc6(x))
        return self.out(x)
"""


def _fixed_twice(tmp_path: Path, source: str, *flags: str) -> str:
    path = tmp_path / "m.py"
    path.write_text(source)
    run_cli("check", "m.py", "--fix", *flags, cwd=tmp_path)
    once = path.read_bytes()
    code, out = run_cli("check", "m.py", "--fix", *flags, cwd=tmp_path)
    assert path.read_bytes() == once and code == 0 and "Fixed" not in out  # idempotent
    return once.decode()


def test_rewrite_changes_only_the_name_and_the_arguments_that_change(tmp_path):
    assert _fixed_twice(tmp_path, CALLS_BEFORE) == CALLS_AFTER
    code, document = run_json("m.py", cwd=tmp_path)
    assert code == 0 and document["findings"] == []


def test_rewrite_keeps_crlf_line_endings_inside_a_call(tmp_path):
    path = tmp_path / "m.py"
    path.write_bytes(CALLS_BEFORE.replace("\n", "\r\n").encode())
    assert run_cli("check", "m.py", "--fix", cwd=tmp_path)[0] == 0
    assert path.read_bytes() == CALLS_AFTER.replace("\n", "\r\n").encode()


TENSOR_METHOD = """import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 128)
        self.fc2 = nn.Linear(128, 10)
        {init}

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


def test_tensor_method_rewrite_keeps_comments_and_layout(tmp_path):
    before = TENSOR_METHOD.format(
        init="""self.fc1.weight.data.normal_(  # noqa: E731
            0.0,  # mean
            0.01,  # std
        )"""
    )
    after = TENSOR_METHOD.format(
        init="""nn.init.kaiming_normal_(  # noqa: E731
            self.fc1.weight,
            # mean
            # std
            nonlinearity="relu",
        )"""
    )
    assert _fixed_twice(tmp_path, before, "--unsafe-fixes") == after
    assert_std(import_file(str(tmp_path / "m.py")).Net().fc1.weight, math.sqrt(2 / 256))
