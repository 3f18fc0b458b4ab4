# Test support for the sample applications: starts an app as its own process on 127.0.0.1 and a
# free port, waits until it answers, stops it with SIGTERM (checking it exits 0) and gives its
# log; plus in-process stub servers that record the requests they get and can answer late.
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SAMPLES_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy",
                   "NO_PROXY", "all_proxy", "ALL_PROXY")
START_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 10.0

# The tests' own HTTP client ignores any proxy in the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port():
    """A port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout_seconds, what):
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_seconds}s waiting for {what}")


class App:
    """One sample application process. `relative_path` is under samples/."""

    def __init__(self, relative_path, args=(), env=None, port=None, http=True, ready_log=None,
                 interpreter=None):
        """`port` is passed as the first argument: a free one when None, a string as given
        (tcp-echo takes "P1,P2"), nothing when 0. Readiness: `ready_log` appearing in the log
        if given, else /health answering 200 (`http`), else the (first) port accepting. `interpreter`: what runs the script
        (python3 unless given, e.g. "node")."""
        if port is None:
            port = free_port()
        self.port = int(str(port).split(",")[0])
        self.http = http
        self.ready_log = ready_log
        self._log = tempfile.TemporaryFile(mode="w+")
        child_env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        child_env["BIND_ADDRESS"] = "127.0.0.1"
        child_env["PYTHONUNBUFFERED"] = "1"
        child_env.update(env or {})
        script = os.path.join(SAMPLES_DIR, relative_path)
        argv = [interpreter or sys.executable, script] + ([str(port)] if port != 0 else []) + list(args)
        self.process = subprocess.Popen(argv, env=child_env, stdout=self._log,
                                        stderr=subprocess.STDOUT, cwd=os.path.dirname(script))
        wait_for(self._ready, START_TIMEOUT_SECONDS, f"{relative_path} to start")

    def _ready(self):
        if self.process.poll() is not None:
            raise AssertionError(f"exited with {self.process.returncode}:\n{self.log()}")
        if self.ready_log is not None:
            return self.ready_log in self.log()
        if self.http:
            try:
                return get(self.url("/health"), timeout=1.0)[0] == 200
            except OSError:
                return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                return True
        except OSError:
            return False

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self):
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def close_log(self):
        self._log.close()

    def stop(self):
        """SIGTERM, then the exit code (the conventions require 0)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


def get(url, headers=None, data=None, method=None, timeout=20.0):
    """(status, headers, body bytes) for one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, headers=headers or {}, data=data, method=method)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def get_json(url, **kwargs):
    status, _, body = get(url, **kwargs)
    return status, json.loads(body)


def raw_request(port, method, path, headers=None, body=b""):
    """One request over http.client without following redirects: (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


class Stub:
    """An HTTP server in the test process answering every request with `status` and a JSON
    `body` after `delay_seconds`, recording each request's path and headers."""

    def __init__(self, body, status=200, delay_seconds=0.0):
        self.requests = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with stub._lock:
                    stub.requests.append((self.path, {k.lower(): v for k, v in
                                                      self.headers.items()}))
                if delay_seconds:
                    time.sleep(delay_seconds)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up first

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def request_count(self):
        with self._lock:
            return len(self.requests)

    def last_headers(self):
        with self._lock:
            return self.requests[-1][1]

    def close(self):
        self._server.shutdown()
        self._server.server_close()


def bookinfo_env(details=None, reviews=None, ratings=None):
    """Environment pointing productpage/reviews at peers on 127.0.0.1 (ports or None)."""
    env = {}
    for name, port in (("DETAILS", details), ("REVIEWS", reviews), ("RATINGS", ratings)):
        env[f"{name}_HOSTNAME"] = "127.0.0.1"
        # A port nothing listens on stands for a service that is down.
        env[f"{name}_SERVICE_PORT"] = str(port if port is not None else free_port())
    return env


class AppTestCase(unittest.TestCase):
    """Starts apps and stubs that are stopped after the test; every app must exit 0 on
    SIGTERM (the contract meshctl relies on to stop workloads)."""

    def start_app(self, *args, **kwargs):
        app = App(*args, **kwargs)
        self.addCleanup(self._stop_app, app)
        return app

    def _stop_app(self, app):
        code = app.stop()
        log = app.log()
        app.close_log()
        self.assertEqual(code, 0, f"exit code after SIGTERM; log:\n{log}")

    def start_stub(self, *args, **kwargs):
        stub = Stub(*args, **kwargs)
        self.addCleanup(stub.close)
        return stub
