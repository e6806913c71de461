"""Objects of the file's plain classes: dataclasses, NamedTuples, attrs classes and classes of attributes.

A config object (``GPTConfig()``, ``Settings()``, ``Config(n_layer=2)``) is made
as Python makes it: the ``__init__`` a dataclass, NamedTuple or attrs class
generates binds the arguments to its fields (defaults and
``field(default_factory=...)`` filled in), then ``__post_init__`` (attrs:
``__attrs_post_init__``) runs; a plain class runs its own ``__init__``. A class
whose construction is not known here (a base from another file, a metaclass,
a decorator not listed, ``InitVar`` fields, positional ``attr.ib`` arguments) is
not made: calling it stays an unknown call.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .names import Qual, builtin
from .runtime import Frame, Raises
from .values import MISSING, UNKNOWN, Args, Bound, ClassInfo, Instance, Scope

if TYPE_CHECKING:
    from .interp import Interpreter

DATACLASS = "dataclass"
NAMEDTUPLE = "namedtuple"
ATTRS = "attrs"
PLAIN = "plain"  # its own __init__ (or object's): a class of attributes, a dataclass defining __init__

_PLAIN_BASES = frozenset({"builtins.object", "abc.ABC"})
_ATTRS_AUTO = frozenset({f"{m}.{d}" for m in ("attr", "attrs") for d in ("define", "frozen", "mutable")}) | {
    "attr.dataclass"
}
_ATTRS_CLASSIC = frozenset({"attr.s", "attr.attrs", "attrs.attrs"})
_FIELD_CALLS = frozenset({"dataclasses.field", "attr.ib", "attr.attrib", "attr.field", "attrs.field"})
_CLASS_VARS = frozenset({"typing.ClassVar", "ClassVar"})
_INIT_VARS = frozenset({"dataclasses.InitVar", "InitVar"})


@dataclass(frozen=True)
class Field:
    """A field of a dataclass, NamedTuple or attrs class: what its generated ``__init__`` does with it."""

    name: str  # the attribute
    parameter: str | None  # its __init__ parameter; None when it is not one (init=False)
    owner: ClassInfo  # the class declaring it, in whose scope its default is evaluated
    default: ast.expr | None = None  # what gives its default (a value, or a factory); None: required
    factory: bool = False  # ``default`` is called for each object (default_factory=, factory=)
    call: ast.Call | None = None  # the field(...) whose argument ``default`` is: evaluated when an object is made
    converted: bool = False  # an attrs converter changes the value: not known


def qualified(node: ast.expr, scope: Scope) -> Any:
    """What a decorator, annotation or callee names: a Qual, one of the file's classes, or None."""
    if isinstance(node, ast.Call):
        return qualified(node.func, scope)
    if isinstance(node, ast.Name):
        value = scope.lookup(node.id)
        return builtin(node.id) if value is MISSING else value
    if isinstance(node, ast.Attribute):
        inner = qualified(node.value, scope)
        return inner.attr(node.attr) if isinstance(inner, Qual) else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
        return qualified(ast.Name(node.value, ast.Load()), scope)  # a forward reference: "GPTConfig"
    return None


def _qual_name(node: ast.expr, scope: Scope) -> str | None:
    found = qualified(node, scope)
    return found.name if isinstance(found, Qual) else None


def record_kind(cls: ClassInfo) -> str | None:
    """How objects of ``cls`` are made: DATACLASS, NAMEDTUPLE, ATTRS or PLAIN; None when not known here."""
    if cls.node.keywords or "__new__" in cls.methods:
        return None  # a metaclass, or its own __new__
    for base in cls.mro()[1:]:
        if isinstance(base, ClassInfo):
            if record_kind(base) in (None, NAMEDTUPLE):
                return None
        elif not (isinstance(base, Qual) and (base.name in _PLAIN_BASES or base.name == "typing.NamedTuple")):
            return None
    if any(isinstance(b, Qual) and b.name == "typing.NamedTuple" for b in cls.bases):
        return NAMEDTUPLE if len(cls.bases) == 1 and not cls.node.decorator_list else None
    if not cls.node.decorator_list:
        return PLAIN
    if len(cls.node.decorator_list) > 1:
        return None
    decorator = cls.node.decorator_list[0]
    if isinstance(decorator, ast.Call) and any(k.arg in (None, "init") for k in decorator.keywords):
        return None  # init=False: no generated __init__
    name = _qual_name(decorator, cls.scope)
    kind = DATACLASS if name == "dataclasses.dataclass" else ATTRS if name in _ATTRS_AUTO | _ATTRS_CLASSIC else None
    if kind is not None and "__init__" in cls.methods:
        return PLAIN  # a generated __init__ never replaces the class's own
    return kind


