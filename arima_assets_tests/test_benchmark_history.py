"""benchmarks/RESULTS.md keeps its hand-written History section when a benchmark run rewrites the file."""

from pathlib import Path

from benchmarks.report import HISTORY_HEADING, with_history

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "RESULTS.md"


def test_a_rewrite_keeps_the_history_of_the_file_it_replaces() -> None:
    previous = RESULTS.read_text()
    history = previous[previous.index(f"\n{HISTORY_HEADING}\n") + 1 :]
    assert "232 s with OpenBLAS's default threads" in history
    fresh = "# Benchmark results\n\n## Targets\n\nnew figures\n"
    rewritten = with_history(fresh, previous)
    assert rewritten == fresh + "\n" + history
    assert rewritten.count(HISTORY_HEADING) == 1
    assert with_history(fresh, rewritten) == rewritten  # a second run keeps it once


def test_without_a_history_the_rendered_text_is_unchanged() -> None:
    assert with_history("# Benchmark results\n", "# Benchmark results\n\nold figures\n") == "# Benchmark results\n"
