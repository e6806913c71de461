"""Static analysis across processes: the same facts as in one process, in the order given; a dying worker
costs one file."""

from __future__ import annotations

import os
from pathlib import Path

from initlint import Options, check_paths
from initlint.analyse import analyse_source
from initlint.shared.facts import FileFacts, ProblemKind
from initlint.static.parallel import analyse_all, lost_facts

REPO = Path(__file__).resolve().parent.parent


def _sources(copies: int) -> list[tuple[str, str]]:
    """Enough source for several workers: the examples and test models, each under several names."""
    files = sorted([*(REPO / "examples").glob("*.py"), *(REPO / "tests" / "models").glob("*.py")])
    texts = [(path.stem, path.read_text(encoding="utf-8")) for path in files]
    return [(f"/project/copy{i}/{stem}.py", text) for i in range(copies) for stem, text in texts]


def test_workers_give_the_facts_one_process_gives_in_the_order_given():
    sources = _sources(20)
    assert sum(len(text) for _, text in sources) > 4 * 64 * 1024  # enough for the workers to start
    alone = [analyse_source(path, text) for path, text in sources]
    assert analyse_all(sources, analyse_source, 3, lost_facts) == alone
    assert analyse_all(sources, analyse_source, 1, lost_facts) == alone


def test_a_worker_that_dies_costs_the_file_it_was_analysing_and_nothing_else():
    sources = _sources(20)
    parent = os.getpid()
    doomed = sources[5][0]

    def analyse(path: str, text: str) -> FileFacts:
        if path == doomed and os.getpid() != parent:
            os._exit(3)  # a crash no exception handler sees
        return analyse_source(path, text)

    results = analyse_all(sources, analyse, 2, lost_facts)
    assert [f.path for f in results] == [path for path, _ in sources]
    [lost] = [f for f in results if f.problem is not None]
    assert lost.path == doomed and lost.problem is not None and lost.problem.kind == ProblemKind.INTERNAL_ERROR
    others = [(path, text) for path, text in sources if path != doomed]
    assert [f for f in results if f.path != doomed] == [analyse_source(path, text) for path, text in others]


def test_judged_in_the_workers_the_report_is_the_one_judged_here(tmp_path: Path):
    """Static mode judges each file, and plans its fixes, in the worker that analysed it: the report,
    fixes included, is the one a single process makes."""
    corpus = sorted((REPO / "tests" / "fix_corpus").glob("*.py"))
    for copy in range(5):
        folder = tmp_path / f"copy{copy}"
        folder.mkdir()
        for path in corpus:
            (folder / path.name).write_bytes(path.read_bytes())
    assert sum(path.stat().st_size for path in corpus) * 5 > 2 * 64 * 1024  # enough for two workers to start
    alone = check_paths([str(tmp_path)], Options(static=True, jobs=1))
    parallel = check_paths([str(tmp_path)], Options(static=True, jobs=2))
    assert parallel.findings == alone.findings
    assert parallel.models == alone.models
    assert sum(1 for f in alone.findings if f.fix is not None) >= 5 * 20  # fixes were planned in the workers
