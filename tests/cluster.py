"""Run a real `manage.py qcluster` against the test database until a condition holds."""

import os
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
    )


def wait_for(done, clusters: list[subprocess.Popen], *, timeout: float = 60) -> str:
    """Poll `done()` until true or `timeout`; stop the clusters and return their stderr."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done():
            time.sleep(0.2)
    finally:
        for cluster in clusters:
            cluster.terminate()
        errors = [cluster.communicate(timeout=30)[1] for cluster in clusters]
    return b"\n".join(errors).decode()[-2000:]


def run_cluster_until(done, *, env: dict | None = None, timeout: float = 60) -> str:
    """Start a cluster, poll `done()` until it is true or `timeout` passes; return its stderr."""
    return wait_for(done, [start_cluster(env)], timeout=timeout)
