"""A PostgreSQL server of the production's shape, from Debian's `postgresql` package: its own data
folder, on a free loopback port, TLS only for the application, and a NON-superuser role that owns
the database (what a managed PostgreSQL hands out). It can be stopped and started again in place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.processes import free_port
from tests.tls_postgres import _ca, _cert_pem, _key_pem, _system_user, pg_bin

OWNER = "seatlease_owner"
# the characters a URL must escape (@ / : % ? #) and a quote: the URL percent-encodes them
OWNER_PASSWORD = "p@ss/w:rd%?#'x"
DATABASE = "seatlease"
TLS = True  # False: a plain URL, and pg_hba lets the owner in without TLS (to tell a TLS fault from others)


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signs for localhost and 127.0.0.1: (ca.pem, server.crt, server.key)."""
    ca_key, ca = _ca("seatlease test CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        # the address too: the URL names 127.0.0.1, and verify-full checks it
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.crt", folder / "server.key"
    paths[0].write_bytes(_cert_pem(ca))
    paths[1].write_bytes(_cert_pem(cert))
    paths[2].write_bytes(_key_pem(key))
    paths[2].chmod(0o600)
    return paths


@dataclass
class PgServer:
    """One server; `root` holds its data folder, certificates and log."""

    root: Path
    port: int
    bin: Path
    run_as: str | None  # the system user the server runs as when we are root (it refuses root)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def ca(self) -> Path:
        return self.root / "tls" / "ca.pem"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, user=self.run_as)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {done.stdout}{done.stderr}\n{log[-3000:]}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    @property
    def socket_dir(self) -> str:
        return str(self.root / "sock")

    def url(self, *, tls: bool = TLS) -> str:
        """What an operator hands the application: the owner's URL, password percent-encoded."""
        base = f"postgresql://{OWNER}:{quote(OWNER_PASSWORD, safe='')}@127.0.0.1:{self.port}/{DATABASE}"
        return f"{base}?sslmode=verify-full&sslrootcert={self.ca}" if tls else base


def init_server() -> PgServer:
    """initdb, certificates, configuration and pg_hba; not started. The bootstrap superuser is
    `postgres`, reachable only through the Unix socket in the server's own folder."""
    root = Path(tempfile.mkdtemp(prefix="seatlease-pg-"))
    run_as = _system_user()
    (root / "tls").mkdir()
    (root / "sock").mkdir()
    server = PgServer(root, free_port(), pg_bin(), run_as)
    _, crt, key = make_certificates(root / "tls")
    if run_as:
        user = pwd.getpwnam(run_as)
        for path in [root, root / "tls", root / "sock", crt, key]:
            os.chown(path, user.pw_uid, user.pw_gid)
        root.chmod(0o755)
        (root / "tls").chmod(0o755)
    server._run("initdb", "-D", str(server.data), "-U", "postgres", "--auth-local=trust", "--auth-host=reject", "-E", "UTF8")
    conf = f"""
listen_addresses = '127.0.0.1'
port = {server.port}
unix_socket_directories = '{server.socket_dir}'
max_connections = 200
ssl = on
ssl_cert_file = '{crt}'
ssl_key_file = '{key}'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
"""
    with (server.data / "postgresql.conf").open("a") as f:
        f.write(conf)
    # the superuser only through the socket; the application only over TLS with a password
    (server.data / "pg_hba.conf").write_text(
        "local all postgres trust\n"
        f"hostssl {DATABASE} {OWNER} 127.0.0.1/32 scram-sha-256\n"
        + ("" if TLS else f"host {DATABASE} {OWNER} 127.0.0.1/32 scram-sha-256\n")
        + "hostnossl all all 127.0.0.1/32 reject\n"
    )
    return server


def remove(server: PgServer) -> None:
    if server.running():
        with contextlib.suppress(RuntimeError):
            server.stop("immediate")
    shutil.rmtree(server.root, ignore_errors=True)
