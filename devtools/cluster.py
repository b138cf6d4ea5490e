"""Run a real `manage.py qcluster` against the test database until a condition holds."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def start_cluster(env: dict | None = None) -> subprocess.Popen:
    """Start `manage.py qcluster` on the test database (plus `env`)."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "ENGAGEX_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so stopping it stops every worker
    )


def stop_cluster(cluster: subprocess.Popen) -> bytes:
    """Stop the cluster, wait for every process it forked to exit; return its stderr."""
    cluster.terminate()  # the master shuts its workers down
    try:
        _, stderr = cluster.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        _, stderr = cluster.communicate(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _group_alive(cluster.pid):
        time.sleep(0.1)
    if _group_alive(cluster.pid):
        os.killpg(cluster.pid, signal.SIGKILL)  # stragglers must not keep database sessions
    return stderr or b""


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(done, clusters: list[subprocess.Popen], *, timeout: float = 60) -> str:
    """Poll `done()` until true or `timeout`; stop the clusters and return their stderr."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done():
            time.sleep(0.2)
    finally:
        errors = [stop_cluster(cluster) for cluster in clusters]
    return b"\n".join(errors).decode()[-2000:]


def run_cluster_until(done, *, env: dict | None = None, timeout: float = 60) -> str:
    """Start a cluster, poll `done()` until it is true or `timeout` passes; return its stderr."""
    return wait_for(done, [start_cluster(env)], timeout=timeout)
