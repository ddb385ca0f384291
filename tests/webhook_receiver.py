"""A team's SMS bridge, as tests/webhook.rs starts it: every POST is checked
with the real Standard Webhooks library (PyPI `standardwebhooks`, pinned in
requirements-test.txt) before it counts.

    python webhook_receiver.py <secret>

Prints the port it listens on (loopback), then serves:
- POST /send: verifies the signature; answers as the mode says: `ok` (204),
  `fail` (500) or `slow` (5 s, then 204). Unverified posts answer 401 and
  are counted as rejected.
- PUT /mode/<mode>: sets the mode.
- GET /received: {"verified": [{"headers": ..., "body": ...}], "rejected": N}
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

webhook = Webhook(sys.argv[1])
state = {"mode": "ok", "verified": [], "rejected": 0}
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def answer(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        payload = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            body = webhook.verify(payload, headers)
        except WebhookVerificationError:
            with lock:
                state["rejected"] += 1
            return self.answer(401)
        with lock:
            mode = state["mode"]
            state["verified"].append({"headers": headers, "body": body, "mode": mode})
        if mode == "slow":
            time.sleep(5)
        self.answer(500 if mode == "fail" else 204)

    def do_PUT(self):
        with lock:
            state["mode"] = self.path.rsplit("/", 1)[-1]
        self.answer(204)

    def do_GET(self):
        with lock:
            self.answer(200, {"verified": state["verified"], "rejected": state["rejected"]})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()
