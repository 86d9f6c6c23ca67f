"""Run every benchmark and print one table of ratios against their goals (issue 10).

    .venv/bin/python -m bench.run_all                 # every bench/bench_*.py at the sizes issue 10 names
    .venv/bin/python -m bench.run_all --quick         # small sizes: a smoke test of the benchmarks, not figures
    .venv/bin/python -m bench.run_all billing leasing # only these (bench_billing.py, bench_leasing.py)
    .venv/bin/python -m bench.run_all --strict        # exit 1 when a goal is missed

Each benchmark runs as its own process, one after the other (they would disturb each other's
figures), with its output shown as it comes. A benchmark reports each goal of issue 10 as one line

    RESULT {"name": "...", "ratio": 1.2, "goal": "<= 1.5", "ok": true, "detail": "..."}

(goal "info": a figure without a goal). The table lists these lines; a benchmark that failed or
printed none is listed too. Exit status: 1 when a benchmark failed, or with --strict when a goal
was missed; else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

# small sizes for --quick: options a benchmark does not have (its --help does not name them) are left out
QUICK: dict[str, list[str]] = {
    "bench_billing": ["--clients", "200", "--statements", "10", "--repeat", "1"],
    "bench_leasing": [
        *("--sites", "1", "--floors", "1", "--zones", "2", "--seats-per-zone", "50", "--clients", "5"),
        *("--leases", "2000", "--availability-requests", "30", "--concurrency", "5"),
        *("--booking-requests", "100", "--booking-seconds", "3"),
    ],
    "bench_provisioning": ["--leases", "30", "--sites", "5", "--clients", "5", "--timeout", "120"],
    "bench_seatmap": ["--requests", "20"],  # its page checks look for seats of its default floor
    "bench_documents": ["--clients", "100", "--repeat", "1"],
    # --- revenue reports (issue 12) ---
    "bench_reports": ["--leases", "1000", "--requests", "3"],
    # --- floor-plan editor (issue 13) ---
    "bench_floor_editor": ["--requests", "10"],
    # --- help desk (issue 15) ---
    "bench_helpdesk": ["--tickets", "3000", "--requests", "3"],
}

RESULT_PREFIX = "RESULT "


@dataclass
class Row:
    bench: str
    name: str
    ratio: float | None
    goal: str
    ok: bool | None  # None: no goal ("info")
    detail: str


def parse_results(bench: str, output: str) -> list[Row]:
    """The RESULT lines of a benchmark's output; a malformed one is a failed row, never dropped."""
    rows = []
    for line in output.splitlines():
        if not line.startswith(RESULT_PREFIX):
            continue
        try:
            data: Any = json.loads(line[len(RESULT_PREFIX) :])
            goal = str(data.get("goal", "info"))
            ratio = None if data.get("ratio") is None else float(data["ratio"])
            ok = None if goal == "info" else bool(data["ok"])
            rows.append(Row(bench, str(data["name"]), ratio, goal, ok, str(data.get("detail", ""))))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            rows.append(Row(bench, "(malformed RESULT line)", None, "", False, f"{exc}: {line[:200]}"))
    return rows


def options_of(script: Path) -> set[str]:
    """The --options a benchmark's --help names."""
    out = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", out.stdout))


def quick_args(script: Path) -> list[str]:
    wanted = QUICK.get(script.stem, [])
    if not wanted:
        return []
    known = options_of(script)
    args: list[str] = []
    for i in range(0, len(wanted), 2):
        if wanted[i] in known:
            args += wanted[i : i + 2]
    return args


def run_bench(script: Path, args: list[str], timeout: float, *, echo: bool = True) -> tuple[int, str, float]:
    """Run one benchmark, showing its output as it comes; returns (exit status, output, seconds).
    Past the timeout it is interrupted (SIGINT, so that it stops the servers it started), then killed."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    expired = threading.Event()

    def stop() -> None:
        expired.set()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

    watchdog = threading.Timer(timeout, stop)
    watchdog.start()
    lines = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            lines.append(line)
            if echo:
                sys.stdout.write(f"  {line}")
                sys.stdout.flush()
        code = proc.wait()
    finally:
        watchdog.cancel()
    if expired.is_set():
        lines.append(f"(stopped after {timeout:.0f} s)\n")
        code = code or -9
    return code, "".join(lines), time.monotonic() - t0


def table(rows: list[Row]) -> str:
    head = ("bench", "name", "ratio", "goal", "ok", "detail")
    cells = [
        (
            r.bench,
            r.name,
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            r.goal or "-",
            "-" if r.ok is None else ("yes" if r.ok else "NO"),
            r.detail,
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:{'>' if i == 2 else '<'}{w}}}" for i, w in enumerate(widths[:-1])) + "  {}"
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths[:-1]), "-" * len(head[-1]))]
    lines += [fmt.format(*c) for c in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("only", nargs="*", help="benchmarks to run (billing for bench_billing.py); all when none")
    ap.add_argument("--quick", action="store_true", help="small sizes: checks the benchmarks run, figures mean little")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per benchmark")
    ap.add_argument("--dir", type=Path, default=BENCH_DIR, help=argparse.SUPPRESS)  # the tests' own benchmarks
    args = ap.parse_args(argv)

    scripts = sorted(args.dir.glob("bench_*.py"))
    if args.only:
        wanted = {n.removeprefix("bench_").removesuffix(".py") for n in args.only}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
        missing = wanted - {s.stem.removeprefix("bench_") for s in scripts}
        if missing:
            ap.error(f"no such benchmark: {', '.join(sorted(missing))}")

    rows: list[Row] = []
    failed = False
    for script in scripts:
        extra = quick_args(script) if args.quick else []
        print(f"== {script.stem} {' '.join(extra)}".rstrip(), flush=True)
        code, output, seconds = run_bench(script, extra, args.timeout)
        found = parse_results(script.stem, output)
        if code != 0:
            failed = True
            last = next((ln for ln in reversed(output.splitlines()) if ln.strip()), "")
            found.append(
                Row(script.stem, "(benchmark failed)", None, "", False, f"exit {code} after {seconds:.0f} s: {last[:160]}")
            )
        elif not found:
            found.append(Row(script.stem, "(no RESULT line)", None, "info", None, f"figures above; {seconds:.0f} s"))
        failed = failed or any(r.name == "(malformed RESULT line)" for r in found)
        rows += found

    print()
    print(table(rows))
    missed = [r for r in rows if r.ok is False]
    print(
        f"\n{sum(r.ok is True for r in rows)} goals met, {len(missed)} missed or failed"
        + (" (--quick sizes)" if args.quick else "")
    )
    return 1 if failed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
