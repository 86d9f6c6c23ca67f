"""The schema guard: schema changes happen in `seatlease migrate` only (the compose one-shot).

An API replica, a worker or a CLI command that finds the database's schema at another revision
than the code's head refuses to start with one line saying what to run, instead of upgrading it
(several replicas starting together used to race on the same upgrade) or failing later on a
missing column. `seatlease up` migrates its own database: it is the one process of the demo.
"""

from __future__ import annotations

import functools

import asyncpg

from service.dburl import DatabaseUrlError, connect_kwargs, parse_database_url

MIGRATE_HINT = "run `seatlease migrate` first"


class SchemaNotCurrent(RuntimeError):
    """The database's schema is not the code's: the message is the whole story, on one line."""


class DatabaseUnreachable(RuntimeError):
    """The schema could not be read because the database did not answer."""


class DatabaseUrlMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "DATABASE_URL is not set; the embedded database is for `seatlease up` only "
            "(set DATABASE_URL=postgresql://user:password@host:5432/seatlease)"
        )


@functools.cache
def code_revisions() -> tuple[frozenset[str], frozenset[str]]:
    """(the heads shipped with this code, every revision it knows)."""
    from alembic.script import ScriptDirectory

    from service.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config("postgresql://unused@/unused"))
    return frozenset(scripts.get_heads()), frozenset(s.revision for s in scripts.walk_revisions())


def schema_problem(database: set[str] | None) -> str | None:
    """What is wrong with the database's revisions (None: no alembic_version table), or None."""
    heads, known = code_revisions()
    want = ", ".join(sorted(heads))
    if database is None or not database:
        return f"the database has no seatlease schema (no alembic_version); {MIGRATE_HINT}"
    if database == heads:
        return None
    have = ", ".join(sorted(database))
    if database <= known:
        return f"the database schema is behind this code (database at {have}, code at {want}); {MIGRATE_HINT}"
    return (
        f"the database schema ({have}) is newer than this code (at {want}): it was migrated by a newer release; run that release"
    )


async def database_revisions(url: str, *, application_name: str, connect_timeout: float = 10.0) -> set[str] | None:
    """The revisions in alembic_version, or None when there is no such table."""
    try:
        conn = await asyncpg.connect(**connect_kwargs(url, application_name=application_name, connect_timeout=connect_timeout))
    except DatabaseUrlError:
        raise
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        where = parse_database_url(url).where()
        raise DatabaseUnreachable(f"cannot connect to the database at {where}: {type(exc).__name__}: {exc}") from None
    try:
        if await conn.fetchval("SELECT to_regclass('alembic_version')") is None:
            return None
        return {row[0] for row in await conn.fetch("SELECT version_num FROM alembic_version")}
    finally:
        await conn.close()


async def require_current_schema(url: str, *, application_name: str, connect_timeout: float = 10.0) -> None:
    """Raise SchemaNotCurrent (or DatabaseUnreachable, DatabaseUrlError) unless the schema is the code's."""
    problem = schema_problem(await database_revisions(url, application_name=application_name, connect_timeout=connect_timeout))
    if problem:
        raise SchemaNotCurrent(problem)
