"""A local fake of Twilio's Messages API and Lob's postcards and letters, on a real HTTP port.

Shapes follow the providers' API references. Twilio: ``POST
/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``/``From``/``Body``
(``StatusCallback`` optional), HTTP basic auth (account sid, auth token); a message answers 201
``{"sid": "SM...", "status": "queued", ...}``; errors answer ``{"code": 21211, "message": ...,
"status": 400}``. Twilio's magic test numbers behave as theirs do: ``+15005550001`` is not a
valid number (21211), ``+15005550009`` cannot receive texts (21614). Lob: ``POST /v1/postcards``
and ``/v1/letters``, JSON, basic auth with the API key as the user name; the
``Idempotency-Key`` header: a repeated key answers the first answer again and mails nothing
more. Errors answer ``{"error": {"message": ..., "status_code": 422}}``.

``fail_next`` makes the next requests fail with those statuses (a provider having a bad
moment); ``mailed`` and ``texts`` are what really went out.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "twilio-test-auth-token-0123456789"
LOB_KEY = "test_lob_key_0123456789"
INVALID_NUMBER = "+15005550001"
NOT_MOBILE = "+15005550009"


@dataclass
class Fake:
    requests: list[dict[str, Any]] = field(default_factory=list)
    texts: list[dict[str, str]] = field(default_factory=list)
    mailed: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    answered: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def twilio(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            return 404, {"code": 20404, "message": "The requested resource was not found",
                         "status": 404}
        for name in ("To", "From", "Body"):
            if not form.get(name):
                return 400, {"code": 21604 if name == "To" else 21603,
                             "message": f"A '{name}' parameter is required.", "status": 400}
        if form["To"] == INVALID_NUMBER:
            return 400, {"code": 21211, "message": f"The 'To' number {form['To']} is not a "
                         "valid phone number.", "status": 400}
        if form["To"] == NOT_MOBILE:
            return 400, {"code": 21614, "message": f"'To' number {form['To']} is not a valid "
                         "mobile number", "status": 400}
        sid = f"SM{next(self.ids):032x}"
        self.texts.append({**form, "sid": sid})
        return 201, {"sid": sid, "status": "queued", "to": form["To"], "from": form["From"],
                     "body": form["Body"], "account_sid": ACCOUNT_SID}

    def lob(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        kinds = {"/v1/postcards": "psc", "/v1/letters": "ltr"}
        if path not in kinds:
            return 404, {"error": {"message": "not found", "status_code": 404}}
        to = body.get("to")
        if not isinstance(to, dict) or not to.get("address_line1"):
            return 422, {"error": {"message": "to.address_line1 is required",
                                   "status_code": 422}}
        if path == "/v1/postcards" and not (body.get("front") and body.get("back")):
            return 422, {"error": {"message": "front and back are required",
                                   "status_code": 422}}
        if path == "/v1/letters" and not body.get("file"):
            return 422, {"error": {"message": "file is required", "status_code": 422}}
        card_id = f"{kinds[path]}_{next(self.ids):016x}"
        self.mailed.append({"id": card_id, "path": path, **body})
        return 200, {"id": card_id, "to": to, "object": kinds[path]}


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
            self.end_headers()
            self.wfile.write(data)

        def _user(self) -> tuple[str, str]:
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Basic "):
                return "", ""
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            return user, password

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            path = urlsplit(self.path).path
            with fake.lock:
                record: dict[str, Any] = {"path": path, "headers": dict(self.headers),
                                          "body": raw}
                fake.requests.append(record)
                if fake.fail_next:
                    status = fake.fail_next.pop(0)
                    self._answer(status, {"code": 20500, "message": "Internal Server Error",
                                          "status": status,
                                          "error": {"message": "Internal Server Error",
                                                    "status_code": status}})
                    return
                if path.startswith("/2010-04-01/"):
                    if self._user() != (ACCOUNT_SID, AUTH_TOKEN):
                        self._answer(401, {"code": 20003, "message": "Authenticate",
                                           "status": 401})
                        return
                    self._answer(*fake.twilio(path, dict(parse_qsl(raw))))
                    return
                if self._user() != (LOB_KEY, ""):
                    self._answer(401, {"error": {"message": "unauthorized",
                                                 "status_code": 401}})
                    return
                key = self.headers.get("Idempotency-Key")
                if key is not None and key in fake.answered:
                    self._answer(*fake.answered[key])
                    return
                status, answer = fake.lob(path, json.loads(raw or "{}"))
                if key is not None and status < 500:
                    fake.answered[key] = (status, answer)
                self._answer(status, answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
