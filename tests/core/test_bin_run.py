"""`bin/run` (what `make run` starts) listens on loopback unless BIND says otherwise."""

import os
import signal
import socket
import subprocess
import time

import pytest
from django.db import connection

from devtools.cluster import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_on(port: int) -> set[str]:
    """Addresses with a listening TCP socket on `port`, read from the kernel's tables."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = open(table).read().splitlines()[1:]  # noqa: PTH123, SIM115
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            if width == 8:
                found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
            else:
                words = b"".join(bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, 32, 8))
                found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def _start(port: int, env: dict) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if k != "BIND"}
    return subprocess.Popen(
        ["bin/run", str(port)],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "ENGAGEX_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
            # Its cluster watches a queue of its own: the session's queued tasks are not its to run.
            "Q_CLUSTER_NAME": "bin-run-test",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)  # bin/run stops its cluster on the way out
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.mark.usefixtures("db")
def test_bin_run_listens_on_loopback_unless_bind_says_otherwise():
    default, opened = _free_port(), _free_port()
    processes = [_start(default, {}), _start(opened, {"BIND": "0.0.0.0"})]  # noqa: S104
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (
            _listening_on(default) and _listening_on(opened)
        ):
            time.sleep(0.2)

        assert _listening_on(default) == {"127.0.0.1"}
        assert _listening_on(opened) == {"0.0.0.0"}  # noqa: S104
    finally:
        for process in processes:
            _stop(process)
