# What every sample HTTP application shares (samples/README.md): the listening address and port
# conventions meshctl relies on, one stdout log line per request, HTTP/1.1 keep-alive responses
# that always carry Content-Length, a clean exit on SIGTERM/SIGINT, outbound calls through urllib
# (which honours http_proxy in meshctl's local mode) and the headers a mesh application forwards.
import json
import os
import signal
import socket
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Headers an application copies from the request it serves to the requests it makes, so the
# sidecars can join spans into one trace (istio-features.md §2.2) and routing rules can match on
# the logged-in user (`end-user`). Lower case: http.client lookups are case-insensitive.
FORWARDED_HEADERS = (
    "x-request-id",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "b3",
    "traceparent",
    "tracestate",
    "x-ot-span-context",
    "x-datadog-trace-id",
    "x-datadog-parent-id",
    "x-datadog-sampling-priority",
    "x-cloud-trace-context",
    "grpc-trace-bin",
    "sw8",
    "end-user",
    "user-agent",
    "cookie",
    "authorization",
    "jwt",
)

_log_lock = threading.Lock()


def log_line(text):
    """Writes one line to stdout at once; tests and `meshctl logs` read workload logs."""
    with _log_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def forwarded_headers(incoming):
    """The subset of `incoming` (an http.client message) to pass on to the next service."""
    return {name: incoming[name] for name in FORWARDED_HEADERS if incoming.get(name) is not None}


def service_url(name, default_host, path):
    """http://<host>:<port><path> for a Bookinfo peer, with the original samples' overrides:
    <NAME>_HOSTNAME, <NAME>_SERVICE_PORT and SERVICES_DOMAIN (appended to the host name)."""
    host = os.environ.get(f"{name}_HOSTNAME", default_host)
    domain = os.environ.get("SERVICES_DOMAIN", "")
    if domain:
        host = f"{host}.{domain}"
    port = os.environ.get(f"{name}_SERVICE_PORT", "9080")
    return f"http://{host}:{port}{path}"


class OutboundResult:
    """What a call to another service gave: the status (None when there was no response at
    all: refused, reset or timed out), the parsed JSON body (None if absent or not JSON) and,
    for no response, why."""

    def __init__(self, status, body, failure=""):
        self.status = status
        self.body = body
        self.failure = failure

    @property
    def ok(self):
        return self.status == 200 and self.body is not None


def get_json(url, headers, timeout_seconds):
    """GET `url` and parse a JSON answer. The timeout bounds connecting and each wait for data
    (urllib's socket timeout), which is how the original Bookinfo clients behave."""
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            return OutboundResult(response.status, _parse_json(response.read()))
    except urllib.error.HTTPError as error:
        body = error.read() if error.fp is not None else b""
        return OutboundResult(error.code, _parse_json(body))
    except (urllib.error.URLError, OSError, ValueError) as error:
        return OutboundResult(None, None, str(error))


def _parse_json(raw):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class SampleHandler(BaseHTTPRequestHandler):
    """Base request handler: subclasses implement route(), reading self.path, self.headers and
    self.body, and answer with send_body/send_json/send_text."""

    protocol_version = "HTTP/1.1"
    server_version = "meshd-sample"
    # Seconds an idle keep-alive connection may wait for its next request before it is closed,
    # so a client that never closes does not hold a thread forever. Longer than the sidecar's
    # idle timeout for pooled upstream connections (at most 1 h): if the application closed
    # first, a request the sidecar sends on the closing connection at that moment would fail.
    timeout = 3900

    def route(self):
        raise NotImplementedError

    def version_string(self):
        return self.server_version

    def _handle(self):
        self.body = self._read_body()
        if self.body is None:
            self.send_text(400, "bad request body\n")
            self.close_connection = True
            return
        self.route()

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_DELETE = _handle
    do_PATCH = _handle
    do_OPTIONS = _handle
    do_HEAD = _handle

    def _read_body(self):
        """The request body (b"" when none), read in full so the next request on the same
        connection starts at the right byte; None when it is malformed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            return None
        if size < 0:
            return None
        return self.rfile.read(size)

    def _read_chunked(self):
        chunks = []
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                return None
            if size == 0:
                # Trailers, if any, end with an empty line.
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def path_only(self):
        return self.path.split("?", 1)[0]

    def query(self):
        return self.path.split("?", 1)[1] if "?" in self.path else ""

    def send_body(self, status, body, content_type, extra_headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, value, extra_headers=()):
        body = (json.dumps(value, indent=2) + "\n").encode("utf-8")
        self.send_body(status, body, "application/json", extra_headers)

    def send_text(self, status, text, extra_headers=()):
        self.send_body(status, text.encode("utf-8"), "text/plain; charset=utf-8", extra_headers)

    def send_error(self, code, message=None, explain=None):
        # BaseHTTPRequestHandler's own errors (bad request line, unsupported method) also get a
        # Content-Length and our log line.
        self.close_connection = True
        self.send_text(code, (message or self.responses.get(code, ("error",))[0]) + "\n",
                       [("Connection", "close")])

    def log_request(self, code="-", size="-"):
        # Also called for requests too broken to parse, which lack some of these attributes.
        status = code.value if hasattr(code, "value") else code
        headers = getattr(self, "headers", None)
        host = headers.get("Host", "-") if headers is not None else "-"
        log_line(f"{getattr(self, 'command', None) or '-'} {getattr(self, 'path', None) or '-'} "
                 f"host={host} status={status}")

    def log_message(self, format, *args):
        # Socket errors and the like; the request log line comes from log_request.
        pass


def listen_port(argv, default_port):
    """The port from the first argument, else `default_port`."""
    return int(argv[1]) if len(argv) > 1 else default_port


def bind_address():
    return os.environ.get("BIND_ADDRESS", "0.0.0.0")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)


def run_until_signalled(start, stop):
    """Calls start(), then waits for SIGTERM or SIGINT and calls stop(); returns exit code 0.
    The server loop runs in another thread so the signal handler never blocks on it."""
    stopping = threading.Event()

    def on_signal(signum, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    start()
    while not stopping.wait(1.0):
        pass
    stop()
    return 0


def serve_http(handler_class, argv, default_port, name):
    """Runs `handler_class` on BIND_ADDRESS:port until SIGTERM/SIGINT; returns the exit code."""
    port = listen_port(argv, default_port)
    server = _Server((bind_address(), port), handler_class)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="serve", daemon=True)

    def start():
        thread.start()
        log_line(f"{name} listening on {bind_address()}:{server.server_address[1]}")

    def stop():
        server.shutdown()
        server.server_close()
        log_line(f"{name} stopped")

    return run_until_signalled(start, stop)
