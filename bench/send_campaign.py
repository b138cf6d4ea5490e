"""Send a campaign to 100,000 recipients (--rows 1000000 for a million) through the real pipeline.

A django-q2 cluster with 2 workers (a separate `manage.py qcluster` process, running before
the campaign starts, as in production) sends the batches through our Anymail SendGrid
backend to a fake SendGrid server (its own process) on loopback. The clock runs from
`campaign_start` (audience snapshot included) until the campaign is marked sent. Beside it,
in the same run, a naive loop calls `send_mail` once per recipient for 1,000 recipients
(template rendered per recipient) against the same server.

Prints recipients/s for both, the ratio, the cluster's peak memory, and the CPU seconds the
cluster, the fake server and PostgreSQL used (2 cores are shared by all three).
`--esp-latency-ms N` makes the fake server answer after N ms, like a remote API; on
loopback it answers in about a millisecond.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

import psutil
from _common import ROOT, bench_database, bench_plan

NAIVE_ROWS = 1_000


def _free_port() -> int:
    """A loopback port nobody listens on: two benches at once must not share one fake ESP."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PORT = _free_port()


def fill(rows: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (email, first_name, last_name, phone, language, timezone,
                attributes, status, status_source, consent_source, created_at, updated_at)
            SELECT 'person' || i || '@example' || (i %% 97) || '.com', 'First' || i, 'Last', '',
                'en', '',
                jsonb_build_object('plan', CASE WHEN i %% 3 = 0 THEN 'gold' ELSE 'basic' END),
                'subscribed', 'bench', '', now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [rows],
        )
        cursor.execute("ANALYZE contacts_contact")


def stats() -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/_stats", timeout=5) as response:  # noqa: S310
        return json.load(response)


def tree_rss(process: psutil.Process) -> int:
    try:
        return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
    except psutil.Error:
        return 0


def cpu_seconds(process: psutil.Process) -> float:
    """CPU used by a process and its children, ended children included."""
    try:
        times = process.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in process.children(recursive=True):
            times = child.cpu_times()
            total += times.user + times.system
    except psutil.Error:
        return 0.0
    return total


