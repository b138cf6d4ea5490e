"""A fake Stripe API on loopback for tests and local development: no test ever reaches Stripe.

It keeps Stripe-shaped objects by id and answers the calls EngageX and dj-stripe make:
create customers, Checkout and billing-portal sessions; retrieve any stored object; list
(filtered by the query's customer/subscription); cancel subscriptions. Every request is
recorded with its form-decoded parameters. Test helpers play Stripe's side: complete a
checkout (creating the subscription and its paid invoice), change a subscription's status,
and build signed webhook events (`sign`, `event`).

Run standalone to try billing locally (README, "Billing"):
python -m devtools.fake_stripe --port 12111 --webhook-url http://localhost:8000/billing/stripe/webhook/
It then also serves the hosted Checkout page (a "Pay" button) and a customer portal that can
simulate a failed payment or a cancellation, each delivering its signed event to the URL.
"""

import argparse
import hashlib
import hmac
import itertools
import json
import re
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from devtools.loopback import LoopbackServer

API_VERSION = "2026-05-27.dahlia"
DEMO_AMOUNTS = {"basic": 1900, "pro": 7900, "premium": 29900}


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe would send for `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _nest(flat: dict[str, list[str]]) -> dict:
    """Turn Stripe's form encoding (`line_items[0][price]=…`) back into nested data."""
    root: dict = {}
    for key, values in flat.items():
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part, following in itertools.zip_longest(parts, parts[1:]):
            if following is None:
                node[part] = values[-1] if len(values) == 1 else values
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        if node and all(key.isdigit() for key in node):
            return [_lists(node[key]) for key in sorted(node, key=int)]
        return {key: _lists(value) for key, value in node.items()}
    return node


class FakeStripe(LoopbackServer):
    PATHS = {
        "customers": "customer",
        "subscriptions": "subscription",
        "invoices": "invoice",
        "prices": "price",
        "products": "product",
        "checkout/sessions": "checkout.session",
        "billing_portal/sessions": "billing_portal.session",
        "payment_intents": "payment_intent",
        "charges": "charge",
        "payment_methods": "payment_method",
        "subscription_items": "subscription_item",
        "events": "event",
    }

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str = "",
        webhook_secret: str = "",
    ):
        # Where the hosted pages (checkout, portal) deliver their signed events, if anywhere.
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.objects: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.counter = itertools.count(1)
        super().__init__(host, port)

    @property
    def url(self) -> str:
        return self.origin

    def reset(self) -> None:
        with self.lock:
            self.objects.clear()
            self.requests.clear()

    def requests_to(self, method: str, path: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]

    # --- Stripe's side, for tests and the dev checkout page ----------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self.counter):06d}"

    def put(self, obj: dict) -> dict:
        with self.lock:
            self.objects[obj["id"]] = obj
        return obj

    def price(self, price_id: str, amount: int | None = None, interval: str = "month") -> dict:
        if amount is None:
            # The default plans' prices, so local screens agree with the plan cards.
            amount = next((a for k, a in DEMO_AMOUNTS.items() if k in price_id), 2900)
        product = self.objects.get(f"prod_{price_id}") or self.put(
            {
                "id": f"prod_{price_id}",
                "object": "product",
                "active": True,
                "created": int(time.time()),
                "description": None,
                "livemode": False,
                "metadata": {},
                "name": price_id,
                "type": "service",
                "updated": int(time.time()),
            }
        )
        return self.objects.get(price_id) or self.put(
            {
                "id": price_id,
                "object": "price",
                "active": True,
                "billing_scheme": "per_unit",
                "created": int(time.time()),
                "currency": "usd",
                "livemode": False,
                "lookup_key": None,
                "metadata": {},
                "nickname": None,
                "product": product["id"],
                "recurring": {
                    "interval": interval,
                    "interval_count": 1,
                    "usage_type": "licensed",
                    "meter": None,
                    "trial_period_days": None,
                },
                "tax_behavior": "unspecified",
                "tiers_mode": None,
                "transform_quantity": None,
                "type": "recurring",
                "unit_amount": amount,
                "unit_amount_decimal": str(amount),
            }
        )

    def complete_checkout(self, session_id: str, status: str = "active") -> dict:
        """Pay a Checkout Session: create its subscription and first invoice; return the event."""
        session = self.objects[session_id]
        price = self.price(session["line_items"][0]["price"])
        now = int(time.time())
        sub_id = self.new_id("sub")
        subscription = self.put(
            {
                "id": sub_id,
                "object": "subscription",
                "billing_cycle_anchor": now,
                "cancel_at": None,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "collection_method": "charge_automatically",
                "created": now,
                "currency": "usd",
                "customer": session["customer"],
                "days_until_due": None,
                "default_payment_method": None,
                "default_source": None,
                "description": None,
                "discounts": [],
                "ended_at": None,
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": self.new_id("si"),
                            "object": "subscription_item",
                            "created": now,
                            "current_period_end": now + 30 * 86400,
                            "current_period_start": now,
                            "metadata": {},
                            "price": price,
                            "quantity": 1,
                            "subscription": sub_id,
                            "tax_rates": [],
                        }
                    ],
                    "has_more": False,
                    "url": f"/v1/subscription_items?subscription={sub_id}",
                },
                "latest_invoice": None,
                "livemode": False,
                "metadata": session.get("subscription_data", {}).get("metadata", {}),
                "pending_setup_intent": None,
                "schedule": None,
                "start_date": now,
                "status": status,
                "trial_end": None,
                "trial_start": None,
            }
        )
        invoice = self.invoice(sub_id, paid=True)
        subscription["latest_invoice"] = invoice["id"]
        session.update(status="complete", payment_status="paid", subscription=sub_id)
        return self.event("checkout.session.completed", session)

    def invoice(self, subscription_id: str, *, paid: bool) -> dict:
        subscription = self.objects[subscription_id]
        item = subscription["items"]["data"][0]
        now = int(time.time())
        amount = item["price"]["unit_amount"]
        invoice_id = self.new_id("in")
        return self.put(
            {
                "id": invoice_id,
                "object": "invoice",
                "account_country": "US",
                "amount_due": amount,
                "amount_paid": amount if paid else 0,
                "amount_remaining": 0 if paid else amount,
                "attempt_count": 1,
                "attempted": True,
                "auto_advance": not paid,
                "billing_reason": "subscription_cycle",
                "collection_method": "charge_automatically",
                "created": now,
                "currency": "usd",
                "customer": subscription["customer"],
                "customer_email": None,
                "description": None,
                "hosted_invoice_url": f"https://invoice.stripe.test/{invoice_id}",
                "invoice_pdf": f"https://invoice.stripe.test/{invoice_id}/pdf",
                "lines": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "url": f"/v1/invoices/{invoice_id}/lines",
                },
                "livemode": False,
                "metadata": {},
                "number": f"FAKE-{next(self.counter):04d}",
                "paid": paid,
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {"metadata": {}, "subscription": subscription_id},
                },
                "period_end": now,
                "period_start": now - 30 * 86400,
                "status": "paid" if paid else "open",
                "status_transitions": {
                    "finalized_at": now,
                    "paid_at": now if paid else None,
                    "marked_uncollectible_at": None,
                    "voided_at": None,
                },
                "subtotal": amount,
                "total": amount,
            }
        )

    def set_subscription_status(self, subscription_id: str, status: str) -> dict:
        """Change a subscription as Stripe would; return its `customer.subscription.*` event."""
        subscription = self.objects[subscription_id]
        subscription["status"] = status
        if status == "canceled":
            subscription["canceled_at"] = subscription["ended_at"] = int(time.time())
            return self.event("customer.subscription.deleted", subscription)
        return self.event("customer.subscription.updated", subscription)

    def event(self, event_type: str, obj: dict) -> dict:
        """A Stripe event about `obj` as it is now (a snapshot, like Stripe's)."""
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        return self.put(event)

    def deliver(self, event: dict) -> int:
        """POST a signed event to the configured webhook URL, as Stripe would; return its status."""
        import urllib.error
        import urllib.request

        payload = json.dumps(event)
        request = urllib.request.Request(  # noqa: S310 - a loopback URL the developer configured
            self.webhook_url,
            data=payload.encode(),
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": sign(payload, self.webhook_secret),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def hosted_page(self, path: str, action: str = "") -> tuple[int, str, str]:
        """Hosted Checkout and portal pages for trying billing locally: (status, html, redirect)."""
        kind, _, object_id = path.strip("/").partition("/")
        obj = self.objects.get(object_id)
        if obj is None or kind not in ("checkout", "portal"):
            return 404, "<h1>Not found</h1>", ""
        if kind == "checkout":
            if action == "pay":
                self.deliver(self.complete_checkout(object_id))
                subscription = self.objects[obj["subscription"]]
                self.deliver(
                    self.event("invoice.paid", self.objects[subscription["latest_invoice"]])
                )
                return 303, "", obj["success_url"]
            price = self.price(obj["line_items"][0]["price"])
            amount = f"{price['unit_amount'] / 100:,.2f} {price['currency'].upper()}"
            body = (
                f"<h1>Fake Stripe Checkout</h1><p>Subscribe to <b>{price['id']}</b> for "
                f"{amount} / {price['recurring']['interval']}.</p>"
                '<form method="post" action="?action=pay"><button>Pay (test card)</button></form>'
                f'<p><a href="{obj["cancel_url"]}">Cancel</a></p>'
            )
            return 200, body, ""
        subscriptions = [
            o for o in self.objects.values()
            if o.get("object") == "subscription" and o.get("customer") == obj["customer"]
            and o.get("status") != "canceled"
        ]  # fmt: skip
        if action in ("cancel", "fail") and subscriptions:
            subscription = subscriptions[-1]
            if action == "cancel":
                self.deliver(self.set_subscription_status(subscription["id"], "canceled"))
            else:
                self.set_subscription_status(subscription["id"], "past_due")
                invoice = self.invoice(subscription["id"], paid=False)
                self.deliver(self.event("invoice.payment_failed", invoice))
            return 303, "", obj["return_url"]
        forms = "".join(
            f'<form method="post" action="?action={a}"><button>{label}</button></form>'
            for a, label in (
                ("fail", "Simulate a failed payment"),
                ("cancel", "Cancel subscription"),
            )
        )
        listing = ", ".join(f"{s['id']} ({s['status']})" for s in subscriptions) or "none"
        body = (
            f"<h1>Fake Stripe customer portal</h1><p>Customer {obj['customer']}; subscriptions: "
            f"{listing}.</p>{forms if subscriptions else ''}"
            f'<p><a href="{obj["return_url"]}">Return to EngageX</a></p>'
        )
        return 200, body, ""

    # --- HTTP -----------------------------------------------------------------------------

    def _create(self, kind: str, params: dict) -> dict:
        now = int(time.time())
        if kind == "customers":
            return self.put(
                {
                    "id": self.new_id("cus"),
                    "object": "customer",
                    "address": None,
                    "balance": 0,
                    "created": now,
                    "currency": None,
                    "default_source": None,
                    "delinquent": False,
                    "description": params.get("description"),
                    "discount": None,
                    "email": params.get("email"),
                    "invoice_prefix": "FAKE",
                    "invoice_settings": {
                        "custom_fields": None,
                        "default_payment_method": None,
                        "footer": None,
                    },
                    "livemode": False,
                    "metadata": params.get("metadata", {}),
                    "name": params.get("name"),
                    "phone": None,
                    "preferred_locales": [],
                    "shipping": None,
                    "tax_exempt": "none",
                }
            )
        if kind == "checkout/sessions":
            session_id = self.new_id("cs_test")
            return self.put(
                {
                    "id": session_id,
                    "object": "checkout.session",
                    "client_reference_id": params.get("client_reference_id"),
                    "created": now,
                    "currency": "usd",
                    "customer": params.get("customer"),
                    "expires_at": now + 86400,
                    "line_items": params.get("line_items", []),
                    "livemode": False,
                    "metadata": params.get("metadata", {}),
                    "mode": params.get("mode"),
                    "payment_status": "unpaid",
                    "status": "open",
                    "subscription": None,
                    "subscription_data": params.get("subscription_data", {}),
                    "success_url": params.get("success_url"),
                    "cancel_url": params.get("cancel_url"),
                    "url": f"{self.url}/checkout/{session_id}",
                }
            )
        if kind == "billing_portal/sessions":
            session_id = self.new_id("bps")
            return self.put(
                {
                    "id": session_id,
                    "object": "billing_portal.session",
                    "created": now,
                    "customer": params.get("customer"),
                    "livemode": False,
                    "return_url": params.get("return_url"),
                    "url": f"{self.url}/portal/{session_id}",
                }
            )
        raise KeyError(kind)

    def _list(self, kind: str, query: dict) -> dict:
        object_type = self.PATHS.get(kind)
        with self.lock:
            found = [
                obj
                for obj in self.objects.values()
                if obj.get("object") == object_type
                and all(
                    obj.get(key) == values[0]
                    for key, values in query.items()
                    if key in ("customer", "subscription", "status")
                )
            ]
        return {"object": "list", "data": found, "has_more": False, "url": f"/v1/{kind}"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_fake")
                self.end_headers()
                self.wfile.write(data)

            def _missing(self, what: str):
                return self._reply(
                    404,
                    {
                        "error": {
                            "code": "resource_missing",
                            "message": f"No such {what}",
                            "type": "invalid_request_error",
                        }
                    },
                )

            def _record(self) -> tuple[str, dict, dict]:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                params = _nest(parse_qs(body, keep_blank_values=True))
                query = parse_qs(url.query)
                with fake.lock:
                    fake.requests.append(
                        {
                            "method": self.command,
                            "path": url.path,
                            "params": params,
                            "query": query,
                            "authorization": self.headers.get("Authorization", ""),
                        }
                    )
                return url.path, params, query

            def _page(self, path: str, action: str = ""):
                status, body, location = fake.hosted_page(path, action)
                data = f"<!doctype html><body style='font-family:sans-serif'>{body}</body>"
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data.encode())))
                self.end_headers()
                self.wfile.write(data.encode())

            def do_GET(self):
                if self.path.startswith(("/checkout/", "/portal/")):
                    return self._page(urlparse(self.path).path)
                path, _, query = self._record()
                if path == "/v1/account":
                    return self._reply(
                        200,
                        {
                            "id": "acct_fakeplatform",
                            "object": "account",
                            "business_profile": {"name": "EngageX"},
                            "charges_enabled": True,
                            "country": "US",
                            "created": 1700000000,
                            "default_currency": "usd",
                            "details_submitted": True,
                            "email": "billing@engagex.localhost",
                            "metadata": {},
                            "payouts_enabled": True,
                            "settings": {
                                "branding": {"icon": None, "logo": None},
                                "dashboard": {"display_name": "EngageX"},
                            },
                            "type": "standard",
                        },
                    )
                parts = path.removeprefix("/v1/").split("/")
                split = 2 if "/".join(parts[:2]) in fake.PATHS else 1
                kind, rest = "/".join(parts[:split]), parts[split:]
                if kind not in fake.PATHS:
                    return self._missing("resource")
                if not rest:
                    return self._reply(200, fake._list(kind, query))
                if len(rest) > 1:
                    # `/v1/invoices/in_x/lines` and the like: nothing more is kept.
                    return self._reply(200, {"object": "list", "data": [], "has_more": False})
                object_id = rest[0]
                obj = fake.objects.get(object_id)
                if obj is None:
                    return self._missing(f"{fake.PATHS[kind]}: '{object_id}'")
                return self._reply(200, obj)

            def do_POST(self):
                if self.path.startswith(("/checkout/", "/portal/")):
                    url = urlparse(self.path)
                    return self._page(url.path, parse_qs(url.query).get("action", [""])[0])
                path, params, _ = self._record()
                match = re.fullmatch(
                    r"/v1/(customers|checkout/sessions|billing_portal/sessions)", path
                )
                if match:
                    return self._reply(200, fake._create(match.group(1), params))
                cancel = re.fullmatch(r"/v1/subscriptions/([^/]+)", path)
                if cancel and cancel.group(1) in fake.objects:
                    obj = fake.objects[cancel.group(1)]
                    obj.update({k: v for k, v in params.items() if k in ("metadata",)})
                    return self._reply(200, obj)
                return self._missing("resource")

            def do_DELETE(self):
                path, _, _ = self._record()
                match = re.fullmatch(r"/v1/subscriptions/([^/]+)", path)
                if match and match.group(1) in fake.objects:
                    obj = fake.objects[match.group(1)]
                    obj.update(status="canceled", canceled_at=int(time.time()))
                    return self._reply(200, obj)
                return self._missing("subscription")

        return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--webhook-url", default="http://localhost:8000/billing/stripe/webhook/",
        help="where the hosted checkout/portal pages send their signed events",
    )  # fmt: skip
    parser.add_argument("--webhook-secret", default="whsec_engagex_dev")
    parser.add_argument(
        "--prices", default="price_basic_monthly,price_pro_monthly,price_premium_monthly"
    )
    args = parser.parse_args()
    fake = FakeStripe(
        port=args.port, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret
    )
    for price in filter(None, args.prices.split(",")):
        fake.price(price)
    print(f"Fake Stripe API listening on {fake.url}", flush=True)  # noqa: T201
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
