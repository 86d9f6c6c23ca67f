"""Floor-plan editor and seat map benchmark (issue 13): both pages of a floor of 1,000 seats beside a
trivial admin page, measured in the same run.

    .venv/bin/python bench/bench_floor_editor.py              # 1,000-seat floor, 200 requests per page
    .venv/bin/python bench/bench_floor_editor.py --requests 20

It builds the seat map benchmark's scratch database (bench_seatmap.py: one site, a floor of 1,000
seats in 10 zones, ~900 of them leased by day or night, 20 in maintenance), starts the real app
under uvicorn in a child process on a loopback port, signs in to the admin like a browser, then
times sequential GETs of:

* the floor-plan editor of the 1,000-seat floor (every seat drawn draggable on a grid; one query
  for the seats, one for the zones);
* the seat map of the same floor (all shifts: seats and who holds them, two queries);
* GET /admin/login (a trivial admin page: a template, no query) and GET /healthz (one `SELECT 1`);

and prints p50/p99 with the ratios to the trivial pages. Aim: each 1,000-seat page in well under a
second (p50 < 250 ms, p99 < 1 s over loopback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx
from bench_seatmap import admin_login, build, timed
from common import (
    child_server,
    free_port,
    recreate_database,
    serve_or_run,
    served_bench_parser,
    server_url,
    summary_ms,
    verdict,
)

from service.migrate import upgrade


def fmt(s: dict[str, float]) -> str:
    return f"p50 {s['p50']:7.2f} ms   p99 {s['p99']:7.2f} ms   (n={s['n']})"


def result(name: str, ratio: float, goal: str, ok: bool, detail: str) -> None:
    print("RESULT " + json.dumps({"name": name, "ratio": round(ratio, 2), "goal": goal, "ok": ok, "detail": detail}))


def main(args: argparse.Namespace) -> None:
    server = server_url(args.data_dir)
    t0 = time.perf_counter()
    url = asyncio.run(recreate_database(server, args.database))
    upgrade(url)
    w = asyncio.run(build(url, args.seats))
    print(f"built database {args.database} in {time.perf_counter() - t0:.1f} s: a floor of {w['seats']:,} seats")
    port = free_port()
    site, big = w["site"], w["big"]
    last = f"1F-J-{w['seats'] // 10:03d}"
    with (
        child_server([str(Path(__file__).resolve()), "--serve", "--url", url, "--port", str(port)], port, "/healthz") as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        admin_login(http)
        n = args.requests
        # the trivial pages first and last, so that drift in the machine's load shows in both
        login_first = timed(http, "/admin/login", n // 2, "csrf_token")
        editor = summary_ms(timed(http, f"/admin/sites/{site}/floors/{big}/editor", n, last))
        seatmap = summary_ms(timed(http, f"/admin/sites/{site}/map?floor_id={big}", n, last))
        login = summary_ms(login_first + timed(http, "/admin/login", n - n // 2, "csrf_token"))
        health = summary_ms(timed(http, "/healthz", n, "ok"))
        editor_kib = len(http.get(f"/admin/sites/{site}/floors/{big}/editor").content) / 1024
    print(f"\nsequential GETs over loopback, {n} each (after 5 warm-up requests):")
    print(f"  floor editor, {w['seats']:,} seats          {fmt(editor)}   page {editor_kib:.0f} KiB")
    print(f"  seat map, {w['seats']:,} seats, all shifts  {fmt(seatmap)}")
    print(f"  GET /admin/login (trivial page)      {fmt(login)}")
    print(f"  GET /healthz (trivial page)          {fmt(health)}")
    for name, page in (("floor editor", editor), ("seat map", seatmap)):
        for base_name, base_line in (("/admin/login", login), ("/healthz", health)):
            print(
                f"ratio {name} / {base_name:12s} p50 {page['p50'] / base_line['p50']:6.2f}x   "
                f"p99 {page['p99'] / base_line['p99']:6.2f}x"
            )
    for name, page in (("floor editor", editor), ("seat map", seatmap)):
        ok = page["p50"] < 250 and page["p99"] < 1000
        print(f"aim: the {w['seats']:,}-seat {name} in well under a second (p50 < 250 ms, p99 < 1,000 ms): {verdict(ok)}")
        result(
            f"{name} {w['seats']} seats p50 / admin login",
            page["p50"] / login["p50"],
            "info",
            ok,
            f"p50 {page['p50']:.1f} ms, p99 {page['p99']:.1f} ms; login p50 {login['p50']:.1f} ms",
        )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (p99 is sensitive to it)")


if __name__ == "__main__":
    os.environ.setdefault("SEATLEASE_SECRET_KEY", secrets.token_urlsafe(48))
    parser = served_bench_parser(__doc__, "bench_floor_editor")
    parser.add_argument("--seats", type=int, default=1000, help="seats on the big floor (a multiple of 100)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    serve_or_run(parser.parse_args(), main)
