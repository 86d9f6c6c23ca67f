"""DATABASE_URL as PostgreSQL users write it: the pure translation (service.dburl)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from service.dburl import DatabaseUrlError, TlsSpec, parse_database_url, tls_argument


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+asyncpg"])
def test_every_scheme_and_a_percent_encoded_password(scheme: str) -> None:
    t = parse_database_url(f"{scheme}://sea%20lease:p%40ss%2Fw%3Ard@db.example.com:6432/seat%2Dlease")
    assert (t.user, t.password, t.host, t.port, t.database) == ("sea lease", "p@ss/w:rd", "db.example.com", 6432, "seat-lease")
    kwargs = t.connect_kwargs()
    assert kwargs["password"] == "p@ss/w:rd"
    assert "ssl" not in kwargs  # asyncpg's default: prefer


def test_a_socket_folder_and_an_empty_password() -> None:
    t = parse_database_url("postgresql://postgres:@/postgres?host=/tmp/pg/sock")
    assert (t.host, t.password, t.database) == ("/tmp/pg/sock", None, "postgres")
    assert parse_database_url("postgresql://u@%2Frun%2Fpostgresql/db").host == "/run/postgresql"


def test_ipv6_host() -> None:
    assert parse_database_url("postgresql://u:p@[::1]:5433/db").host == "::1"


def test_libpq_parameters_become_asyncpg_arguments() -> None:
    t = parse_database_url(
        "postgresql://u:p@h/db?connect_timeout=7&application_name=billing-box"
        "&options=-c%20statement_timeout%3D5s%20-csearch_path%3Dpublic&target_session_attrs=read-write"
    )
    kwargs = t.connect_kwargs(
        application_name="api", connect_timeout=5, server_settings={"statement_timeout": "30000", "lock_timeout": "10000"}
    )
    assert kwargs["timeout"] == 7
    assert kwargs["target_session_attrs"] == "read-write"
    # what the URL names wins over the process's defaults; the rest of the defaults stay
    assert kwargs["server_settings"] == {
        "statement_timeout": "5s",
        "search_path": "public",
        "lock_timeout": "10000",
        "application_name": "billing-box",
    }


def test_the_process_names_itself_when_the_url_does_not() -> None:
    kwargs = parse_database_url("postgresql://u@h/db").connect_kwargs(application_name="worker", connect_timeout=5)
    assert kwargs["server_settings"] == {"application_name": "worker"}
    assert kwargs["timeout"] == 5


@pytest.mark.parametrize(
    ("query", "mode"),
    [
        ("sslmode=disable", "disable"),
        ("sslmode=allow", "allow"),
        ("sslmode=prefer", "prefer"),
        ("sslmode=require", "require"),
        ("ssl=require", "require"),
        ("ssl=true", "require"),
        ("sslmode=verify-ca", "verify-ca"),
        ("sslmode=verify-full", "verify-full"),
    ],
)
def test_sslmode_and_its_ssl_spelling(query: str, mode: str) -> None:
    assert parse_database_url(f"postgresql://u@h/db?{query}").tls.mode == mode


def test_encryption_modes_without_files_go_to_asyncpg_as_libpq_words() -> None:
    assert tls_argument(TlsSpec(mode="disable")) is False
    assert tls_argument(TlsSpec()) is None
    for mode in ("allow", "prefer", "require"):
        assert tls_argument(TlsSpec(mode=mode)) == mode


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u@h/db", "postgresql://"),
        ("postgresql://u@h/db?sslmode=required", "sslmode must be one of"),
        ("postgresql://u@h/db?sslmode=require&ssl=disable", "disagree"),
        ("postgresql://u@h/db?prepared_statement_cache_size=0", "unknown parameter 'prepared_statement_cache_size'"),
        ("postgresql://u@h/db?connect_timeout=soon", "connect_timeout"),
        ("postgresql://u@h/db?options=-x", "options"),
        ("postgresql://u@h/db?sslkey=/k.pem", "sslkey needs sslcert"),
        ("postgresql://u@h:notaport/db", "not a valid URL"),
        ("postgresql://u@h/db?sslmode=require&sslmode=disable", "twice"),
    ],
)
def test_a_wrong_url_is_one_clear_error(url: str, says: str) -> None:
    with pytest.raises(DatabaseUrlError) as err:
        parse_database_url(url)
    assert says in str(err.value)


def test_a_missing_root_certificate_is_named() -> None:
    t = parse_database_url("postgresql://u:secret@h/db?sslmode=verify-full&sslrootcert=/nowhere/ca.pem")
    with pytest.raises(DatabaseUrlError, match=r"/nowhere/ca\.pem") as err:
        t.connect_kwargs()
    assert "secret" not in str(err.value)


def test_the_compose_postgres_fits_three_api_replicas_and_two_workers() -> None:
    """README's formula with the default pools: api x (pool + overflow) + workers x (pool + overflow +
    LISTEN) + 10 for migrate and the CLI <= max_connections - superuser_reserved_connections."""
    from service.settings import Settings

    spec = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text())
    command = spec["services"]["postgres"]["command"]
    max_connections = int(next(c.split("=", 1)[1] for c in command if c.startswith("max_connections=")))
    s = Settings(DATABASE_URL="postgresql://u@h/db")
    need = 3 * (s.db_pool_size + s.db_max_overflow) + 2 * (s.worker_db_pool_size + s.worker_db_max_overflow + 1) + 10
    assert need <= max_connections - 3, (need, max_connections)
    assert "8002:8000" in spec["services"]["api"]["ports"][0]  # a third replica has a port


async def test_an_engine_applies_the_settings_and_the_urls_options_win(database_url: str) -> None:
    from sqlalchemy import text

    from service.db import engine_for
    from service.settings import get_settings

    settings = get_settings().model_copy(update={"db_statement_timeout_ms": 12_345, "db_lock_timeout_ms": 2_345})
    show = text(
        "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), current_setting('application_name')"
    )
    sep = "&" if "?" in database_url else "?"
    for url, expected in (
        (database_url, ("12345ms", "2345ms", "worker")),
        (f"{database_url}{sep}options=-c%20statement_timeout%3D7s&application_name=nightly", ("7s", "2345ms", "nightly")),
    ):
        engine = engine_for(url, settings, "worker")
        try:
            async with engine.connect() as conn:
                assert tuple((await conn.execute(show)).one()) == expected
            assert engine.pool.size() == settings.worker_db_pool_size  # type: ignore[attr-defined]
        finally:
            await engine.dispose()


async def test_a_pooled_connection_is_checked_before_use_and_pinged_only_after_sitting_idle(database_url: str) -> None:
    """service/db.py: a connection the server closed is replaced before use without a round trip;
    one that sat idle past the threshold is pinged first (its backend runs something); one used
    moments ago is handed out as it is (its backend runs nothing)."""
    import asyncio
    from datetime import datetime

    from sqlalchemy import text

    from service.db import make_engine

    admin = make_engine(database_url, application_name="test-admin")
    engine = make_engine(database_url, application_name="test-pool", pool_size=1, max_overflow=0, ping_idle_seconds=0.3)

    async def last_seen(backend: int) -> datetime:  # when the backend last ran something
        async with admin.connect() as conn:
            sql = text("SELECT state_change FROM pg_stat_activity WHERE pid = :p")
            return (await conn.execute(sql, {"p": backend})).scalar_one()

    async def checkout() -> int:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            return int(raw.driver_connection.get_server_pid())  # type: ignore[union-attr]

    try:
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid() AS marked"))).scalar_one()
        used = await last_seen(first)
        assert await checkout() == first  # used moments ago: handed out without a ping
        assert await last_seen(first) == used
        await asyncio.sleep(0.4)
        assert await checkout() == first  # idle past the threshold: pinged, alive, kept
        assert await last_seen(first) > used

        async with admin.connect() as conn:  # a restart, as far as this connection can tell
            await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})
            await conn.commit()
        await asyncio.sleep(0.1)
        async with engine.connect() as conn:  # known closed: replaced before use, no error
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != first
    finally:
        for e in (admin, engine):
            await e.dispose()