def _auto_attribs(cls: ClassInfo) -> bool:
    """An attrs class whose annotated names are fields (``@define``, ``@attr.s(auto_attribs=True)``)."""
    decorator = cls.node.decorator_list[0]
    if _qual_name(decorator, cls.scope) in _ATTRS_AUTO:
        return True
    keywords = decorator.keywords if isinstance(decorator, ast.Call) else []
    return any(k.arg == "auto_attribs" and isinstance(k.value, ast.Constant) and k.value.value is True
               for k in keywords)  # fmt: skip


def fields(cls: ClassInfo) -> list[Field] | None:
    """The fields of a dataclass, NamedTuple or attrs class, bases' first; None when they are not known."""
    kind = record_kind(cls)
    if kind not in (DATACLASS, NAMEDTUPLE, ATTRS):
        return None
    found: dict[str, Field] = {}
    owners = [c for c in reversed(cls.mro()) if isinstance(c, ClassInfo) and record_kind(c) == kind]
    for owner in owners:
        auto = kind != ATTRS or _auto_attribs(owner)
        for item in owner.node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                name, annotation, value = item.target.id, item.annotation, item.value
            elif kind == ATTRS and isinstance(item, ast.Assign) and len(item.targets) == 1:
                if not isinstance(item.targets[0], ast.Name):
                    continue
                name, annotation, value = item.targets[0].id, None, item.value
            else:
                continue
            if annotation is not None and _annotation_in(annotation, owner, _CLASS_VARS):
                continue
            if annotation is not None and _annotation_in(annotation, owner, _INIT_VARS):
                return None
            is_call = isinstance(value, ast.Call) and _qual_name(value.func, owner.scope) in _FIELD_CALLS
            if kind == ATTRS and not is_call and not (auto and annotation is not None):
                continue  # a plain class attribute of an attrs class
            field_ = _field(name, value, owner, kind) if is_call else _plain_field(name, value, owner, kind)
            if field_ is None:
                return None
            found[name] = field_  # a redeclared field keeps its place and takes the new default
    return list(found.values())


def _annotation_in(annotation: ast.expr, owner: ClassInfo, names: frozenset[str]) -> bool:
    target = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    if isinstance(target, ast.Constant) and isinstance(target.value, str):
        return target.value.split("[")[0] in names
    return _qual_name(target, owner.scope) in names or (isinstance(target, ast.Name) and target.id in names)


def _parameter(name: str, kind: str) -> str:
    return name.lstrip("_") if kind == ATTRS else name  # attrs: `_x` is set by the parameter `x`


def _plain_field(name: str, value: ast.expr | None, owner: ClassInfo, kind: str) -> Field:
    return Field(name, _parameter(name, kind), owner, value)


def _field(name: str, call: ast.expr | None, owner: ClassInfo, kind: str) -> Field | None:
    """A field declared with ``field(...)`` / ``attr.ib(...)``."""
    assert isinstance(call, ast.Call)
    if call.args:
        return None  # attr.ib(default) given positionally: not read
    keywords = {k.arg: k.value for k in call.keywords}
    if None in keywords:
        return None
    init = keywords.get("init")
    if init is not None and not (isinstance(init, ast.Constant) and isinstance(init.value, bool)):
        return None
    parameter = None if isinstance(init, ast.Constant) and init.value is False else _parameter(name, kind)
    converted = "converter" in keywords
    if "default" in keywords:
        return Field(name, parameter, owner, keywords["default"], call=call, converted=converted)
    factory = keywords.get("default_factory", keywords.get("factory"))
    if factory is not None:
        return Field(name, parameter, owner, factory, factory=True, call=call, converted=converted)
    return Field(name, parameter, owner, converted=converted)


