"""The cache's JSON codec: enums travel by value and come back as members, never as a default."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

import pytest

from initlint import jsoncodec
from initlint.discover import Screening
from initlint.shared.facts import AnalysisProblem, FileFacts, ModelFacts, ProblemKind, Span


class Colour(enum.Enum):
    RED = 1
    GREEN = 2


@dataclass(frozen=True)
class Painted:
    colour: Colour
    maybe: Colour | None = None


def test_a_problem_kind_is_stored_as_its_value_and_read_back_as_the_member():
    facts = FileFacts(
        "/p/m.py",
        (
            ModelFacts(
                "/p/m.py", "Net", 3, "error", "boom", error=AnalysisProblem(ProblemKind.CONSTRUCTION_ERROR, "boom")
            ),
        ),
        problem=AnalysisProblem(ProblemKind.TIMEOUT, "slow", Span("/p/m.py", 1, 1, 1, 1)),
        static_fallback="No module named 'x'; really",
    )
    text = jsoncodec.dumps(facts)
    assert '"kind":"timeout"' in text and '"kind":"construction-error"' in text
    back = jsoncodec.loads(text, FileFacts)
    assert back == facts
    assert back.problem.kind is ProblemKind.TIMEOUT and back.models[0].error.kind is ProblemKind.CONSTRUCTION_ERROR


def test_a_screening_with_a_problem_round_trips():
    screening = Screening(
        problem=AnalysisProblem(ProblemKind.SYNTAX_ERROR, "syntax error: x", Span("/m.py", 2, 3, 2, 3))
    )
    assert jsoncodec.loads(jsoncodec.dumps(screening), Screening) == screening


@pytest.mark.parametrize("kind", ["no-such-kind", "TIMEOUT", 1, None, ["timeout"], {"kind": "timeout"}])
def test_an_unknown_kind_is_a_shape_error_not_a_default(kind):
    text = json.dumps({"kind": kind, "message": "m", "span": None})
    with pytest.raises(jsoncodec.ShapeError):
        jsoncodec.loads(text, AnalysisProblem)


def test_any_enum_by_value_including_optional_ones():
    value = Painted(Colour.GREEN, Colour.RED)
    assert jsoncodec.dumps(value) == '{"colour":2,"maybe":1}'
    assert jsoncodec.loads(jsoncodec.dumps(value), Painted) == value
    assert jsoncodec.loads('{"colour":1,"maybe":null}', Painted) == Painted(Colour.RED)
    for bad in ('{"colour":3,"maybe":null}', '{"colour":true,"maybe":null}', '{"colour":"RED","maybe":null}'):
        with pytest.raises(jsoncodec.ShapeError):
            jsoncodec.loads(bad, Painted)
