"""Frozen dataclasses to JSON and back, the shape checked against the type hints on read.

The cache stores what analysis learnt as plain JSON: reading an entry can
never run code (as unpickling can), and an entry of the wrong shape (another
version's, a truncated or planted one) raises ``ShapeError``, which the
cache treats as a miss.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any


class ShapeError(ValueError):
    """The JSON does not have the shape the type asks for."""


def dumps(value: object) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes, kind: Any) -> Any:
    """The value of type ``kind`` that ``text`` encodes; ShapeError when it does not."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ShapeError(f"not JSON: {error}") from error
    return _decoder(kind)(data)


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):  # by value: before str, which a str-valued enum also is
        return _plain(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, frozenset):
        return sorted((_plain(v) for v in value), key=repr)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot encode {type(value).__name__}")


Decoder = Callable[[object], Any]


def _fail(what: str) -> ShapeError:
    return ShapeError(f"expected {what}")


@cache
def _decoder(kind: Any) -> Decoder:
    """A function checking and decoding JSON data of type ``kind``, built once per type
    (warm runs decode thousands of nodes: the type is not inspected at each)."""
    origin = typing.get_origin(kind)
    if kind is Any or kind is object:  # a free-form scalar (LayerFacts.extra values)
        return _scalar
    if kind is type(None):
        return _null
    if origin in (typing.Union, types.UnionType):
        return _union(tuple(_decoder(option) for option in typing.get_args(kind)))
    if origin in (tuple, frozenset):
        args = typing.get_args(kind)
        if origin is frozenset:
            return _sequence(_decoder(args[0]), frozenset)
        if len(args) == 2 and args[1] is Ellipsis:
            return _sequence(_decoder(args[0]), tuple)
        return _fixed(tuple(_decoder(arg) for arg in args))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _member(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _record(kind)
    if kind is float:
        return _float
    if kind in (int, str, bool):
        return _exact(kind)
    raise TypeError(f"cannot decode {kind}")


def _scalar(data: object) -> object:
    if data is None or isinstance(data, (str, int, float, bool)):
        return data
    raise _fail("a scalar")


def _null(data: object) -> None:
    if data is not None:
        raise _fail("null")


def _float(data: object) -> float:
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    raise _fail("a number")


def _exact(kind: type) -> Decoder:
    def decode(data: object) -> object:
        if type(data) is kind:
            return data
        raise _fail(kind.__name__)

    return decode


def _member(kind: type[enum.Enum]) -> Decoder:
    """An enum member from its value; any other value is a shape error, never a default member."""
    by_value = {(type(member.value), member.value): member for member in kind}

    def decode(data: object) -> object:
        try:
            return by_value[(type(data), data)]
        except (KeyError, TypeError):  # an unknown value, or an unhashable list or object
            raise _fail(f"a value of {kind.__name__}") from None

    return decode


def _union(options: tuple[Decoder, ...]) -> Decoder:
    def decode(data: object) -> object:
        for option in options:
            try:
                return option(data)
            except ShapeError:
                continue
        raise _fail("one of a union's types")

    return decode


def _sequence(item: Decoder, make: Callable[[Any], Any]) -> Decoder:
    def decode(data: object) -> object:
        if not isinstance(data, list):
            raise _fail("a list")
        return make([item(value) for value in data])

    return decode


def _fixed(items: tuple[Decoder, ...]) -> Decoder:
    def decode(data: object) -> object:
        if not isinstance(data, list) or len(data) != len(items):
            raise _fail(f"a list of {len(items)}")
        return tuple(item(value) for item, value in zip(items, data))

    return decode


def _record(kind: type) -> Decoder:
    hints = typing.get_type_hints(kind)
    names = tuple(f.name for f in dataclasses.fields(kind) if f.init)
    expected = set(names)
    fields: list[tuple[str, Decoder]] = []

    def decode(data: object) -> object:
        if not isinstance(data, dict) or data.keys() != expected:
            raise _fail(f"the fields of {kind.__name__}")
        if not fields:  # resolved on first use: dataclasses may refer to each other
            fields.extend((name, _decoder(hints[name])) for name in names)
        return kind(**{name: field_decoder(data[name]) for name, field_decoder in fields})

    return decode
