"""--fix, --unsafe-fixes, --diff: each kind of fix, and that no work is ever lost."""

from __future__ import annotations

import math
import os
import stat

import pytest
from conftest import findings_for, run_cli, run_json, write

from initlint import check_paths
from initlint.dynamic.analyze import import_file
from initlint.fix.apply import prepare

HEAD = "import torch\nimport torch.nn as nn\n"


def built(path, cls):
    return getattr(import_file(str(path)), cls)()


def assert_std(weight, expected):
    """Measured std within sampling error (3 sigma of the std estimate, sqrt(1/2n))."""
    n = weight.numel()
    assert float(weight.detach().std()) == pytest.approx(expected, rel=3 / math.sqrt(2 * n) + 0.01)


XAVIER_PREFIXES = {
    "nn.init": (
        HEAD,
        "nn.init.xavier_normal_(self.fc1.weight)",
        'nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")',
    ),
    "init": (
        HEAD + "from torch.nn import init\n",
        "init.xavier_normal_(self.fc1.weight)",
        'init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")',
    ),
    "torch.nn.init": (
        HEAD,
        "torch.nn.init.xavier_normal_(self.fc1.weight)",
        'torch.nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")',
    ),
}


def mlp(head: str, init_line: str) -> str:
    return (
        head
        + f"""

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 128)  # hidden
        self.fc2 = nn.Linear(128, 10)
        {init_line}

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""
    )


@pytest.mark.parametrize("prefix", sorted(XAVIER_PREFIXES))
def test_rewrite_keeps_the_prefix_spelling(tmp_path, prefix):
    head, before, after = XAVIER_PREFIXES[prefix]
    path = write(tmp_path, "m.py", mlp(head, before))
    code, out = run_cli("check", "m.py", "--diff", cwd=tmp_path)
    assert code == 1
    assert f"-        {before}\n+        {after}\n" in out
    assert path.read_text() == mlp(head, before)  # --diff writes nothing
    code, _ = run_cli("check", "m.py", "--fix", cwd=tmp_path)
    assert code == 0
    assert path.read_text() == mlp(head, after)
    compile(path.read_text(), "m.py", "exec")
    assert run_json("m.py", cwd=tmp_path)[1]["findings"] == []
    assert_std(built(path, "Net").fc1.weight, math.sqrt(2 / 256))


def test_name_imported_from_torch_nn_init_gets_its_import(tmp_path):
    head = HEAD + "from torch.nn.init import xavier_uniform_\n"
    path = write(tmp_path, "m.py", mlp(head, "xavier_uniform_(self.fc1.weight)"))
    assert run_cli("check", "m.py", "--fix", cwd=tmp_path)[0] == 0
    expected = mlp(
        HEAD + "from torch.nn.init import xavier_uniform_, kaiming_uniform_\n",
        'kaiming_uniform_(self.fc1.weight, nonlinearity="relu")',
    )
    assert path.read_text() == expected
    assert_std(built(path, "Net").fc1.weight, math.sqrt(2 / 256))


def test_by_name_without_any_module_alias_extends_the_import(tmp_path):
    source = """import torch
from torch.nn import Linear, Module
from torch.nn.init import xavier_uniform_


class Net(Module):
    def __init__(self):
        super().__init__()
        self.fc1 = Linear(64, 64)
        self.fc2 = Linear(64, 10)
        xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""
    path = write(tmp_path, "m.py", source)
    code, _ = run_cli("check", "m.py", "--fix", cwd=tmp_path)
    fixed = path.read_text()
    assert "from torch.nn.init import xavier_uniform_, kaiming_uniform_\n" in fixed
    assert '        kaiming_uniform_(self.fc1.weight, nonlinearity="relu")\n' in fixed
    assert code == 0


def test_hand_rolled_tensor_method_is_an_unsafe_fix(tmp_path):
    path = write(tmp_path, "m.py", mlp(HEAD, "self.fc1.weight.data.normal_(0, 0.01)  # small init"))
    code, document = run_json("m.py", cwd=tmp_path)
    [finding] = findings_for(document, "IL201")
    assert finding["fix"]["applicability"] == "unsafe"
    assert run_cli("check", "m.py", "--fix", cwd=tmp_path)[0] == 1  # safe fixes only: nothing changes
    assert "normal_(0, 0.01)" in path.read_text()
    assert run_cli("check", "m.py", "--fix", "--unsafe-fixes", cwd=tmp_path)[0] == 0
    fixed = path.read_text()
    assert '        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")  # small init\n' in fixed
    assert_std(built(path, "Net").fc1.weight, math.sqrt(2 / 256))


DEEP_DEFAULT = (
    HEAD
    + """

class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(128, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, 128)
        self.out = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        return self.out(x)
"""
)


def test_missing_init_is_inserted_after_the_assignment(tmp_path):
    path = write(tmp_path, "m.py", DEEP_DEFAULT)
    code, out = run_cli("check", "m.py", "--diff", "--unsafe-fixes", cwd=tmp_path)
    assert code == 1
    assert (
        '         self.fc1 = nn.Linear(128, 128)\n+        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")\n'
        in out
    )
    run_cli("check", "m.py", "--fix", "--unsafe-fixes", cwd=tmp_path)
    compile(path.read_text(), "m.py", "exec")
    assert run_json("m.py", cwd=tmp_path)[1]["findings"] == []
    model = built(path, "Deep")
    for layer in (model.fc1, model.fc2, model.fc3):
        assert_std(layer.weight, math.sqrt(2 / 128))


SHARED_INIT = """

def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
%s
        self.apply(init_weights)

    def forward(self, x):
        return %s
"""


def test_one_call_for_layers_that_need_different_inits_is_split_by_need(tmp_path):
    """The call gets the init most layers need; the odd layer an override after `self.apply`; the
    final projection, 1.41x off at most, keeps the call's init (immaterial, as IL101 judges it)."""
    layers = (
        "        self.a = nn.Linear(64, 64)\n        self.b = nn.Linear(64, 64)\n        self.c = nn.Linear(64, 10)"
    )
    path = write(tmp_path, "m.py", HEAD + SHARED_INIT % (layers, "self.c(torch.tanh(self.b(torch.relu(self.a(x)))))"))
    _, document = run_json("m.py", cwd=tmp_path)
    [finding] = findings_for(document, "IL101")
    assert finding["fix"]["applicability"] == "unsafe"
    assert finding["fix"]["message"] == (
        "Replace with kaiming_uniform_(nonlinearity='relu'); kaiming_uniform_(nonlinearity='tanh') for b"
    )
    assert run_cli("check", "m.py", "--fix", cwd=tmp_path)[0] == 1  # unsafe: not applied by --fix alone
    run_cli("check", "m.py", "--fix", "--unsafe-fixes", cwd=tmp_path)
    fixed = path.read_text()
    assert '        nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")\n' in fixed
    assert (
        '        self.apply(init_weights)\n        nn.init.kaiming_uniform_(self.b.weight, nonlinearity="tanh")\n'
        in fixed
    )
    assert run_json("m.py", cwd=tmp_path)[1]["findings"] == []
    model = built(path, "Mixed")
    assert_std(model.a.weight, math.sqrt(2 / 64))
    assert_std(model.b.weight, 5 / 3 / 8)


def test_layers_reached_only_by_index_get_no_guessed_override(tmp_path):
    """An override needs a name valid for every constructor argument: `self.body[2]` is not one."""
    layers = "        self.body = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh())"
    write(
        tmp_path, "m.py", HEAD + SHARED_INIT % (layers + "\n        self.c = nn.Linear(64, 10)", "self.c(self.body(x))")
    )
    _, document = run_json("m.py", cwd=tmp_path)
    found = findings_for(document, "IL101")
    assert found and all(f["fix"] is None for f in found)
    assert "cannot be named for every constructor argument" in found[0]["message"]


def test_gelu_gets_he_relu_and_silu_a_named_gain(tmp_path):
    """GELU's gain (1.53) is within 10% of sqrt(2): He-ReLU; SiLU's (1.68) is not: the gain is written
    as a named constant, and the std follows the layer's fan_in for every size."""
    source = (
        HEAD
        + """

class Net(nn.Module):
    def __init__(self, width=64):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(5)])
        self.out = nn.Linear(width, 4)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)

    def forward(self, x):
        for layer in self.layers:
            x = torch.nn.functional.ACT(layer(x))
        return self.out(x)
"""
    )
    gelu = write(tmp_path, "gelu.py", source.replace("ACT", "gelu"))
    silu = write(tmp_path, "silu.py", source.replace("ACT", "silu"))
    run_cli("check", ".", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert '                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")\n' in gelu.read_text()
    fixed = silu.read_text()
    assert "\nimport math\n" in fixed and "\nSILU_GAIN = 1.6765\n" in fixed
    assert "                nn.init.normal_(m.weight, std=SILU_GAIN / math.sqrt(m.weight[0].numel()))\n" in fixed
    assert run_json(".", cwd=tmp_path)[1]["findings"] == []
    for width in (64, 200):
        model = import_file(str(silu)).Net(width=width)
        assert_std(model.layers[0].weight, 1.6765 / math.sqrt(width))


def test_crlf_bom_comments_and_mode_are_kept(tmp_path):
    source = mlp(HEAD, "nn.init.xavier_normal_(self.fc1.weight)  # keep me").replace("\n", "\r\n")
    path = tmp_path / "m.py"
    path.write_bytes(b"\xef\xbb\xbf" + source.encode())
    os.chmod(path, 0o640)
    assert run_cli("check", "m.py", "--fix", cwd=tmp_path)[0] == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line ending is still CRLF
    assert b'nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")  # keep me\r\n' in data
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_latin1_file_keeps_its_encoding(tmp_path):
    source = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + mlp(HEAD, "nn.init.xavier_normal_(self.fc1.weight)")
    path = tmp_path / "m.py"
    path.write_bytes(source.encode("latin-1"))
    assert run_cli("check", "m.py", "--fix", cwd=tmp_path)[0] == 0
    assert path.read_bytes().decode("latin-1").startswith("# -*- coding: latin-1 -*-\n# caf\xe9\n")
    assert b"kaiming_normal_" in path.read_bytes()


def test_second_fix_is_a_no_op(tmp_path):
    path = write(tmp_path, "m.py", DEEP_DEFAULT)
    run_cli("check", "m.py", "--fix", "--unsafe-fixes", cwd=tmp_path)
    once = path.read_bytes()
    code, out = run_cli("check", "m.py", "--fix", "--unsafe-fixes", cwd=tmp_path)
    assert path.read_bytes() == once and code == 0 and "Fixed" not in out


def test_read_only_file_is_reported_and_untouched(tmp_path):
    path = write(tmp_path, "m.py", mlp(HEAD, "nn.init.xavier_normal_(self.fc1.weight)"))
    before = path.read_bytes()
    os.chmod(path, 0o444)
    from conftest import run_process

    result = run_process("check", "m.py", "--fix", cwd=tmp_path)
    assert result.returncode == 1
    assert "m.py: not fixed: the file is read-only" in result.stderr
    assert path.read_bytes() == before


def test_file_changed_after_analysis_is_not_touched(tmp_path):
    path = write(tmp_path, "m.py", mlp(HEAD, "nn.init.xavier_normal_(self.fc1.weight)"))
    report = check_paths([str(path)])
    edited = path.read_text().replace("# hidden", "# hidden, edited meanwhile")
    path.write_text(edited)
    changes, problems = prepare(report.findings, report.digests)
    assert changes == []
    assert problems == [(str(path), "the file changed since it was analysed: run initlint again")]
    assert path.read_text() == edited


def test_json_fix_record(tmp_path):
    write(tmp_path, "m.py", mlp(HEAD, "nn.init.xavier_normal_(self.fc1.weight)"))
    _, document = run_json("m.py", cwd=tmp_path)
    [finding] = document["findings"]
    fix = finding["fix"]
    assert fix["applicability"] == "safe"
    assert fix["message"] == "Replace with kaiming_normal_(nonlinearity='relu')"
    [edit] = fix["edits"]
    assert (edit["path"], edit["line"], edit["column"], edit["end_line"]) == ("m.py", 10, 9, 10)
    assert edit["end_column"] == 9 + len("nn.init.xavier_normal_(self.fc1.weight)")
    assert edit["content"] == 'nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")'


def test_text_marks_fixable_findings(tmp_path):
    write(tmp_path, "m.py", mlp(HEAD, "nn.init.xavier_normal_(self.fc1.weight)"))
    _, out = run_cli("check", "m.py", cwd=tmp_path)
    assert "IL101 [*] [warning]" in out
    assert "[*] 1 fixable with `initlint check --fix`." in out
