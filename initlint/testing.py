"""For your own test suite: fail a test when a model's initialization is wrong.

    from initlint.testing import assert_init_ok

    def test_init():
        assert_init_ok(MyNet)                      # a class built with no arguments
        assert_init_ok(lambda: MyNet(depth=12))    # or any zero-argument factory

The failure message lists the findings as ``initlint check`` prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .api import check_model
from .findings import Finding, severity_rank
from .options import Options


def assert_init_ok(
    factory: Callable[[], Any],
    *,
    select: Sequence[str] = ("ALL",),
    ignore: Sequence[str] = (),
    fail_on: str = "warning",
) -> None:
    """Raise ``AssertionError`` if the model has a finding at ``fail_on`` or above (info notes never fail)."""
    findings = check_model(factory, Options(select=tuple(select), ignore=tuple(ignore)))
    failing = [f for f in findings if severity_rank(f.severity) >= severity_rank(fail_on)]
    if failing:
        name = getattr(factory, "__qualname__", type(factory).__name__)
        lines = [f"{name}: {len(failing)} initialization finding{'' if len(failing) == 1 else 's'}:"]
        lines += [f"  {_shown(f)}" for f in failing]
        raise AssertionError("\n".join(lines))


def _shown(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}:{finding.column}: {finding.code} [{finding.severity}] {finding.message}"
