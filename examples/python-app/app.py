#!/usr/bin/env python3
"""A tiny application for Strata's app tier (docs/own-app.md): Python's standard library only.

Strata's app node runs it with PORT and HOST (127.0.0.1) set, and forwards its requests to it.
"""
import html
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PID = os.getpid()
# Only the kind of database is shown: a MySQL DATABASE_URL carries the account's password.
DATABASE = os.environ.get("DATABASE_URL", "").split("://", 1)[0]


class Handler(BaseHTTPRequestHandler):
    server_version = "python-app/1"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self.send_json({"status": "ok", "pid": PID})
        elif path == "/api/hello":
            self.send_json({"hello": "world", "pid": PID, "forwardedFor": self.headers.get("X-Forwarded-For")})
        elif path == "/":
            body = (
                "<!doctype html><title>Python on Strata</title>"
                f"<h1>Hello from Python</h1><p>pid {PID}, database {html.escape(DATABASE)}</p>"
            ).encode()
            self.send(200, "text/html; charset=utf-8", body)
        else:
            self.send_json({"error": "not found", "path": path}, status=404)

    def do_HEAD(self):
        self.do_GET()

    def send_json(self, value, status=200):
        self.send(status, "application/json", json.dumps(value).encode())

    def send(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):
        # One line per request on stdout: the app node relays it to its log.
        sys.stdout.write("%s %s\n" % (self.address_string(), format % args))
        sys.stdout.flush()


def main():
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    # SIGTERM (the node stopping) ends the server loop and closes the socket.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"python-app pid {PID} listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
