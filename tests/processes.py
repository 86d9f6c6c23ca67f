"""Helpers for tests that start real processes and servers: a free port, waiting until `seatlease up`
answers, stopping it and reading what it printed."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base: str, proc: subprocess.Popen[str], seconds: float = 120) -> None:
    """Until ``base``/healthz answers 200; fails with the process's output if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"seatlease up exited: {proc.communicate()}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("seatlease up did not answer /healthz")


def stop(proc: subprocess.Popen[str], sig: signal.Signals = signal.SIGINT, timeout: float = 60) -> str:
    """Stop the process as a user would (Ctrl-C, or ``sig``) and return what it printed; killed if it hangs."""
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out
