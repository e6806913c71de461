"""Scripts are read, not run: the models a module builds at its top level, and what they need.

Training scripts build their models at module level (or in the body of
``if __name__ == "__main__":`` and the ``main()`` it calls) and initialise
them there: ``netG = Generator(ngpu)``, ``netG.apply(weights_init)``, a
``for name, p in model.named_parameters():`` loop. Running such a file would
parse initlint's argv, load data and train. ``slice_module`` finds each such
*build* and the module-level statements it depends on (a backward slice:
``opt = parser.parse_args()`` with every ``parser.add_argument(...)``, the
settings a class reads as globals); ``program`` turns that into the code to
execute: imports, definitions, environment set-up, the needed statements in
their original order, and one function per build that constructs the model
and applies its init, returning it. Everything else (loops, ``with`` blocks,
data loading, checkpoint loading, the rest of ``main()``) is left out.
Positions are kept, so recorded init lines point at the user's file.

Torch-free and pure ``ast``: the dynamic mode executes the program, the
static mode interprets the same statements (``script_code``: the kept ones,
then each build's construction and inits).
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .knowledge.values import INIT_ALIASES, INIT_FUNCTIONS, TENSOR_WRITES

BUILD_PREFIX = "__initlint_build_"

# Calls that set up the environment the rest of a module imports and builds in.
_SETUP_CALLS = re.compile(r"^(sys\.path\.\w+|os\.environ\.\w+|torch\.set_default_\w+|os\.chdir)$")
_SETUP_TARGETS = re.compile(r"^(os\.environ|torch\.backends\.[\w.]+|sys\.path)$")
# Methods that move or wrap a model without changing its init: dropped from a build,
# so `Net().to("cuda")` builds on a machine without a GPU.
_PLACEMENT = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval",
                        "requires_grad_", "share_memory", "to_empty"})  # fmt: skip
_MODULE_WALKS = frozenset({"modules", "named_modules", "parameters", "named_parameters", "children",
                           "named_children", "buffers", "named_buffers", "state_dict"})  # fmt: skip
_INIT_METHOD = re.compile(r"init|reset_parameters")
_INIT_HELPER = re.compile(r"init|weight|reset", re.IGNORECASE)


@dataclass(frozen=True)
class Build:
    """A model a module builds at its top level, and the statements that initialise it."""

    variable: str  # the name it is bound to: `netG`
    model_class: str  # the class called, as written: `Generator`, `models.GPT`
    line: int  # the construction statement's first line
    init_lines: tuple[int, ...]  # first lines of the statements applying init to it
    function: str  # the name of the function ``program`` defines to build it
    position: int  # the construction statement's index among the flattened statements
    init_positions: tuple[int, ...]
    # Earlier builds whose models this one's construction or inits read (`enc = Encoder()`, then
    # `model = Net(enc)`), by variable, in order: built first, as the script builds them.
    requires: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.model_class} ({self.variable})"


@dataclass(frozen=True)
class Slice:
    """What of a module runs: ``kept`` statements (indexes among the flattened statements),
    its builds, and the first lines of what is left out."""

    kept: tuple[int, ...]
    builds: tuple[Build, ...]
    skipped: tuple[int, ...]  # first lines of the module-level statements left out
    unresolved: tuple[str, ...] = ()  # names the builds read that no simple statement defines

    @property
    def is_script(self) -> bool:
        """It does more at module level than define things: some of it is not executed."""
        return bool(self.skipped)


# -- the statements, flattened --------------------------------------------------------------


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    return any(isinstance(p, ast.Name) and p.id == "__name__" for p in parts) and any(
        isinstance(p, ast.Constant) and p.value == "__main__" for p in parts
    )


def _called_main(guard: ast.If, functions: dict[str, ast.FunctionDef]) -> ast.FunctionDef | None:
    """``main()`` (a local function with no required argument) called from the main guard."""
    for statement in guard.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in functions:
            function = functions[call.func.id]
            args = function.args
            if not args.posonlyargs and len(args.defaults) >= len(args.args):
                return function
    return None


def _flatten(module: ast.Module) -> list[ast.stmt]:
    """Module-level statements in order, the main guard's body (and the body of the ``main()``
    it calls) in its place: what runs when the file is run as a script."""
    functions = {s.name: s for s in module.body if isinstance(s, ast.FunctionDef)}
    flat: list[ast.stmt] = []
    for statement in module.body:
        if not _is_main_guard(statement):
            flat.append(statement)
            continue
        assert isinstance(statement, ast.If)
        main = _called_main(statement, functions)
        flat.extend(s for s in statement.body if not _calls(s, main.name if main else ""))
        if main is not None:
            flat.extend(main.body)
    return flat


def _calls(statement: ast.stmt, name: str) -> bool:
    call = statement.value if isinstance(statement, ast.Expr) else None
    return bool(name) and isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == name


# -- names --------------------------------------------------------------------------------------


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _root(node: ast.AST) -> str | None:
    """``opt`` for ``opt.nz``, ``cfg["x"].y``, ``parser.add_argument(...)``."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _reads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _definition_reads(node: ast.stmt) -> set[str]:
    """Names read when a ``def``/``class`` statement runs (not when the function is called)."""
    if isinstance(node, ast.ClassDef):
        parts: list[ast.AST] = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
        parts += [s for s in node.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        parts += [d for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for d in (*s.decorator_list, *s.args.defaults, *(k for k in s.args.kw_defaults if k))]  # fmt: skip
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts = [*node.decorator_list, *node.args.defaults, *(k for k in node.args.kw_defaults if k)]
    else:
        return _reads(node)
    return set().union(*(_reads(p) for p in parts)) if parts else set()


def _free_reads(node: ast.AST) -> set[str]:
    """Names a function or class reads from its module when used: loads minus its own locals."""
    if isinstance(node, ast.ClassDef):
        methods = [s for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return _definition_reads(node).union(*(_free_reads(m) for m in methods))
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return _reads(node)
    arguments = node.args
    local = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    local |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    body = node.body if isinstance(node.body, list) else [node.body]
    for statement in body:
        for n in ast.walk(statement):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                local.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                local.add(n.name)
            elif isinstance(n, ast.alias):
                local.add((n.asname or n.name).split(".")[0])
    return set().union(*(_reads(s) for s in body)) - local


def _bound(node: ast.stmt) -> set[str]:
    """Names a simple statement (or an ``if``/``try`` of simple statements) binds."""
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    elif isinstance(node, (ast.If, ast.Try)):
        return set().union(*(_bound(s) for s in _branches(node)))
    names: set[str] = set()
    for target in targets:
        for n in ast.walk(target):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                names.add(n.id)
    return names


def _mutated(node: ast.stmt) -> str | None:
    """The name a statement changes in place: ``parser.add_argument(...)``, ``cfg.depth = 4``."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute):
        return _root(node.value.func.value)
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
        node, (ast.AugAssign, ast.AnnAssign)) else []  # fmt: skip
    for target in targets:
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            return _root(target)
    return None


def _branches(node: ast.If | ast.Try) -> list[ast.stmt]:
    if isinstance(node, ast.If):
        return [*node.body, *node.orelse]
    return [*node.body, *(s for h in node.handlers for s in h.body), *node.orelse, *node.finalbody]


def _simple(node: ast.stmt) -> bool:
    """A statement that can be run without running a loop, a block or a definition of its own."""
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Import, ast.ImportFrom, ast.Pass)):
        return True
    if isinstance(node, (ast.If, ast.Try)):
        return all(_simple(s) for s in _branches(node))
    return False


def _always_kept(node: ast.stmt) -> bool:
    """Imports, definitions, the docstring, environment set-up, ``if TYPE_CHECKING``, import fallbacks."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return bool(_SETUP_CALLS.match(_dotted(node.value.func)))
    if isinstance(node, (ast.Assign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(_SETUP_TARGETS.match(_dotted(t.value if isinstance(t, ast.Subscript) else t)) for t in targets)
    if isinstance(node, ast.If) and _dotted(node.test).endswith("TYPE_CHECKING"):
        return True
    if isinstance(node, ast.Try):
        return all(isinstance(s, (ast.Import, ast.ImportFrom, ast.Assign, ast.Pass)) for s in _branches(node))
    return False


# -- builds -------------------------------------------------------------------------------------


def _model_call(value: ast.AST, classes: set[str]) -> ast.Call | None:
    """The outermost call of a model class in an expression, through placements and wrappers."""
    if isinstance(value, ast.Call):
        if _dotted(value.func) in classes or _dotted(value.func).rpartition(".")[2] in classes:
            return value
        if isinstance(value.func, ast.Attribute) and value.func.attr in _PLACEMENT:
            return _model_call(value.func.value, classes)
        for arg in value.args:  # nn.DataParallel(Net()), torch.compile(Net())
            found = _model_call(arg, classes)
            if found is not None:
                return found
    return None


def _initialises(node: ast.stmt, variable: str, functions: set[str]) -> bool:
    """Whether a statement applies init to the model bound to ``variable``: ``model.apply(fn)``,
    ``init_weights(model)``, ``nn.init.normal_(model.fc.weight)``, ``model.fc.weight.data.zero_()``,
    ``model.fc.bias.data = ...``, a loop over ``model.modules()``/``named_parameters()``."""
    if isinstance(node, ast.With):  # with torch.no_grad(): for p in model.parameters(): ...
        return bool(node.body) and all(_initialises(s, variable, functions) for s in node.body)
    if isinstance(node, ast.For):
        walked = node.iter.func if isinstance(node.iter, ast.Call) else None
        return isinstance(walked, ast.Attribute) and walked.attr in _MODULE_WALKS and _root(walked.value) == variable
    if isinstance(node, (ast.Assign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(t, (ast.Attribute, ast.Subscript)) and _root(t) == variable for t in targets)
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        return False
    call = node.value
    on_model = any(_root(a) == variable for a in (*call.args, *(k.value for k in call.keywords)))
    if isinstance(call.func, ast.Attribute) and _root(call.func.value) == variable:
        method = call.func.attr
        return method == "apply" or bool(_INIT_METHOD.search(method)) or method in TENSOR_WRITES
    callee = _dotted(call.func).rpartition(".")[2]
    if callee in INIT_FUNCTIONS or callee in INIT_ALIASES:  # nn.init.normal_(model.fc.weight, ...)
        return on_model
    # A helper of the file's own (init_weights(model)); never a training or evaluation function.
    return callee in functions and bool(_INIT_HELPER.search(callee)) and on_model


def _builds(flat: list[ast.stmt], classes: set[str], functions: set[str]) -> list[Build]:
    """Each model built in ``flat``, with the statements that initialise it."""
    found = []
    for position, node in enumerate(flat):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        call = _model_call(node.value, classes)
        if call is None:
            continue
        variable = node.targets[0].id
        inits = []
        for later in range(position + 1, len(flat)):
            if variable in _bound(flat[later]):
                break  # rebound: later statements are about another object
            if _initialises(flat[later], variable, functions):
                inits.append(later)
        build = Build(variable, _dotted(call.func), node.lineno, tuple(flat[i].lineno for i in inits),
                      f"{BUILD_PREFIX}{variable}_{node.lineno}", position, tuple(inits))  # fmt: skip
        found.append(build)
    return found


def _with_requirements(build: Build, reads: set[str], models: list[Build]) -> Build:
    """The build, with the earlier builds of models (the latest binding of each variable) it ``reads``."""
    latest: dict[str, Build] = {}
    for other in models:
        if other.position < build.position:
            latest[other.variable] = other
    requires = tuple(variable for variable in latest if variable in reads)
    return replace(build, requires=requires) if requires else build


# -- the slice ----------------------------------------------------------------------------------


def slice_module(module: ast.Module, classes: set[str]) -> Slice:
    """The builds of ``module`` (calls of ``classes``: model classes it defines or imports) and
    the statements they need. A module without builds keeps every simple statement."""
    flat = _flatten(module)
    definitions = {s.name: s for s in flat if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    functions = {name for name, s in definitions.items() if not isinstance(s, ast.ClassDef)}
    builds = _builds(flat, classes | {n for n, s in definitions.items() if isinstance(s, ast.ClassDef)}, functions)
    # A build of a class that is not a model (``config = GPTConfig(n_layer=2)``) is also a plain statement:
    # a model's construction that reads its variable keeps it (and what changes it) like any other.
    # One that reads an earlier model's variable (``model = Net(encoder)``) runs that model's build first.
    models = [b for b in builds if b.model_class in classes or b.model_class.rpartition(".")[2] in classes]
    reads = [_build_reads(flat, b) for b in builds]
    builds = [_with_requirements(b, read, models) for b, read in zip(builds, reads)]
    in_builds = {p for b in builds for p in (b.position, *b.init_positions)}
    kept = {i for i, s in enumerate(flat) if _always_kept(s) and i not in in_builds}
    last = max((p for p in in_builds), default=len(flat))
    needed = set().union(*(read - set(b.requires) for b, read in zip(builds, reads)))
    needed |= set().union(*(_definition_reads(flat[i]) for i in kept)) if kept else set()
    if not builds:  # a plain module: its settings are what its classes may read when built
        needed |= {name for i, s in enumerate(flat) if _simple(s) for name in _bound(s)}
    in_models = {p for b in models for p in (b.position, *b.init_positions)}
    kept, unresolved = _close(flat, kept, needed, definitions, last, in_models)
    skipped = tuple(s.lineno for i, s in enumerate(flat) if i not in kept and i not in in_builds)
    return Slice(tuple(sorted(kept)), tuple(builds), skipped, unresolved)


def _construction(flat: list[ast.stmt], build: Build) -> ast.Call:
    """The model class call a build's statement makes (``_builds`` found it there)."""
    statement = flat[build.position]
    call = _model_call(statement.value, {build.model_class}) if isinstance(statement, ast.Assign) else None
    if call is None:
        raise ValueError(f"no call of {build.model_class} at line {build.line}: not this module's build")
    return call


def _build_reads(flat: list[ast.stmt], build: Build) -> set[str]:
    """What a build reads: its constructor call (placements dropped) and its init statements,
    less what its init loops bind themselves."""
    call = _construction(flat, build)
    inits = [flat[i] for i in build.init_positions]
    local = {n.id for s in inits for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return (_reads(call) | set().union(*(_reads(s) for s in inits))) - local - {build.variable}


def _close(
    flat: list[ast.stmt],
    kept: set[int],
    needed: set[str],
    definitions: Mapping[str, ast.stmt],
    last: int,
    in_models: set[int],
) -> tuple[set[int], tuple[str, ...]]:
    """Add the simple statements before ``last`` that bind or change a needed name, until none is missing;
    never the statements building or initialising a model (``in_models``): its build runs them."""
    modules = {name for node in flat if isinstance(node, (ast.Import, ast.ImportFrom)) for name in _bound(node)}
    binders: dict[str, list[int]] = {}
    for index, node in enumerate(flat[:last]):
        if index in in_models or not _simple(node):
            continue
        changed = _mutated(node)
        # A call on an imported module (`torch.manual_seed(...)`) changes no value a build reads.
        for name in _bound(node) | ({changed} if changed and changed not in modules else set()):
            binders.setdefault(name, []).append(index)
    seen: set[str] = set()
    queue = list(needed)
    unresolved = []
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in definitions:
            queue.extend(_free_reads(definitions[name]))  # what the function or class reads when used
        for index in binders.get(name, ()):
            if index not in kept:
                kept.add(index)
                queue.extend(_reads(flat[index]))
        if name not in definitions and name not in binders and not _binds_anywhere(flat, name):
            unresolved.append(name)
    return kept, tuple(sorted(n for n in unresolved if n not in _BUILTINS))


def _binds_anywhere(flat: list[ast.stmt], name: str) -> bool:
    return any(name in _bound(s) for s in flat if _always_kept(s))


_BUILTINS = frozenset(vars(builtins)) | {"__file__", "__name__", "__doc__", "__spec__", "__path__"}


def does_work(module: ast.Module) -> bool:
    """Whether importing the module would do more than define things: a loop, a ``with`` block or
    a call of an entry point (``main()``, ``train(...)``) at its top level, outside the main guard."""
    for statement in module.body:
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)):
            return True
        call = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in _ENTRY_POINTS:
            return True
    return False


_ENTRY_POINTS = frozenset({"main", "train", "run", "fit", "evaluate", "test", "cli", "app"})


def imported_names(module: ast.Module) -> set[str]:
    """Names bound by ``from x import Name`` anywhere at the top level (main guard included)."""
    return {(a.asname or a.name) for s in _flatten(module) if isinstance(s, ast.ImportFrom) for a in s.names}


def must_slice(module: ast.Module, sliced: Slice) -> bool:
    """Run the slice rather than the module: it builds models at its top level, or does work there."""
    return bool(sliced.builds) or does_work(module)


# -- the program --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildCode:
    """What one build runs: the builds it requires (each bound to its variable), its construction call
    alone (placements and wrappers dropped), then its inits."""

    build: Build
    construction: ast.Call
    inits: tuple[ast.stmt, ...]
    requires: tuple[BuildCode, ...] = ()


@dataclass(frozen=True)
class ScriptCode:
    """What runs of a module read as a script: the kept statements in order, then each build.
    The nodes are the module's own, so their positions are the user's."""

    kept: tuple[ast.stmt, ...]
    builds: tuple[BuildCode, ...]


def script_code(module: ast.Module, sliced: Slice) -> ScriptCode:
    """The statements ``sliced`` keeps of ``module``, and what each of its builds runs."""
    flat = _flatten(module)
    made: dict[str, BuildCode] = {}  # variable -> its latest build so far
    builds = []
    for build in sliced.builds:
        inits = tuple(flat[i] for i in build.init_positions)
        code = BuildCode(build, _construction(flat, build), inits, tuple(made[v] for v in build.requires))
        made[build.variable] = code
        builds.append(code)
    return ScriptCode(tuple(flat[i] for i in sliced.kept), tuple(builds))


def program(module: ast.Module, sliced: Slice) -> ast.Module:
    """The code to execute: kept statements in order at module level, then one function per
    build (constructing the model class alone, placements dropped, then its inits), lines kept."""
    flat = _flatten(module)
    code = script_code(module, sliced)
    body: list[ast.stmt] = list(code.kept)
    for built in code.builds:
        build = built.build
        construction = flat[build.position]
        assign = ast.copy_location(
            ast.Assign([ast.Name(build.variable, ast.Store())], built.construction), construction
        )
        # The models it reads, each from its own build function (defined above: builds come in order).
        required = [
            ast.copy_location(
                ast.Assign(
                    [ast.Name(r.build.variable, ast.Store())], ast.Call(ast.Name(r.build.function, ast.Load()), [], [])
                ),
                construction,
            )
            for r in built.requires
        ]
        returned = ast.copy_location(ast.Return(ast.Name(build.variable, ast.Load())), construction)
        no_arguments = ast.arguments(
            posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
        )
        function = ast.FunctionDef(
            name=build.function,
            args=no_arguments,
            body=[*required, assign, *built.inits, returned],
            decorator_list=[],
            returns=None,
        )
        body.append(ast.copy_location(function, construction))
    return ast.fix_missing_locations(ast.Module(body, []))
