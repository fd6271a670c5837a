"""A stand-in for Google's OAuth token endpoint and FCM HTTP v1, for the SDK
end-to-end test (Google's services cannot run here). It checks the wire
format deskbind must send and appends every accepted message, as JSON, one
per line, to the log file; the test reads that file.

    python3 tests/sdk/fake_fcm.py PORT LOG_FILE PROJECT_ID

- `POST /token`: a form with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
  and an `assertion` that is a three-part JWT; answers an access token.
- `POST /v1/projects/{PROJECT_ID}/messages:send`: needs that token as a
  Bearer; the body must be `{"message": {"token": ..., "data": {...}}}`
  with string data values; answers the message's name. Anything else is
  a 400 (or 401 without the token) in FCM's error shape, and is not logged.
"""

import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCESS_TOKEN = "fake-fcm-access-token"


def error(status, message, code):
    return status, {"error": {"code": status, "message": message, "status": code}}


class Handler(BaseHTTPRequestHandler):
    project = ""
    log_path = ""
    lock = threading.Lock()
    sent = 0

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/token":
            self.answer(*self.token(raw))
        elif self.path == f"/v1/projects/{self.project}/messages:send":
            self.answer(*self.send_message(raw))
        else:
            self.answer(*error(404, f"no such endpoint {self.path}", "NOT_FOUND"))

    def token(self, raw):
        form = urllib.parse.parse_qs(raw.decode())
        grant = form.get("grant_type", [""])[0]
        assertion = form.get("assertion", [""])[0]
        if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" or assertion.count(".") != 2:
            return 400, {"error": "invalid_grant"}
        return 200, {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"}

    def send_message(self, raw):
        if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return error(401, "missing or wrong access token", "UNAUTHENTICATED")
        try:
            message = json.loads(raw)["message"]
        except (ValueError, KeyError, TypeError):
            return error(400, "body is not {message: ...}", "INVALID_ARGUMENT")
        data = message.get("data", {})
        if not isinstance(message.get("token"), str) or not isinstance(data, dict):
            return error(400, "message needs a token and a data object", "INVALID_ARGUMENT")
        if any(not isinstance(v, str) for v in data.values()):
            return error(400, "data values must be strings", "INVALID_ARGUMENT")
        with Handler.lock:
            Handler.sent += 1
            with open(self.log_path, "a") as f:
                f.write(json.dumps(message) + "\n")
            name = f"projects/{self.project}/messages/{Handler.sent}"
        return 200, {"name": name}


def main(port, log_path, project):
    Handler.project = project
    Handler.log_path = log_path
    open(log_path, "w").close()
    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
