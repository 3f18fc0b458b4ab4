# The tcp-echo server of meshd's demo mesh (samples/README.md): every line a client sends comes
# back prefixed by a word and a space ("one hello" for v1, "two hello" for v2), so the TCP
# traffic-shifting task can count which version answered each connection.
#   python3 tcp_echo.py PORTS [PREFIX]     PORTS: one port or a comma-separated list (9000,9001)
# Listens on BIND_ADDRESS (default 0.0.0.0); each connection gets its own thread.
import os
import socket
import socketserver
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import sample_http  # noqa: E402

DEFAULT_PORT = 9000
MAX_LINE = 65536
IDLE_TIMEOUT_SECONDS = 300


class EchoHandler(socketserver.StreamRequestHandler):
    timeout = IDLE_TIMEOUT_SECONDS

    def handle(self):
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        port = self.server.server_address[1]
        sample_http.log_line(f"connection from {peer} to port {port}")
        lines = 0
        try:
            while True:
                line = self.rfile.readline(MAX_LINE)
                if not line:
                    break
                # A last line without newline (nc closing its side) is echoed as it came.
                self.wfile.write(self.server.prefix + b" " + line)
                self.wfile.flush()
                lines += 1
        except OSError:
            pass
        sample_http.log_line(f"connection from {peer} closed after {lines} lines")


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, prefix):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.prefix = prefix
        super().__init__(address, EchoHandler)


def main(argv):
    ports = [int(p) for p in argv[1].split(",")] if len(argv) > 1 else [DEFAULT_PORT]
    prefix = (argv[2] if len(argv) > 2 else "hello").encode("utf-8")
    address = sample_http.bind_address()
    servers = [EchoServer((address, port), prefix) for port in ports]
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                                daemon=True) for s in servers]

    def start():
        for thread in threads:
            thread.start()
        for server in servers:
            sample_http.log_line(f"tcp-echo listening on {address}:{server.server_address[1]} "
                                 f"prefix {prefix.decode()}")

    def stop():
        for server in servers:
            server.shutdown()
            server.server_close()
        sample_http.log_line("tcp-echo stopped")

    return sample_http.run_until_signalled(start, stop)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
