"""Benchmarks: prints a table of medians over several runs (see the README for recorded numbers).

    python benchmarks/run.py [--runs 3] [--files 50] [--skip-big]

Measures, on a generated corpus (benchmarks/corpus.py):
- a cold full check against the unavoidable work (one process that imports
  torch, imports every file and builds every model);
- a warm run with nothing changed (and proof that torch was not imported);
- a warm run with one file changed;
- --static throughput against parsing the same files with libcst;
- -j 1 against -j 2;
- LLaMA-7B- and 70B-shaped models: wall time and peak RSS, against importing
  torch and building the model on the meta device.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import write_big_package, write_corpus, write_llama, write_zoo  # noqa: E402

PY = sys.executable

BASELINE = r"""
import importlib.util, sys, torch, torch.nn as nn
for i, path in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location(f"m{i}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for value in list(vars(module).values()):
        if isinstance(value, type) and issubclass(value, nn.Module) and value.__module__ == module.__name__:
            try:
                value()
            except TypeError:
                pass  # needs arguments
"""

META_BUILD = r"""
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("big", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with torch.device("meta"):
    module.Llama()
"""

ZOO_BASELINE = r"""
import importlib, sys, torch
sys.path.insert(0, sys.argv[1])
for item in sys.argv[2:]:  # each distinct architecture once: index,depth,width
    index, depth, width = map(int, item.split(","))
    module = importlib.import_module(f"zoo.arch_{index:02d}")
    getattr(module, f"Net{index}")(depth, width)
"""

AST_PARSE = r"""
import ast, sys
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        ast.parse(handle.read())
"""

LIBCST_PARSE = r"""
import sys, libcst
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        libcst.parse_module(handle.read())
"""

MEASURE_RSS = r"""
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def timed(
    command: list[str], env: dict | None = None, cwd: Path | None = None
) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    return time.perf_counter() - start, result


def median_of(runs: int, command: list[str], env: dict | None = None, before=None, cwd: Path | None = None) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        elapsed, result = timed(command, env, cwd)
        if result.returncode not in (0, 1):
            raise SystemExit(f"benchmark command failed ({result.returncode}): {' '.join(command)}\n{result.stderr}")
        times.append(elapsed)
    return statistics.median(times)


def initlint(*args: str) -> list[str]:
    return [PY, "-m", "initlint", "check", *args]


def no_torch_env(directory: Path) -> dict:
    fake = directory / "fake_torch" / "torch"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "__init__.py").write_text("raise ImportError('torch was imported')\n")
    return {**os.environ, "PYTHONPATH": str(directory / "fake_torch")}


def lines_of(paths: list[Path]) -> int:
    return sum(p.read_text().count("\n") for p in paths)


def peak(command: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB of the largest process) for a command."""
    elapsed, result = timed([PY, "-c", MEASURE_RSS, *command])
    code, rss_kb = result.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"benchmark command failed ({code}): {' '.join(command)}")
    return elapsed, int(rss_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--skip-big", action="store_true", help="skip the 7B/70B-shaped models")
    parser.add_argument("--static-lines", type=int, default=125_000, help="size of the --static package")
    parser.add_argument("--zoo-architectures", type=int, default=10)
    parser.add_argument("--zoo-variants", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="initlint-bench-"))
    corpus = work / "corpus"
    paths = write_corpus(corpus, args.files)
    files = [str(p) for p in paths]
    cache = str(work / "cache")
    rows: list[tuple[str, str, str]] = []

    baseline = median_of(args.runs, [PY, "-c", BASELINE, *files])
    cold = median_of(args.runs, initlint("--no-cache", str(corpus)))
    rows.append(
        (
            "cold full check vs baseline (import torch, import files, build models)",
            f"{cold:.2f} s vs {baseline:.2f} s",
            f"{cold / baseline:.2f}x (target <= 1.5x)",
        )
    )

    _, first = timed(initlint("--format", "json", "--cache-dir", cache, str(corpus)))
    env = no_torch_env(work)
    warm = median_of(args.runs, initlint("--format", "json", "--cache-dir", cache, str(corpus)), env=env)
    _, again = timed(initlint("--format", "json", "--cache-dir", cache, str(corpus)), env=env)
    same = json.loads(again.stdout) == json.loads(first.stdout)
    rows.append(
        (
            "warm cache, nothing changed",
            f"{warm:.2f} s",
            f"{'torch not imported, same findings' if same else 'DIFFERENT FINDINGS'} (target <= 0.3 s)",
        )
    )

    target = paths[0]
    original = target.read_text()
    counter = iter(range(10**6))

    def touch() -> None:
        target.write_text(original + f"\n# edit {next(counter)}\n")

    changed = median_of(args.runs, initlint("--cache-dir", cache, str(corpus)), before=touch)
    target.write_text(original)
    rows.append(("warm cache, one file changed", f"{changed:.2f} s", ""))

    lines = lines_of(paths)
    static = median_of(args.runs, initlint("--static", "--no-cache", str(corpus)))
    parse = median_of(args.runs, [PY, "-c", LIBCST_PARSE, *files])
    rows.append(
        (
            f"--static vs libcst parse ({lines} lines)",
            f"{lines / static:,.0f} vs {lines / parse:,.0f} lines/s",
            f"{parse / static:.2f}x (target >= 0.6x)",
        )
    )

    big = write_big_package(work / "package", args.static_lines)
    big_lines = lines_of(big)
    static_big = median_of(args.runs, initlint("--static", "--no-cache", str(work / "package")))
    ast_big = median_of(args.runs, [PY, "-c", AST_PARSE, *map(str, big)])
    rows.append(
        (
            f"--static vs ast parse, {big_lines:,} lines in {len(big)} files",
            f"{static_big:.2f} s vs {ast_big:.2f} s",
            f"{static_big / ast_big:.2f}x (target <= 2.5x)",
        )
    )

    thirty = [str(p) for p in paths[:30]]
    small = work / "thirty"
    small.mkdir()
    for path in paths[:30]:
        (small / path.name).write_text(path.read_text())
    baseline30 = median_of(args.runs, [PY, "-c", BASELINE, *thirty])
    cold30 = median_of(args.runs, initlint("--no-cache", str(small)))
    rows.append(
        (
            "cold full check, 30 files, vs baseline",
            f"{cold30:.2f} s vs {baseline30:.2f} s",
            f"{cold30 / baseline30:.2f}x (target <= 1.3x)",
        )
    )

    package, distinct = write_zoo(work / "zoo_root", args.zoo_architectures, args.zoo_variants)
    factories = args.zoo_architectures * args.zoo_variants
    zoo_baseline = median_of(
        args.runs, [PY, "-c", ZOO_BASELINE, str(package.parent), *(f"{i},{d},{w}" for i, d, w in distinct)]
    )
    zoo = median_of(args.runs, initlint("--no-cache", str(package)))
    rows.append(
        (
            f"zoo: {factories} registered factories of {len(distinct)} architectures vs import + build each once",
            f"{zoo:.2f} s vs {zoo_baseline:.2f} s",
            f"{zoo / zoo_baseline:.2f}x",
        )
    )

    one = median_of(args.runs, initlint("--no-cache", "-j", "1", str(corpus)))
    two = median_of(args.runs, initlint("--no-cache", "-j", "2", str(corpus)))
    rows.append(("-j 1 vs -j 2", f"{one:.2f} s vs {two:.2f} s", f"{one / two:.2f}x speedup"))

    if not args.skip_big:
        for size in ("7B", "70B"):
            model = write_llama(work / "big", size)
            seconds, rss = peak(initlint("--no-cache", "-j", "1", str(model)))
            reference = median_of(args.runs, [PY, "-c", META_BUILD, str(model)])
            rows.append(
                (
                    f"LLaMA-{size}-shaped model vs import torch + meta build",
                    f"{seconds:.2f} s, {rss:,.0f} MB peak",
                    f"{seconds / reference:.2f}x of {reference:.2f} s (target <= 1.5x, <= 1 GB)",
                )
            )

    print(f"initlint benchmarks: {args.files} files, median of {args.runs} runs")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"
    )
    print()
    print("| measure | result | ratio |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(row)} |")


if __name__ == "__main__":
    main()
