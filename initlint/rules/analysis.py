"""IL9xx: models initlint could not fully analyse. Never silent, so never hidden."""

from __future__ import annotations

from ..shared.facts import ProblemKind
from .base import ERROR, INFO, WARNING, Rule

_UNSEEN = (
    "A model that is not analysed can hide any of the other findings; initlint reports it instead of passing silently."
)


def _rule(code: str, name: str, severity: str, summary: str, what: str, why: str = _UNSEEN) -> Rule:
    return Rule(code=code, name=name, severity=severity, summary=summary, what=what, why=why)


SOURCE_ERROR = _rule(
    "IL901",
    "source-error",
    ERROR,
    "The file cannot be read as Python: a syntax error, or bytes that are not valid in its encoding.",
    "Reports files that do not parse or decode (UTF-8 unless a coding cookie says otherwise), with the position.",
)
IMPORT_ERROR = _rule(
    "IL902",
    "import-error",
    ERROR,
    "Importing the file raised, or called sys.exit().",
    "Reports the exception (and the line in your code) raised while importing a file that defines models. "
    "Other files are still checked. Use `--static` where the model's dependencies are not installed.",
)
CONSTRUCTION_ERROR = _rule(
    "IL903",
    "construction-error",
    ERROR,
    "Calling the model's constructor raised.",
    "Reports the exception raised by `Model()`; the file's other models are still checked.",
)
TIMEOUT = _rule(
    "IL904",
    "timeout",
    ERROR,
    "Importing the file or building/tracing a model took longer than --timeout.",
    "User code runs in a worker process; one that hangs is stopped after `--timeout` seconds (default 60) "
    "and the rest of the file and run carry on.",
)
CRASH = _rule(
    "IL905",
    "worker-crash",
    ERROR,
    "The worker process died: os._exit(), a segmentation fault, or the out-of-memory killer.",
    "Reports how the worker ended (exit code or signal) and which model it was building.",
)
PARTIAL_TRACE = _rule(
    "IL906",
    "partial-trace",
    INFO,
    "torch.fx could not trace the whole forward; layers were paired from partial traces.",
    "When the whole-model trace fails (data-dependent control flow, untraceable code), initlint traces "
    "both branches, then untraceable submodules on their own, then each child, and marks the model "
    "`partial`. Layers no trace reached are listed without an activation and not judged by pairing rules.",
    "Layers that could not be paired are not checked against their activation.",
)
INTERNAL_ERROR = _rule(
    "IL907",
    "internal-error",
    ERROR,
    "initlint itself failed on this file: a bug; please report it.",
    "Reports an unexpected failure inside initlint's analysis of a file, so the run does not pass silently.",
)
MODEL_SKIPPED = _rule(
    "IL908",
    "model-skipped",
    INFO,
    "A model class was not checked because its constructor needs arguments.",
    "initlint builds a class with no arguments, with a config object made from its defaults "
    "(`GPT(config: GPTConfig)`), or as a script in the project builds it. A class it cannot build that way "
    "is judged inside any checked model that contains it; the others are reported here with the entry "
    "that would build them: add it to `[tool.initlint] models` in pyproject.toml with the arguments filled "
    'in, e.g. `models = [{ entry = "nets.deep:Net", kwargs = { depth = 18 } }]`. The text report lists '
    "every such entry after the summary. With `require-all-models = true` (or `--require-all-models`) "
    "this is an error, so a gate cannot pass with a model it never built.",
    "Its layers are not checked unless another model contains it.",
)

STATIC_FALLBACK = _rule(
    "IL909",
    "static-fallback",
    WARNING,
    "The file could not be imported, so its models were analysed from source (static mode).",
    "When importing a file fails (typically a dependency missing where initlint runs), the default mode "
    "analyses that file's models from their source instead, as `--static` does, and reports them with "
    "status `static`. A file that, read from source, defines no model (a utility module importing an "
    "optional package that is not installed) gets this as info: nothing is hidden.",
    "Static analysis decides less than a full build (what it cannot decide, it does not judge), so the "
    "run is not clean: install the file's dependencies, or accept source-only checking with `--static` "
    "or `--ignore IL909`.",
)

ANALYSIS_RULES = (SOURCE_ERROR, IMPORT_ERROR, CONSTRUCTION_ERROR, TIMEOUT, CRASH, PARTIAL_TRACE,
                  INTERNAL_ERROR, MODEL_SKIPPED, STATIC_FALLBACK)  # fmt: skip

# A file or model that could not be analysed hides every finding it would have had: these errors are
# reported whatever --select and --ignore say (as ruff reports syntax errors), and fail the run.
ALWAYS_REPORTED = frozenset(rule.code for rule in ANALYSIS_RULES if rule.severity == ERROR)

# The rule that reports each kind of analysis problem: every kind has one.
PROBLEM_RULES: dict[ProblemKind, Rule] = {
    ProblemKind.SYNTAX_ERROR: SOURCE_ERROR,
    ProblemKind.DECODE_ERROR: SOURCE_ERROR,
    ProblemKind.IMPORT_ERROR: IMPORT_ERROR,
    ProblemKind.MISSING_DEPENDENCY: IMPORT_ERROR,  # after the static fallback found no model to analyse
    ProblemKind.SCRIPT_FAILED: IMPORT_ERROR,  # likewise
    ProblemKind.CONSTRUCTION_ERROR: CONSTRUCTION_ERROR,
    ProblemKind.TIMEOUT: TIMEOUT,
    ProblemKind.CRASH: CRASH,
    ProblemKind.INTERNAL_ERROR: INTERNAL_ERROR,
}
assert set(PROBLEM_RULES) == set(ProblemKind), "every kind of analysis problem needs its rule"
