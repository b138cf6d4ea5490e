"""Run a real `manage.py qcluster` against the test database until a condition holds."""

import os
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def run_cluster_until(done, *, env: dict | None = None, timeout: float = 60) -> str:
    """Start a cluster, poll `done()` until it is true or `timeout` passes; return its stderr."""
    cluster = subprocess.Popen(
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
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done():
            time.sleep(0.2)
    finally:
        cluster.terminate()
        _, stderr = cluster.communicate(timeout=30)
    return stderr.decode()[-2000:]
