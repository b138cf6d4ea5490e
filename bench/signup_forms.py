"""Hosted sign-up form submissions per second through gunicorn (2 workers) on loopback.

Every post is a person's accepted double-opt-in sign-up: a new address, a valid fill-time
stamp and a solved ALTCHA challenge (made cheap to solve here: the server's check costs
the same whatever the client's work, two HMACs), all built before the clock starts.

- queued (the product): the request checks the post and stores it as a waiting sign-up
  (one statement, which also queues one processing task per burst); no cluster runs, so
  the rate is the web tier alone. Then the bench runs that processing in its own process,
  as a worker would, and times it: each waiting sign-up becomes a contact, an unconfirmed
  membership and its sign-up record, and its confirmation email a task on the broker;
- sent in the request (the obvious approach): all of that inside the request (django-q2
  `sync`), the email handed to SendGrid (the fake one, its own process) before the answer,
  with `--esp-latency-ms` of answer time (default 0, loopback; a remote ESP answers in
  100-300 ms) and again with 150 ms.

Rate limits are lifted for the run (every post comes from 127.0.0.1), still counted:
in the workspace's counter table, and in Redis (cache and broker) when `redis-server` is
installed. Client: `--connections` threads on raw sockets. Connections to PostgreSQL are
kept for `--conn-max-age` seconds (60: production's default; 0 opens one per request).

"ms CPU/post" is the gunicorn workers' CPU time; "ms PG CPU/post" that of the PostgreSQL
server (every process of the embedded server: backends, WAL writer...), when it is ours.
Together they bound the rate 2 idle cores can reach, whatever else loads the machine. The
floor: a view that only answers "ok" (GET /_empty/ on the workspace's address).
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

import psutil
from _common import ROOT, bench_database, bench_plan

BENCH_SETTINGS = {
    "SIGNUP_RATE_PER_IP": "100000000/60",
    "SIGNUP_RATE_PER_ADDRESS": "100000000/60",
    "SIGNUP_ALTCHA_COST": "1",
    "SIGNUP_ALTCHA_COUNTER_MIN": "1",
    "SIGNUP_ALTCHA_COUNTER_MAX": "3",
    "SIGNUP_MIN_FILL_SECONDS": "0",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _post(host: str, path: str, body: str) -> bytes:
    data = body.encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


def _send(port: int, raw: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(raw)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    status = b"".join(chunks)[9:12]
    return int(status) if status.isdigit() else 0


def load(port: int, requests: list[bytes], connections: int) -> tuple[float, dict[int, int]]:
    """Send every request with `connections` threads; return (seconds, status counts)."""
    pending = list(reversed(requests))
    lock = threading.Lock()
    codes: dict[int, int] = {}

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                raw = pending.pop()
            code = _send(port, raw)
            with lock:
                codes[code] = codes.get(code, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, codes


def prepared_posts(form, schema: str, count: int, tag: str) -> list[bytes]:
    import altcha

    from engagex.subscriptions.services.abuse import altcha_challenge, fill_stamp

    posts = []
    for i in range(count):
        challenge = altcha.Challenge.from_dict(altcha_challenge(scope=f"{schema}:{form.public_id}"))
        proof = altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()
        body = urlencode(
            {
                "email": f"{tag}{i}@bench-signup.example",
                "first_name": f"Person {i}",
                "consent": "yes",
                "stamp": fill_stamp(form_id=form.public_id, min_seconds=0),
                "altcha": proof,
                "website": "",
            }
        )
        posts.append(_post("bench.localhost", f"/f/{form.public_id}/", body))
    return posts


def postgres_processes() -> list[psutil.Process]:
    """The embedded PostgreSQL server's processes (none when DATABASE_URL names another)."""
    if os.environ.get("DATABASE_URL"):
        return []
    try:
        pid = int((ROOT / ".local" / "postgres" / "postmaster.pid").read_text().split()[0])
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]
    except (OSError, ValueError, psutil.Error):
        return []


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
        except psutil.Error:
            pass
    return seconds


def server_start(
    port: int, env: dict, extra: list[str], app: str = "config.wsgi:application"
) -> subprocess.Popen:
    import requests

    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning", *extra],
        cwd=ROOT, env=env,
    )  # fmt: skip
    for _ in range(200):
        try:
            requests.get(
                f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"}, timeout=1
            )
            break
        except requests.RequestException:
            time.sleep(0.1)
    return server