def required_arguments(cls: ClassInfo) -> list[str] | None:
    """What ``cls()`` would be missing; None when how its objects are made is not known here."""
    kind = record_kind(cls)
    if kind is None:
        return None
    if kind != PLAIN:
        declared = fields(cls)
        if declared is None:
            return None
        return [f.parameter for f in declared if f.parameter is not None and f.default is None]
    for c in cls.mro():
        if isinstance(c, ClassInfo) and "__init__" in c.methods:
            return required_parameters(c.methods["__init__"])
    return []


def required_parameters(method: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The parameters of a method (``self`` aside) a call must give: no default."""
    spec = method.args
    positional = [*spec.posonlyargs, *spec.args][1:]
    missing = [a.arg for a in positional[: len(positional) - len(spec.defaults)]]
    return missing + [a.arg for a, d in zip(spec.kwonlyargs, spec.kw_defaults) if d is None]


def make(interp: Interpreter, cls: ClassInfo, args: Args, node: ast.AST) -> Instance | None:
    """``cls(*args)`` run by ``interp``; None when how its objects are made is not known here."""
    kind = record_kind(cls)
    declared = fields(cls) if kind not in (None, PLAIN) else None
    if kind is None or kind != PLAIN and declared is None or not args.complete:
        return None
    obj = Instance(cls)
    if declared is None:
        init = interp.instance_attribute(obj, "__init__")
        if isinstance(init, Bound):
            interp.call_function(init.func, args, node, receiver=obj)
        elif any(isinstance(c, ClassInfo) and "__init__" in c.attrs for c in cls.mro()):
            return None  # a decorated __init__: not followed
        elif args.positional or args.keywords:
            raise Raises(f"{cls.name}() takes no arguments", node)
        return obj
    given = _bind(cls, declared, args, node)
    for field_ in declared:
        value = given.get(field_.parameter, MISSING) if field_.parameter is not None else MISSING
        if value is MISSING:
            value = _default(interp, field_)
        if value is not MISSING:
            obj.attrs[field_.name] = UNKNOWN if field_.converted else value
    post = {DATACLASS: "__post_init__", ATTRS: "__attrs_post_init__"}.get(kind or "")
    after = interp.instance_attribute(obj, post) if post else None
    if isinstance(after, Bound):
        interp.call_function(after.func, Args((), {}), node, receiver=obj)
    return obj


def _bind(cls: ClassInfo, declared: list[Field], args: Args, node: ast.AST) -> dict[str, Any]:
    """The arguments by parameter, as the generated __init__ binds them (raising as it would)."""
    params = [f.parameter for f in declared if f.parameter is not None]
    if len(args.positional) > len(params):
        raise Raises(f"{cls.name}() takes {len(params)} arguments", node)
    given = dict(zip(params, args.positional))
    for name, value in args.keywords.items():
        if name not in params or name in given:
            raise Raises(f"{cls.name}() got an unexpected argument {name}", node)
        given[name] = value
    params_missing = (f.parameter for f in declared if f.parameter is not None and f.default is None)
    missing = [name for name in params_missing if name not in given]
    if missing:
        raise Raises(f"{cls.name}() is missing {', '.join(missing)}", node)
    return given


def _default(interp: Interpreter, field_: Field) -> Any:
    """A field's default for a new object: its class attribute, field(default=...), or a factory's result."""
    if field_.default is None:
        return MISSING  # init=False and no default: the attribute is not set
    if field_.call is None:
        return field_.owner.attrs.get(field_.name, UNKNOWN)  # evaluated when the class statement ran
    frame = Frame(Scope(dict(field_.owner.attrs), field_.owner.scope))
    value = interp.eval(field_.default, frame)
    return interp.call(value, Args((), {}), field_.call, frame) if field_.factory else value


def instance_truth(obj: Instance) -> bool | None:
    """``bool(obj)``: True unless its class defines ``__bool__``/``__len__`` (or is a tuple)."""
    if obj.cls is None:
        return True
    kind = record_kind(obj.cls)
    if kind == NAMEDTUPLE:
        declared = fields(obj.cls)
        return bool(declared) if declared is not None else None
    for c in obj.cls.mro():
        if isinstance(c, ClassInfo) and ({"__bool__", "__len__"} & (set(c.methods) | set(c.attrs))):
            return None
    return True
