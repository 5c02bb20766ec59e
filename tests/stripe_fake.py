"""A local fake of the few Stripe API endpoints the adapter calls, on a real HTTP port.

Request and answer shapes follow Stripe's API reference: form-encoded bodies (``metadata[key]``,
``payment_method_types[0]``), ``Authorization: Bearer sk_...``, the ``Idempotency-Key`` header (a
repeated key answers the first answer again and moves no money; the same key with other
parameters is a 400 ``idempotency_error``), and errors as
``{"error": {"type": "card_error", "code": "card_declined", "decline_code": ...}}`` with status
402. Cards behave as Stripe's test cards of the same last four digits: 4242 succeeds, 9995 is
declined for insufficient funds, 0002 is declined (generic), 3184 always requires authentication.

The fake keeps its own ledger (``charges``, ``refunds``) so tests can count real money moved.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_fake_0123456789"
CARDS = {"4242": ("visa", None), "9995": ("visa", "insufficient_funds"),
         "0002": ("visa", "generic_decline"), "3184": ("visa", "authentication_required")}


@dataclass
class Fake:
    requests: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    setup_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: list[dict[str, Any]] = field(default_factory=list)  # money moved
    refunds: list[dict[str, Any]] = field(default_factory=list)
    answered: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids):06d}"

    def complete_setup(self, setup_intent: str, last4: str = "4242") -> str:
        """What Stripe Elements does in the browser: the card is attached and the SetupIntent
        succeeds. Returns the payment method's id."""
        brand, _ = CARDS[last4]
        pm = self.new_id("pm")
        self.methods[pm] = {"id": pm, "object": "payment_method", "type": "card",
                            "customer": self.setup_intents[setup_intent]["customer"],
                            "card": {"brand": brand, "last4": last4, "exp_month": 12,
                                     "exp_year": 2030}}
        si = self.setup_intents[setup_intent]
        si.update(status="succeeded", payment_method=pm)
        return pm

    # -- endpoints -----------------------------------------------------------------------

    def post(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        meta = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
        if path == "/v1/customers":
            cid = self.new_id("cus")
            self.customers[cid] = {"id": cid, "object": "customer", "metadata": meta}
            return 200, self.customers[cid]
        if path == "/v1/setup_intents":
            if form.get("customer") not in self.customers:
                return 400, _invalid("customer", "No such customer")
            sid = self.new_id("seti")
            self.setup_intents[sid] = {
                "id": sid, "object": "setup_intent", "customer": form["customer"],
                "client_secret": f"{sid}_secret_fake", "status": "requires_payment_method",
                "usage": form.get("usage", "off_session"), "payment_method": None,
                "metadata": meta}
            return 200, self.setup_intents[sid]
        if path == "/v1/payment_intents":
            return self._payment_intent(form, meta)
        if path == "/v1/refunds":
            intent = self.intents.get(form.get("payment_intent", ""))
            if intent is None or intent["status"] != "succeeded":
                return 400, _invalid("payment_intent", "No such succeeded payment_intent")
            amount = int(form.get("amount", intent["amount"]))
            done = sum(r["amount"] for r in self.refunds if r["payment_intent"] == intent["id"])
            if amount > intent["amount"] - done:
                return 400, _invalid("amount", "Refund amount is greater than unrefunded")
            refund = {"id": self.new_id("re"), "object": "refund", "amount": amount,
                      "payment_intent": intent["id"], "status": "succeeded",
                      "currency": intent["currency"], "metadata": meta}
            self.refunds.append(refund)
            return 200, refund
        return 404, _invalid(None, f"Unrecognized request URL (POST: {path})")

    def _payment_intent(self, form: dict[str, str],
                        meta: dict[str, str]) -> tuple[int, dict[str, Any]]:
        for name in ("amount", "currency", "customer", "payment_method"):
            if not form.get(name):
                return 400, _invalid(name, f"Missing required param: {name}.")
        if form.get("off_session") != "true" or form.get("confirm") != "true":
            return 400, _invalid("off_session", "the adapter must charge off_session, confirmed")
        method = self.methods.get(form["payment_method"])
        if method is None:
            return 400, _invalid("payment_method", "No such PaymentMethod")
        pid = self.new_id("pi")
        intent = {"id": pid, "object": "payment_intent", "amount": int(form["amount"]),
                  "currency": form["currency"], "customer": form["customer"],
                  "payment_method": method["id"], "metadata": meta,
                  "status": "succeeded"}
        self.intents[pid] = intent
        _, decline = CARDS[method["card"]["last4"]]
        if decline is None:
            self.charges.append({"payment_intent": pid, "amount": intent["amount"],
                                 "currency": intent["currency"],
                                 "key": meta.get("key")})
            return 200, intent
        intent["status"] = "requires_payment_method"
        code = "authentication_required" if decline == "authentication_required" \
            else "card_declined"
        return 402, {"error": {"type": "card_error", "code": code, "decline_code": decline,
                               "message": "Your card was declined.", "payment_intent": intent,
                               "doc_url": f"https://stripe.com/docs/error-codes/{code}"}}

    def get(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[1] == "setup_intents" and parts[2] in self.setup_intents:
            si = dict(self.setup_intents[parts[2]])
            if "payment_method" in query.values() and si["payment_method"]:
                si["payment_method"] = self.methods[si["payment_method"]]
            return 200, si
        if len(parts) == 3 and parts[1] == "payment_methods" and parts[2] in self.methods:
            return 200, self.methods[parts[2]]
        return 404, _invalid("id", f"No such object: {path}")


def _invalid(param: str | None, message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "message": message, "param": param}}


def serve(fake: Fake) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``fake`` on a free local port; returns the server and its base address."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{len(fake.requests)}")
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {SECRET_KEY}":
                return True
            self._answer(401, {"error": {"type": "invalid_request_error",
                                         "message": "Invalid API Key provided"}})
            return False

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query))
            with fake.lock:
                fake.requests.append({"method": "GET", "path": url.path, "form": query,
                                      "headers": dict(self.headers)})
                if self._authorised():
                    self._answer(*fake.get(url.path, query))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            form = dict(parse_qsl(body))
            path = urlsplit(self.path).path
            key = self.headers.get("Idempotency-Key")
            with fake.lock:
                fake.requests.append({"method": "POST", "path": path, "form": form,
                                      "headers": dict(self.headers),
                                      "content_type": self.headers.get("Content-Type")})
                if not self._authorised():
                    return
                if key is not None and key in fake.answered:
                    first_body, status, answer = fake.answered[key]
                    if first_body != f"{path}?{body}":
                        self._answer(400, {"error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with "
                                       "the same parameters they were first used with."}})
                        return
                    self._answer(status, answer)
                    return
                status, answer = fake.post(path, form)
                if key is not None:
                    fake.answered[key] = (f"{path}?{body}", status, answer)
                self._answer(status, answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
