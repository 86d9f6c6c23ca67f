"""bench/run_all.py: one command runs every benchmark and prints one table of ratios against their
goals. Run here, as a real process, on small stand-in benchmarks that print what real ones print."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

MET = """
import argparse
ap = argparse.ArgumentParser()
ap.add_argument("--clients", type=int, default=5000)
args = ap.parse_args()
print(f"figures for {args.clients} clients")
print('RESULT {"name": "run / copy", "ratio": 2.5, "goal": "<= 3", "ok": true, "detail": "%d clients"}' % args.clients)
print('RESULT {"name": "growth", "ratio": 2.4, "goal": "<= 2.1", "ok": false, "detail": "run 1 s, 2.4 s"}')
"""
INFO = """
print("42 pages/s, no goal of issue 10")
print('RESULT {"name": "pages", "ratio": 42.0, "goal": "info", "ok": true, "detail": "pages per second"}')
"""
SILENT = 'print("only figures")\n'
BROKEN = 'print("RESULT {not json")\nraise SystemExit(3)\n'


def run_all(bench_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--dir", str(bench_dir), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def table_rows(out: str) -> dict[str, list[str]]:
    """The printed table: each row's cells (columns are set apart by two spaces or more), by name."""
    lines = out[out.index("\nbench ") + 1 :].splitlines()
    rows = [re.split(r"\s{2,}", ln.strip()) for ln in lines[2:] if ln.strip() and not ln[0].isdigit()]
    return {cells[1]: cells for cells in rows if len(cells) > 1}


def test_one_table_of_every_benchmarks_results(tmp_path: Path) -> None:
    for name, text in {"bench_a": MET, "bench_b": INFO, "bench_c": SILENT}.items():
        (tmp_path / f"{name}.py").write_text(text)
    done = run_all(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr  # a missed goal fails only with --strict
    assert "figures for 5000 clients" in done.stdout  # each bench's own output is shown, at its default size
    rows = table_rows(done.stdout)
    assert rows["run / copy"] == ["bench_a", "run / copy", "2.50", "<= 3", "yes", "5000 clients"]
    assert rows["growth"] == ["bench_a", "growth", "2.40", "<= 2.1", "NO", "run 1 s, 2.4 s"]
    # a figure without a goal: neither met nor missed
    assert rows["pages"] == ["bench_b", "pages", "42.00", "info", "-", "pages per second"]
    assert rows["(no RESULT line)"][:2] == ["bench_c", "(no RESULT line)"]
    assert "1 goals met, 1 missed or failed" in done.stdout

    strict = run_all(tmp_path, "--strict")
    assert strict.returncode == 1


def test_quick_sizes_a_failed_benchmark_and_a_choice_of_benchmarks(tmp_path: Path) -> None:
    # the stand-in takes the name of the billing bench, so --quick gives it the billing bench's small sizes
    (tmp_path / "bench_billing.py").write_text(MET)
    (tmp_path / "bench_broken.py").write_text(BROKEN)
    quick = run_all(tmp_path, "--quick", "billing")
    assert quick.returncode == 0, quick.stdout + quick.stderr
    assert "figures for 200 clients" in quick.stdout  # --repeat and --statements, unknown to it, were left out
    assert "bench_broken" not in quick.stdout

    broken = run_all(tmp_path, "broken")
    assert broken.returncode == 1  # a benchmark that fails fails the command, --strict or not
    rows = table_rows(broken.stdout)
    assert rows["(malformed RESULT line)"][:5] == ["bench_broken", "(malformed RESULT line)", "-", "-", "NO"]
    assert rows["(benchmark failed)"][4:] == ["NO", "exit 3 after 0 s: RESULT {not json"]

    unknown = run_all(tmp_path, "nosuch")
    assert unknown.returncode == 2
    assert "no such benchmark: nosuch" in unknown.stderr


def test_every_real_benchmark_runs_at_quick_sizes(tmp_path: Path) -> None:
    """The real benchmarks build their data with raw SQL; a schema change that one of them misses
    (a new NOT NULL column) would only show the next time someone runs them. At --quick sizes each
    must finish and print its RESULT lines (speed is not judged here: it is not a timed test)."""
    import os

    env = {**os.environ, "SEATLEASE_BENCH_DATA_DIR": str(tmp_path / "pg")}
    done = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--quick"], cwd=REPO, capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    rows = table_rows(done.stdout)
    assert "(benchmark failed)" not in done.stdout, done.stdout[-4000:]
    for name in (
        "billing run / COPY",
        "availability p99 API/SQL",
        "booking throughput API/bare insert",
        "documents: ours / bare render",
        "report mrr p99 API/SQL",  # bench_reports.py (issue 12)
        "floor editor 1000 seats p50 / admin login",  # bench_floor_editor.py (issue 13)
        "KPIs 12 months, all sites p99 API/SQL",  # bench_helpdesk.py (issue 15)
    ):
        assert name in rows, (name, list(rows))
    assert any(name.startswith("provisioning:") for name in rows), list(rows)
