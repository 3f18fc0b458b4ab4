# A small httpbin for meshd's demo mesh (samples/README.md): the endpoints Istio's tasks call
# (/status/CODE, /delay/SECONDS, /headers, /ip, /get, /post, /anything) with JSON shaped like
# httpbin.org's. SERVICE_VERSION, when set, is returned in the `x-httpbin-version` response
# header so the mirroring task can tell v1 from v2 (each also logs every request it serves).
import json
import math
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import sample_http  # noqa: E402

MAX_DELAY_SECONDS = 10.0
VERSION = os.environ.get("SERVICE_VERSION", "")

TEAPOT = """
    -=[ teapot ]=-

       _...._
     .'  _ _ `.
    | ."` ^ `". _,
    \\_;`"---"`|//
      |       ;/
      \\_     _/
        `\"\"\"`
"""


def header_map(headers):
    """Request headers as httpbin shows them: canonical Title-Case names, repeated headers
    joined with commas."""
    out = {}
    for name, value in headers.items():
        canonical = "-".join(part.capitalize() for part in name.split("-"))
        out[canonical] = f"{out[canonical]},{value}" if canonical in out else value
    return out


class HttpbinHandler(sample_http.SampleHandler):
    def extra_headers(self):
        return [("x-httpbin-version", VERSION)] if VERSION else []

    def reply_json(self, status, value):
        self.send_json(status, value, self.extra_headers())

    def origin(self):
        # Behind a sidecar the peer is the proxy; X-Forwarded-For names the real client.
        forwarded = self.headers.get("X-Forwarded-For")
        return forwarded.split(",")[0].strip() if forwarded else self.client_address[0]

    def url(self):
        return f"http://{self.headers.get('Host', 'httpbin')}{self.path}"

    def args(self):
        parsed = urllib.parse.parse_qs(self.query(), keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}

    def echo(self, with_body):
        document = {"args": self.args(), "headers": header_map(self.headers),
                    "origin": self.origin(), "url": self.url()}
        if with_body:
            document.update(self.body_fields())
            document["method"] = self.command
        return document

    def body_fields(self):
        text = self.body.decode("utf-8", "replace")
        content_type = self.headers.get("Content-Type", "")
        form = {}
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = {k: v[0] if len(v) == 1 else v
                    for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return {"data": text, "files": {}, "form": form, "json": parsed}

    def route(self):
        path = self.path_only()
        method = self.command
        if path == "/health":
            self.reply_json(200, {"status": "httpbin is healthy"})
        elif path == "/headers":
            self.reply_json(200, {"headers": header_map(self.headers)})
        elif path == "/ip":
            self.reply_json(200, {"origin": self.origin()})
        elif path == "/get" and method in ("GET", "HEAD"):
            self.reply_json(200, self.echo(with_body=False))
        elif path in ("/post", "/put", "/patch", "/delete") and method == path[1:].upper():
            self.reply_json(200, self.echo(with_body=True))
        elif path == "/anything" or path.startswith("/anything/"):
            self.reply_json(200, self.echo(with_body=True))
        elif path.startswith("/status/"):
            self.status(path[len("/status/"):])
        elif path.startswith("/delay/"):
            self.delay(path[len("/delay/"):])
        elif path in ("/get", "/post", "/put", "/patch", "/delete"):
            self.reply_json(405, {"error": "method not allowed"})
        else:
            self.reply_json(404, {"error": "not found"})

    def status(self, text):
        try:
            code = int(text)
        except ValueError:
            self.reply_json(400, {"error": "invalid status code"})
            return
        if not 200 <= code <= 599:
            self.reply_json(400, {"error": "invalid status code"})
            return
        if code == 418:
            self.send_body(418, TEAPOT.encode(), "text/plain; charset=utf-8",
                           self.extra_headers()
                           + [("x-more-info", "http://tools.ietf.org/html/rfc2324")])
        elif code in (204, 304):
            # These never carry a body; Content-Length: 0 keeps every response framed the same.
            self.send_response(code)
            for name, value in self.extra_headers() + [("Content-Length", "0")]:
                self.send_header(name, value)
            self.end_headers()
        else:
            self.send_body(code, b"", "text/plain; charset=utf-8", self.extra_headers())

    def delay(self, text):
        try:
            seconds = float(text)
            if not math.isfinite(seconds):
                raise ValueError(text)
        except ValueError:
            self.reply_json(400, {"error": "invalid delay"})
            return
        time.sleep(max(0.0, min(seconds, MAX_DELAY_SECONDS)))
        self.reply_json(200, self.echo(with_body=False))


if __name__ == "__main__":
    sys.exit(sample_http.serve_http(HttpbinHandler, sys.argv, 8080, "httpbin"))