def fake_esp(port: int, latency_ms: float) -> subprocess.Popen:
    fake = subprocess.Popen(
        [sys.executable, "-m", "devtools.fake_sendgrid", "--port", str(port),
         "--latency-ms", str(latency_ms)],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    return fake


def esp_accepted(port: int) -> int:
    import requests

    return requests.get(f"http://127.0.0.1:{port}/_stats", timeout=5).json()["accepted"]


def main():  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=3000, help="sign-ups per queued run")
    parser.add_argument("--sync-posts", type=int, default=1000, help="per synchronous run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--esp-latency-ms", type=float, default=0)
    parser.add_argument("--conn-max-age", type=int, default=60)
    parser.add_argument("--no-sync", action="store_true", help="only the queued variants")
    args = parser.parse_args()
    # The server's settings and this process's (which builds the posts) must agree.
    os.environ.update(BENCH_SETTINGS)
    # This process stands in for a worker when it processes the waiting sign-ups.
    os.environ["CONN_MAX_AGE"] = str(args.conn_max_age)
    redis_server = shutil.which("redis-server")
    redis_process = None
    if redis_server:
        redis_port = _free_port()
        redis_process = subprocess.Popen(
            [redis_server, "--port", str(redis_port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
    results = []
    with bench_database("engagex_bench_signup"):
        from django.db import connection
        from django_q.models import OrmQ
        from django_tenants.utils import schema_context

        from engagex.contacts.models import Contact, ContactGroup, Membership
        from engagex.platform.provisioning import tenant_create
        from engagex.subscriptions.models import PendingSignup, SignupForm
        from engagex.subscriptions.services.forms import signup_form_save, signups_process

        tenant = tenant_create(
            name="Bench", slug="bench", owner_email="o@bench.example", send_invitation=False
        ).tenant
        bench_plan(tenant, contacts=1_000_000)
        with schema_context(tenant.schema_name):
            group = ContactGroup.objects.create(
                name="Newsletter",
                visibility=ContactGroup.Visibility.PUBLIC,
                opt_in=ContactGroup.OptIn.DOUBLE,
            )
            form = signup_form_save(
                form=SignupForm(name="Bench", consent_text="Yes.", first_name="optional"),
                groups=[group],
            )
        base_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.bench",
            "ENGAGEX_BENCH_DATABASE_NAME": connection.settings_dict["NAME"],
            "ENGAGEX_BENCH_SHARED_CACHE": "1",
            "CONN_MAX_AGE": str(args.conn_max_age),
        }
        variants = [("floor: a view that only answers ok", {}, ["EMPTY"], None)]
        variants.append(("queued (PostgreSQL counters + ORM broker)", {}, [], None))
        if redis_process:
            redis_env = {
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "ENGAGEX_CLUSTER_REDIS": "1",
            }
            variants.append(("queued (Redis counters + broker)", redis_env, [], None))
        hooks = ["--config", "python:bench._signup_sync_gunicorn"]
        if not args.no_sync:
            variants.append(
                ("email sent in the request (loopback ESP)", {}, hooks, args.esp_latency_ms)
            )
            variants.append(("email sent in the request (ESP answers in 150 ms)", {}, hooks, 150.0))
        for n, (label, extra_env, extra_args, latency) in enumerate(variants):
            sync = latency is not None
            count = args.sync_posts if sync else args.posts
            env = {**base_env, **extra_env}
            fake = None
            if sync:
                esp_port = _free_port()
                fake = fake_esp(esp_port, latency)
                env["SENDGRID_API_KEY"] = "SG.bench"
                env["SENDGRID_API_URL"] = f"http://127.0.0.1:{esp_port}/v3/"
            empty = extra_args == ["EMPTY"]
            app = "config.wsgi:application"
            if empty:
                extra_args, app = [], "bench._empty_view_wsgi:application"
                get = b"GET /_empty/ HTTP/1.1\r\nHost: bench.localhost\r\nConnection: close\r\n\r\n"
                posts, warmup = [get] * count, [get] * 40
            else:
                posts = prepared_posts(form, tenant.schema_name, count, tag=f"v{n}-")
                warmup = prepared_posts(form, tenant.schema_name, 40, tag=f"w{n}-")
            with schema_context(tenant.schema_name):
                contacts_before = Contact.objects.count()
            queued_before = OrmQ.objects.count()
            port = _free_port()
            python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
            server = server_start(port, {**env, "PYTHONPATH": python_path}, extra_args, app)
            try:
                load(port, warmup, 2)
                watched = [psutil.Process(server.pid), *psutil.Process(server.pid).children()]
                cpu_before = sum(p.cpu_times().user + p.cpu_times().system for p in watched)
                pg_before = cpu_seconds(postgres_processes())
                load_before = os.getloadavg()[0]
                seconds, codes = load(port, posts, args.connections)
                cpu = sum(p.cpu_times().user + p.cpu_times().system for p in watched) - cpu_before
                pg_after = cpu_seconds(postgres_processes())
                pg_cpu = sum(t - pg_before.get(pid, 0.0) for pid, t in pg_after.items())
                load_avg = (load_before + os.getloadavg()[0]) / 2
                sent = esp_accepted(esp_port) if sync else None
            finally:
                server.terminate()
                server.wait(10)
                if fake:
                    fake.terminate()
                    fake.wait(10)
            processing = None
            with schema_context(tenant.schema_name):
                waiting = PendingSignup.objects.count()
                if waiting:  # what a worker then does with them, timed here
                    pg_before = cpu_seconds(postgres_processes())
                    cpu_start, start = time.process_time(), time.perf_counter()
                    signups_process(seconds=3600)  # all of them, as tasks in turn would
                    processed = waiting - PendingSignup.objects.count()
                    elapsed = time.perf_counter() - start
                    own_cpu = time.process_time() - cpu_start
                    pg_after = cpu_seconds(postgres_processes())
                    processing = {
                        "signups": processed,
                        "per_second": processed / elapsed,
                        "ms_cpu": 1000 * own_cpu / processed,
                        "ms_pg_cpu": 1000
                        * sum(t - pg_before.get(pid, 0.0) for pid, t in pg_after.items())
                        / processed,
                    }
                contacts = Contact.objects.count() - contacts_before
                memberships = Membership.objects.count()
            queued = OrmQ.objects.count() - queued_before if not extra_env else None
            results.append(
                {
                    "label": label,
                    "posts": count,
                    "per_second": count / seconds,
                    "codes": codes,
                    "contacts": contacts,
                    "memberships": memberships,
                    "queued": queued,
                    "emails": sent,
                    "gunicorn_cpu": cpu,
                    "postgres_cpu": pg_cpu if pg_after else None,
                    "load": load_avg,
                    "waiting": waiting,
                    "processing": processing,
                }
            )
            print(results[-1], flush=True)  # noqa: T201
    if redis_process:
        redis_process.terminate()
        redis_process.wait(10)
    print(  # noqa: T201
        f"\ngunicorn 2 workers, {args.connections} client threads, loopback, "
        f"{os.cpu_count()} cores, CONN_MAX_AGE={args.conn_max_age}"
    )
    print(  # noqa: T201
        f"{'variant':<52}{'posts':>7}{'per s':>8}{'ms CPU/post':>13}{'ms PG CPU/post':>16}"
        f"{'load':>6}  answers  stored"
    )
    for r in results:
        extra = f"queued {r['queued']}" if r["queued"] is not None else ""
        if r["emails"] is not None:
            extra = f"emails {r['emails']}"
        pg = "-" if r["postgres_cpu"] is None else f"{1000 * r['postgres_cpu'] / r['posts']:.2f}"
        print(  # noqa: T201
            f"{r['label']:<52}{r['posts']:>7}{r['per_second']:>8.1f}"
            f"{1000 * r['gunicorn_cpu'] / r['posts']:>13.2f}{pg:>16}{r['load']:>6.1f}  "
            f"{r['codes']}  contacts {r['contacts']} {extra}"
        )
    for r in results:
        if p := r["processing"]:
            print(  # noqa: T201
                f"then one worker processed {r['label']}: {p['signups']} waiting sign-ups "
                f"at {p['per_second']:.1f}/s, {p['ms_cpu']:.2f} ms CPU + "
                f"{p['ms_pg_cpu']:.2f} ms PG CPU each"
            )


if __name__ == "__main__":
    main()
