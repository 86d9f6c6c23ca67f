"""Worker liveness: each worker loop writes its row after every pass it completes or fails.

A row is `host:pid:uuid`, so several processes (and the two loops of one process: the
reconciler and the periodic passes) each have their own. Writing it never stops the loop: when
the database does not answer, failed passes are counted in memory and added on the next write.
Rows not written for `prune_seconds` belong to workers that are gone and are deleted.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

logger = logging.getLogger("seatlease.worker")

UPSERT = """
INSERT INTO worker_liveness (id, role, started_at, last_pass_at, passes, failed_passes, last_error, last_error_at,
                             report, updated_at)
VALUES (:id, :role, now(), CASE WHEN CAST(:ok AS boolean) THEN now() END,
        CASE WHEN CAST(:ok AS boolean) THEN 1 ELSE 0 END, CAST(:failed AS bigint),
        CAST(:error AS text), CAST(:error_at AS timestamptz), CAST(:report AS jsonb), now())
ON CONFLICT (id) DO UPDATE SET
  last_pass_at = CASE WHEN CAST(:ok AS boolean) THEN now() ELSE worker_liveness.last_pass_at END,
  passes = worker_liveness.passes + CASE WHEN CAST(:ok AS boolean) THEN 1 ELSE 0 END,
  failed_passes = worker_liveness.failed_passes + CAST(:failed AS bigint),
  last_error = COALESCE(CAST(:error AS text), worker_liveness.last_error),
  last_error_at = COALESCE(CAST(:error_at AS timestamptz), worker_liveness.last_error_at),
  report = CASE WHEN CAST(:ok AS boolean) THEN CAST(:report AS jsonb) ELSE worker_liveness.report END,
  updated_at = now()
"""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[:200]


class Liveness:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        role: str,
        *,
        worker_id: str | None = None,
        prune_seconds: float = 86400.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.maker = maker
        self.role = role
        self.id = worker_id or new_worker_id()
        self.prune_seconds = prune_seconds
        self.timeout_seconds = timeout_seconds
        self._unrecorded_failures = 0
        # the last failure not yet written (the database may have been the failure)
        self._unrecorded_error: tuple[str, datetime] | None = None

    async def passed(self, report: dict[str, Any] | None = None) -> None:
        await self._write(ok=True, report=report or {})

    async def failed(self, exc: BaseException) -> None:
        self._unrecorded_failures += 1
        self._unrecorded_error = (f"{type(exc).__name__}: {exc}"[:1000], datetime.now(UTC))
        await self._write(ok=False, report={})

    async def _write(self, *, ok: bool, report: dict[str, Any]) -> None:
        failed = self._unrecorded_failures
        error, error_at = self._unrecorded_error or (None, None)
        try:
            async with self.maker() as session, session.begin():
                ms = str(int(self.timeout_seconds * 1000))
                await session.execute(
                    text("SELECT set_config('statement_timeout', :t, true), set_config('lock_timeout', :t, true)"), {"t": ms}
                )
                await session.execute(
                    text(UPSERT),
                    {
                        "id": self.id,
                        "role": self.role,
                        "ok": ok,
                        "failed": failed,
                        "error": error,
                        "error_at": error_at,
                        "report": json.dumps(report, default=str),
                    },
                )
                await session.execute(
                    text("DELETE FROM worker_liveness WHERE updated_at < now() - make_interval(secs => :s)"),
                    {"s": self.prune_seconds},
                )
            self._unrecorded_failures -= failed
            if self._unrecorded_error is not None and self._unrecorded_error[0] == error:
                self._unrecorded_error = None
        except Exception as exc:  # the database is the likely fault: the loop goes on, counted later
            logger.warning("worker %s: could not record liveness: %s: %s", self.id, type(exc).__name__, exc)

    async def gone(self) -> None:
        """A worker that stops cleanly removes its row (it is not stale, it is not there)."""
        try:
            async with self.maker() as session, session.begin():
                await session.execute(text("DELETE FROM worker_liveness WHERE id = :id"), {"id": self.id})
        except Exception as exc:
            logger.warning("worker %s: could not remove its liveness row: %s", self.id, type(exc).__name__)


READ = """
SELECT id, role, started_at, last_pass_at, passes, failed_passes, last_error, last_error_at, report,
       EXTRACT(EPOCH FROM now() - COALESCE(last_pass_at, started_at))::float8 AS age
FROM worker_liveness ORDER BY role, id
"""


async def workers(conn: AsyncConnection | AsyncSession) -> list[dict[str, Any]]:
    """Every worker that reported recently: its last pass and how long ago (seconds), its failures."""
    return [dict(r._mapping) for r in (await conn.execute(text(READ))).all()]


def health(rows: list[dict[str, Any]], stale_seconds: float) -> dict[str, Any]:
    """The workers' part of /healthz.

    `ok`: every worker that reports completed a pass within `stale_seconds` and no pass had to skip
    a site. `degraded`: some worker's last completed pass (or its start, before its first pass) is
    older than that — named in `stale_workers` — or a pass skipped sites (`sites_failing`). No
    worker at all (the API running alone) is `ok`, said in `workers_note`.
    """
    out: list[dict[str, Any]] = []
    stale: list[str] = []
    sites: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        is_stale = r["age"] > stale_seconds
        if is_stale:
            stale.append(r["id"])
        else:
            for s in (r["report"] or {}).get("sites_failing", []):
                sites[(s.get("site_id", ""), s.get("pass", ""))] = s
        out.append(
            {
                "id": r["id"],
                "role": r["role"],
                "started_at": r["started_at"],
                "last_pass_at": r["last_pass_at"],
                "seconds_since_last_pass": None if r["last_pass_at"] is None else round(r["age"], 3),
                "stale": is_stale,
                "passes": r["passes"],
                "failed_passes": r["failed_passes"],
                "last_error": r["last_error"],
                "last_error_at": r["last_error_at"],
            }
        )
    body: dict[str, Any] = {
        "status": "degraded" if stale or sites else "ok",
        "workers": out,
        "stale_workers": stale,
        "sites_failing": list(sites.values()),
        "stale_after_seconds": stale_seconds,
    }
    if not rows:
        body["workers_note"] = "no worker has reported a pass: the API runs alone (start `seatlease worker`)"
    return body
