"""A real FreeRADIUS (Debian packages `freeradius`, `freeradius-postgresql`, `freeradius-utils`)
on loopback, reading radcheck/radusergroup from a PostgreSQL database through rlm_sql.

The configuration is the packaged one copied into a temporary folder, with only the modules a
PAP check over SQL needs and one site listening on 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGED = Path("/etc/freeradius/3.0")
SHARED_SECRET = "radius-test-secret"


def available() -> bool:
    return shutil.which("freeradius") is not None and shutil.which("radtest") is not None and PACKAGED.is_dir()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SITE = """
server seatlease {
    listen {
        type = auth
        ipaddr = 127.0.0.1
        port = %(port)d
    }
    authorize {
        sql
        pap
    }
    authenticate {
        Auth-Type PAP {
            pap
        }
    }
    post-auth {
        Post-Auth-Type REJECT {
            ok
        }
    }
}
"""

CLIENTS = """
client localhost {
    ipaddr = 127.0.0.1
    secret = %(secret)s
    require_message_authenticator = no
    nas_type = other
}
"""


@dataclass
class FreeRadius:
    proc: subprocess.Popen[bytes]
    port: int
    secret: str
    log: Path
    workdir: Path

    def radtest(self, user: str, password: str) -> str:
        r = subprocess.run(
            ["radtest", "-t", "pap", user, password, f"127.0.0.1:{self.port}", "0", self.secret],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        return r.stdout + r.stderr

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        # `-X` logs every request attribute, passwords included: the log goes with the server
        shutil.rmtree(self.workdir, ignore_errors=True)


def start(workdir: Path, conninfo: str) -> FreeRadius:
    """Start `freeradius -X` with a config in `workdir` whose rlm_sql reads the database of `conninfo`
    (a libpq connection string; a unix-socket directory works as `host`)."""
    raddb = workdir / "raddb"
    shutil.copytree(PACKAGED, raddb, symlinks=True)
    for d in ("mods-enabled", "sites-enabled"):
        shutil.rmtree(raddb / d)
        (raddb / d).mkdir()
    for mod in ("sql", "pap", "always", "expr"):
        (raddb / "mods-enabled" / mod).symlink_to(raddb / "mods-available" / mod)
    port = free_udp_port()
    (raddb / "sites-enabled" / "seatlease").write_text(SITE % {"port": port})
    (raddb / "clients.conf").write_text(CLIENTS % {"secret": SHARED_SECRET})
    run = workdir / "run"
    logs = workdir / "log"
    run.mkdir()
    logs.mkdir()
    conf = (raddb / "radiusd.conf").read_text()
    conf = re.sub(r"(?m)^\s*user = freerad\s*$", "", conf)
    conf = re.sub(r"(?m)^\s*group = freerad\s*$", "", conf)
    conf = re.sub(r"(?m)^logdir = .*$", f"logdir = {logs}", conf)
    conf = re.sub(r"(?m)^run_dir = .*$", f"run_dir = {run}", conf)
    (raddb / "radiusd.conf").write_text(conf)
    sql = (raddb / "mods-available" / "sql").read_text()
    sql = sql.replace('dialect = "sqlite"', 'dialect = "postgresql"')
    sql = sql.replace('driver = "rlm_sql_null"', 'driver = "rlm_sql_postgresql"')
    sql = re.sub(r'(?m)^\s*radius_db = "radius"\s*$', f'\tradius_db = "{conninfo}"', sql)
    sql = re.sub(r"(?m)^#\s*read_clients = yes", "\tread_clients = no", sql)
    (raddb / "mods-available" / "sql").write_text(sql)
    log = workdir / "freeradius.log"
    proc = subprocess.Popen(["freeradius", "-X", "-d", str(raddb)], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Ready to process requests" in text:
            return FreeRadius(proc, port, SHARED_SECRET, log, workdir)
        if proc.poll() is not None:
            raise RuntimeError("freeradius exited:\n" + text[-3000:])
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("freeradius did not start:\n" + log.read_text(errors="replace")[-3000:])
