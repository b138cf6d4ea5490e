"""Bounded load test (wrk, loopback only) of the contact changelist and the event webhook.

Serves a throw-away database (100,000 contacts, a 10,000-recipient campaign) with gunicorn
(2 workers) on 127.0.0.1, then runs wrk for a fixed time and connection count against
each endpoint and prints requests/s, error rate and p95 latency. Needs `wrk` (Debian
package); exits with a message if it is missing.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import requests
from _common import bench_database, gunicorn_start

PORT = 8768
PASSWORD = "load-test-password-1"  # noqa: S105 - a throw-away benchmark database
SECONDS = 15
CONNECTIONS = 8
AUTH = "hook:load-secret"

REPORT_LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %.3f %.3f\\n", summary.requests, errors,
      latency:percentile(95) / 1000, summary.duration / 1e6))
end
"""

WEBHOOK_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local events = {}
  for i = 1, 100 do
    local rid = FIRST + ((counter * 100 + i) % RECIPIENTS)
    events[i] = '{"email":"p' .. rid .. '@example.com","timestamp":' .. os.time()
      .. ',"event":"open","sg_event_id":"load-' .. tostring({}):sub(8) .. '-' .. counter
      .. '-' .. i .. '","schema":"bench","campaign":"CAMPAIGN","recipient":"' .. rid .. '"}'
  end
  return wrk.format("POST", "/anymail/sendgrid/tracking/", {
    ["Host"] = "localhost", ["Content-Type"] = "application/json",
    ["Authorization"] = "Basic AUTH"}, "[" .. table.concat(events, ",") .. "]")
end
"""


def wrk(url: str, script: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + REPORT_LUA)
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "10s"]
    output = subprocess.run(
        [*command, "-s", handle.name, url], capture_output=True, text=True, check=False
    )
    match = re.search(r"RESULT (\S+) (\S+) (\S+) (\S+)", output.stdout)
    if match is None:
        sys.exit(f"wrk gave no result:\n{output.stdout}\n{output.stderr}")
    output = output.stdout
    requests_done, errors, p95_ms, seconds = re.search(
        r"RESULT (\S+) (\S+) (\S+) (\S+)", output
    ).groups()
    requests_done, errors = int(requests_done), int(errors)
    return {
        "rps": requests_done / float(seconds),
        "error_rate": errors / max(1, requests_done),
        "p95_ms": float(p95_ms),
        "requests": requests_done,
    }


def _session_key(result) -> str:
    """A logged-in session for the workspace Owner, stored in the workspace's schema."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_tenants.utils import schema_context

    with schema_context(result.tenant.schema_name):
        store = SessionStore()
        store[SESSION_KEY] = str(result.owner.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = result.owner.get_session_auth_hash()
        store.save()
        return store.session_key


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    os.environ["ANYMAIL_WEBHOOK_SECRET"] = AUTH
    with bench_database("engagex_bench_load"):
        server = None  # stopped before the database is dropped
        try:
            import base64

            import ingest_events
            from django_tenants.utils import schema_context

            from engagex.platform.provisioning import tenant_create

            result = tenant_create(
                name="Bench", slug="bench", owner_email="owner@bench.example",
                owner_password=PASSWORD, send_invitation=False,
            )  # fmt: skip
            with schema_context(result.tenant.schema_name):
                campaign_id, first = ingest_events.setup(result.tenant, 100_000)
            server = gunicorn_start(PORT)
            base = f"http://127.0.0.1:{PORT}"
            cookie = f"sessionid={_session_key(result)}"
            check = requests.get(
                f"{base}/admin/contacts/contact/",
                headers={"Host": "bench.localhost", "Cookie": cookie},
                allow_redirects=False,
                timeout=30,
            )
            assert check.status_code == 200, check.status_code  # logged in, not redirected
            changelist = wrk(
                f"{base}/admin/contacts/contact/",
                f'wrk.headers["Host"] = "bench.localhost"\nwrk.headers["Cookie"] = "{cookie}"\n',
            )
            webhook = wrk(
                base,
                WEBHOOK_LUA.replace("FIRST", str(first))
                .replace("RECIPIENTS", "100000")
                .replace("CAMPAIGN", str(campaign_id))
                .replace("AUTH", base64.b64encode(AUTH.encode()).decode()),
            )
        finally:
            if server:
                server.terminate()
                server.wait(10)
    print(f"wrk, {CONNECTIONS} connections, {SECONDS}s each, gunicorn with 2 workers, loopback")
    print(f"{'endpoint':<44}{'req/s':>8}{'errors':>9}{'p95 ms':>9}")
    for label, figures in [
        ("contact changelist (100k contacts)", changelist),
        ("event webhook (100 events per request)", webhook),
    ]:
        print(
            f"{label:<44}{figures['rps']:>8.1f}{figures['error_rate']:>9.2%}{figures['p95_ms']:>9.0f}"
        )
    print(json.dumps({"changelist": changelist, "webhook": webhook}))


if __name__ == "__main__":
    main()