def postmaster() -> psutil.Process | None:
    """The main process of the PostgreSQL server the bench uses, when it runs on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        return psutil.Process(backend).parent()
    except psutil.Error:
        return None


def cluster_ready(timeout: float = 60) -> None:
    """Wait until the cluster has run a task: workers are up and polling."""
    from django_q.tasks import async_task, result

    task_id = async_task("math.floor", 1.5)
    if result(task_id, wait=int(timeout * 1000)) != 1:
        raise RuntimeError("the cluster did not start")


def naive_loop(rows: int, template) -> float:
    from django.core.mail import send_mail
    from django.template import Context, Template

    body = Template(template.html_body)
    start = time.perf_counter()
    for i in range(rows):
        context = Context(
            {
                "contact": {"first_name": f"Naive{i}", "attributes": {}},
                "workspace": {"name": "Bench"},
            }
        )
        send_mail(
            "Hello", "text", "news@bench.example", [f"naive{i}@example.org"],
            html_message=body.render(context),
        )  # fmt: skip
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--esp-latency-ms",
        type=float,
        default=0,
        help="hold every fake SendGrid answer back this long, like a remote API (default: none)",
    )
    args = parser.parse_args()
    rows, latency = args.rows, args.esp_latency_ms
    os.environ["SENDGRID_API_KEY"] = "SG.bench"
    os.environ["SENDGRID_API_URL"] = f"http://127.0.0.1:{PORT}/v3/"
    fake = subprocess.Popen(
        [sys.executable, "-m", "devtools.fake_sendgrid", "--port", str(PORT),
         "--latency-ms", str(latency)],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    cluster = None
    try:
        time.sleep(1)
        with bench_database("engagex_bench_send"):
            from django.conf import settings
            from django.db import connection
            from django.utils import timezone
            from django_tenants.utils import schema_context

            from engagex.campaigns.models import Campaign, CampaignRecipient
            from engagex.campaigns.services.campaigns import campaign_start
            from engagex.domains.models import SendingDomain
            from engagex.email_templates.models import EmailTemplate
            from engagex.platform.provisioning import tenant_create

            settings.ANYMAIL = {
                "SENDGRID_API_KEY": "SG.bench",
                "SENDGRID_API_URL": os.environ["SENDGRID_API_URL"],
            }
            tenant = tenant_create(
                name="Bench", slug="bench", owner_email="o@bench.example", send_invitation=False
            ).tenant
            bench_plan(tenant, contacts=rows * 2, sends=rows * 2)
            with schema_context(tenant.schema_name):
                fill(rows)
                SendingDomain.objects.create(
                    domain="bench.example",
                    status=SendingDomain.Status.VERIFIED,
                    verified_at=timezone.now(),
                    dns_check_exempt=True,
                )
                template = EmailTemplate.objects.create(
                    name="Bench",
                    subject='News for {{ contact.first_name|default:"you" }}',
                    html_body=(
                        "<h1>{{ workspace.name }} monthly</h1>"
                        '<p>Hi {{ contact.first_name|default:"there" }},</p>'
                        "{% if contact.attributes.plan == 'gold' %}<p>Gold perks.</p>{% endif %}"
                        + "<p>" + "Lorem ipsum dolor sit amet. " * 60 + "</p>"
                        + '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
                    ),
                )  # fmt: skip
                campaign = Campaign.objects.create(
                    name="Bench",
                    template=template,
                    from_name="Bench",
                    from_email="news@bench.example",
                )
                naive_seconds = naive_loop(NAIVE_ROWS, template)
                naive_accepted = stats()["accepted"]
                env = {
                    **os.environ,
                    "DJANGO_SETTINGS_MODULE": "config.settings.bench",
                    "ENGAGEX_BENCH_DATABASE_NAME": connection.settings_dict["NAME"],
                    "Q_WORKERS": "2",
                }
                # The cluster runs before the campaign starts, as it always does in production.
                cluster = subprocess.Popen(
                    [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                cluster_ready()
                process = psutil.Process(cluster.pid)
                watched = {"cluster": process, "fake SendGrid": psutil.Process(fake.pid)}
                if server := postmaster():
                    watched["PostgreSQL"] = server
                cpu_before = {name: cpu_seconds(p) for name, p in watched.items()}
                peak = 0
                start = time.perf_counter()
                campaign_start(campaign_id=campaign.pk)
                snapshot_seconds = time.perf_counter() - start
                snapshot_cpu = {
                    name: cpu_seconds(p) - cpu_before[name] for name, p in watched.items()
                }
                while True:
                    peak = max(peak, tree_rss(process))
                    status = (
                        Campaign.objects.filter(pk=campaign.pk)
                        .values_list("status", flat=True)
                        .get()
                    )
                    if status != Campaign.Status.SENDING:
                        break
                    time.sleep(0.25)
                elapsed = time.perf_counter() - start
                cpu = {name: cpu_seconds(p) - cpu_before[name] for name, p in watched.items()}
                sent = CampaignRecipient.objects.filter(campaign=campaign, status="sent").count()
                final = stats()
            cluster.terminate()
            cluster.wait(30)
    finally:
        if cluster and cluster.poll() is None:
            cluster.kill()
        fake.terminate()

    ours = rows / elapsed
    naive = NAIVE_ROWS / naive_seconds
    accepted = final["accepted"] - naive_accepted
    print(f"fake SendGrid answers held back: {latency:g} ms per request")
    print(f"campaign status: {status}; recipients sent: {sent:,} of {rows:,}")
    print(f"fake SendGrid: {accepted:,} accepted, {final['duplicates']} duplicates")
    print(f"{'path':<46}{'recipients':>11}{'seconds':>9}{'rcpt/s':>10}")
    for label, count, seconds in [
        ("EngageX pipeline (2 workers, 1000/request)", rows, elapsed),
        ("naive send_mail per recipient", NAIVE_ROWS, naive_seconds),
    ]:
        print(f"{label:<46}{count:>11,}{seconds:>9.1f}{count / seconds:>10,.0f}")
    print(f"speed-up: {ours / naive:.0f}x   cluster peak memory: {peak / 2**20:.0f} MiB")
    print(
        f"of which the audience snapshot (campaign start): {snapshot_seconds:.2f} s, "
        f"PostgreSQL CPU {snapshot_cpu.get('PostgreSQL', 0):.1f} s"
    )
    print(
        "CPU seconds during the campaign: "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
        + f" (wall {elapsed:.1f} s, 2 cores)"
    )
    assert sent == rows
    assert final["duplicates"] == 0


if __name__ == "__main__":
    main()
