"""A fake SendGrid v3 API on loopback for tests, benchmarks and fault drills.

It accepts `POST /v3/mail/send` like SendGrid (202, or a scripted 429/500/400), records what
it accepted per recipient, and answers the Email Activity query
`GET /v3/messages?query=unique_args['engagex_attempt']="<id>"` for crash reconciliation.
`GET /_stats` reports accepted messages, duplicates, requests and the most requests it had
at once. `latency` (seconds, `--latency-ms` standalone) holds each mail/send answer back,
as a remote ESP does. `log` keeps, per mail/send request, when it arrived and when it was
accepted (`time.monotonic()`), its batch attempt id and its recipient count, so a test can
tell which batches reached the ESP after a given moment.

Run standalone: python -m devtools.fake_sendgrid --port 8025 [--latency-ms 150]
"""

import argparse
import json
import re
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from devtools.loopback import LoopbackServer

ATTEMPT_QUERY = re.compile(r"unique_args\['engagex_attempt'\]\s*=\s*\"([0-9a-f-]+)\"")


class FakeSendGrid(LoopbackServer):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_bodies: bool = True,
        latency: float = 0.0,
    ):
        self.keep_bodies = keep_bodies
        self.latency = latency
        self.active = 0
        self.max_active = 0
        self.requests: list[dict] = []
        self.scripted: deque = deque()
        self.delivered: Counter = Counter()
        self.attempts: set[str] = set()
        self.request_count = 0
        self.log: list[dict] = []
        super().__init__(host, port)

    @property
    def url(self) -> str:
        return f"{self.origin}/v3/"

    def respond_next(
        self, status: int, body: dict | None = None, headers: dict | None = None, times=1
    ):
        """Answer the next `times` mail/send requests with `status` instead of 202."""
        for _ in range(times):
            self.scripted.append(
                (status, body or {"errors": [{"message": f"scripted {status}"}]}, headers or {})
            )

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.scripted.clear()
            self.delivered.clear()
            self.attempts.clear()
            self.request_count = 0
            self.max_active = 0
            self.latency = 0.0
            self.log.clear()

    def stats(self) -> dict:
        with self.lock:
            return {
                "requests": self.request_count,
                "accepted": sum(self.delivered.values()),
                "recipients": len(self.delivered),
                "duplicates": sum(n - 1 for n in self.delivered.values() if n > 1),
                "max_concurrent": self.max_active,
            }

    def accepted_since(self, moment: float) -> int:
        """Campaign recipients accepted after `moment` (a `time.monotonic()` value); other
        mail (notifications) carries no batch attempt and is not counted."""
        with self.lock:
            return sum(
                e["recipients"] for e in self.log if e["attempt"] and (e["accepted"] or 0) > moment
            )

    def _accept(self, payload: dict, entry: dict | None = None) -> None:
        attempt = (payload.get("custom_args") or {}).get("engagex_attempt")
        with self.lock:
            if entry is not None:
                entry["accepted"] = time.monotonic()
            if attempt:
                self.attempts.add(attempt)
            for personalization in payload.get("personalizations", []):
                for to in personalization.get("to", []):
                    self.delivered[to["email"].lower()] += 1

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=None, headers=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, str(value))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                path = urlparse(self.path).path
                if path == "/v3/whitelabel/domains":
                    return self._authenticate_domain(raw)
                if path != "/v3/mail/send":
                    return self._reply(404, {"errors": [{"message": "not found"}]})
                try:  # parsed once: a million recipients' JSON is this fake's main cost
                    payload = json.loads(raw)
                except ValueError:
                    payload = None
                entry = _log_entry(payload)
                with fake.lock:
                    fake.log.append(entry)
                    fake.active += 1
                    fake.max_active = max(fake.max_active, fake.active)
                try:
                    if fake.latency:
                        time.sleep(fake.latency)
                    return self._mail_send(payload, entry)
                finally:
                    with fake.lock:
                        fake.active -= 1

            def _mail_send(self, payload, entry):
                if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                    return self._reply(401, {"errors": [{"message": "authorization required"}]})
                if not isinstance(payload, dict):
                    return self._reply(400, {"errors": [{"message": "invalid JSON"}]})
                with fake.lock:
                    fake.request_count += 1
                    scripted = fake.scripted.popleft() if fake.scripted else None
                    if fake.keep_bodies:
                        fake.requests.append({"json": payload, "headers": dict(self.headers)})
                if scripted:
                    return self._reply(*scripted)
                personalizations = payload.get("personalizations") or []
                if not personalizations or len(personalizations) > 1000:
                    return self._reply(
                        400, {"errors": [{"message": "personalizations: 1 to 1000"}]}
                    )
                fake._accept(payload, entry)
                return self._reply(202, None, {"X-Message-Id": f"fake{fake.request_count}"})

            def _authenticate_domain(self, raw):
                domain = json.loads(raw or b"{}").get("domain", "")
                with fake.lock:
                    fake.request_count += 1
                    if fake.keep_bodies:
                        fake.requests.append({"json": json.loads(raw or b"{}"), "path": self.path})
                return self._reply(
                    201,
                    {
                        "id": 4242,
                        "domain": domain,
                        "dns": {
                            "mail_cname": {
                                "host": f"em4242.{domain}",
                                "data": "u42.wl4242.sendgrid.net",
                            },
                            "dkim1": {
                                "host": f"s1._domainkey.{domain}",
                                "data": "s1.domainkey.u42.wl4242.sendgrid.net",
                            },
                            "dkim2": {
                                "host": f"s2._domainkey.{domain}",
                                "data": "s2.domainkey.u42.wl4242.sendgrid.net",
                            },
                        },
                    },
                )

            def do_GET(self):
                url = urlparse(self.path)
                if url.path == "/_stats":
                    return self._reply(200, fake.stats())
                if url.path == "/v3/messages":
                    query = parse_qs(url.query).get("query", [""])[0]
                    match = ATTEMPT_QUERY.search(query)
                    found = bool(match) and match.group(1) in fake.attempts
                    messages = [{"msg_id": "reconciled", "status": "delivered"}] if found else []
                    return self._reply(200, {"messages": messages})
                return self._reply(404, {"errors": [{"message": "not found"}]})

        return Handler


def _log_entry(payload) -> dict:
    """What the log keeps of one mail/send request as it arrives."""
    payload = payload if isinstance(payload, dict) else {}
    return {
        "arrived": time.monotonic(),
        "accepted": None,
        "attempt": (payload.get("custom_args") or {}).get("engagex_attempt"),
        "recipients": sum(len(p.get("to", [])) for p in payload.get("personalizations") or []),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--latency-ms", type=float, default=0, help="hold each answer back")
    args = parser.parse_args()
    fake = FakeSendGrid(port=args.port, keep_bodies=False, latency=args.latency_ms / 1000)
    print(f"Fake SendGrid listening on {fake.url}", flush=True)  # noqa: T201
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
