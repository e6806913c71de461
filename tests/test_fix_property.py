"""Property: on random small model sources, --fix leaves a parsing file, changes only the
edited spans, and a second --fix changes nothing."""

from __future__ import annotations

import ast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from initlint.engine import check_paths
from initlint.fix.apply import _offsets, decode, prepare, write

ACTIVATIONS = ["torch.relu({})", "torch.tanh({})", "F.leaky_relu({}, 0.2)", "{}", "F.relu({})"]
PREFIXES = {"nn.init": "", "init": "from torch.nn import init\n", "torch.nn.init": ""}
INITS = [
    "{p}.xavier_uniform_(self.{l}.weight)",
    "{p}.xavier_normal_( self.{l}.weight ,gain=1.0 )",
    "{p}.kaiming_normal_(self.{l}.weight, nonlinearity='relu')",
    "{p}.kaiming_uniform_(\n            self.{l}.weight,\n            mode='fan_out',  # odd\n            nonlinearity='tanh',\n        )",
    "{p}.normal_(self.{l}.weight, std=0.01)",
    "self.{l}.weight.data.normal_(0, 0.02)",
    "self.{l}.weight.data.uniform_(-0.05, 0.05)",
    None,  # PyTorch's default
]


@st.composite
def model_sources(draw):
    n = draw(st.integers(1, 4))
    widths = [draw(st.sampled_from([16, 32, 48])) for _ in range(n + 1)]
    prefix = draw(st.sampled_from(sorted(PREFIXES)))
    lines = [
        "import torch",
        "import torch.nn as nn",
        "import torch.nn.functional as F",
        PREFIXES[prefix].rstrip("\n"),
        "",
        "",
        "class Model(nn.Module):",
        "    def __init__(self):",
        "        super().__init__()",
    ]
    for i in range(n):
        comment = draw(st.sampled_from(["", "  # layer", "   #x"]))
        lines.append(f"        self.l{i} = nn.Linear({widths[i]}, {widths[i + 1]}){comment}")
    for i in range(n):
        init = draw(st.sampled_from(INITS))
        if init is not None:
            lines.append("        " + init.format(p=prefix, l=f"l{i}"))
    lines += ["", "    def forward(self, x):"]
    for i in range(n):
        act = draw(st.sampled_from(ACTIVATIONS))
        lines.append("        x = " + act.format(f"self.l{i}(x)"))
    lines.append("        return x")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return ("\n".join(lines) + "\n").replace("\n", newline)


def _fix_once(path):
    report = check_paths([str(path)])
    changes, problems = prepare([f for f in report.findings if f.fix], report.digests)
    assert problems == []
    for change in changes:
        write(change)
    return report, changes


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=model_sources())
def test_fix_is_local_parsing_and_idempotent(tmp_path, source):
    path = tmp_path / "model.py"
    path.write_bytes(source.encode())
    report, changes = _fix_once(path)
    fixed = path.read_bytes().decode()
    ast.parse(fixed)
    if "\r\n" in source:
        assert "\n" not in fixed.replace("\r\n", "")
    # Everything outside the edited spans is unchanged: the text between spans
    # appears in the fixed file, in order, anchored at both ends.
    text = decode(source.encode()).text
    starts = _offsets(text)
    spans = sorted(
        {
            (starts[e.line - 1] + e.column - 1, starts[e.end_line - 1] + e.end_column - 1)
            for f in report.findings
            if f.fix
            for e in f.fix.edits
        }
    )
    kept, position = [], 0
    for start, end in spans:
        kept.append(text[position:start])
        position = max(position, end)
    kept.append(text[position:])
    assert fixed.startswith(kept[0]) and fixed.endswith(kept[-1])
    cursor = len(kept[0])
    for segment in kept[1:]:
        found = fixed.find(segment, cursor)
        assert found >= 0, segment
        cursor = found + len(segment)
    again, more = _fix_once(path)
    assert more == [] and path.read_bytes().decode() == fixed
