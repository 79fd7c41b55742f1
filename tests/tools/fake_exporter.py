#!/usr/bin/env python3
"""A /metrics endpoint serving a file's current content (text format 0.0.4), for
testing dashboard queries against series whose values the test controls.

  fake_exporter.py METRICS_FILE      binds 127.0.0.1 on a free port, prints
                                     "PORT=<n>" and serves until SIGTERM
"""
import http.server
import signal
import sys

path = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404)
            return
        try:
            with open(path, "rb") as f:
                body = f.read()
        except OSError:
            body = b""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print(f"PORT={server.server_address[1]}", flush=True)
server.serve_forever()
