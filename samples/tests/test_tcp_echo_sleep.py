# tcp-echo (prefixing each line, several connections and ports at once) and the sleep client
# workload (waits until SIGTERM and exits 0).
import socket
import unittest

import harness

TCP_ECHO_APP = "tcp-echo/tcp_echo.py"
SLEEP_APP = "sleep/sleep.py"


def connect(port):
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    return connection, connection.makefile("rb")


class TcpEchoTest(harness.AppTestCase):
    def test_lines_come_back_prefixed(self):
        app = self.start_app(TCP_ECHO_APP, args=["one"], http=False)
        first, first_reader = connect(app.port)
        second, second_reader = connect(app.port)
        try:
            # Interleaved on two open connections: each is served by its own thread.
            first.sendall(b"hello\n")
            second.sendall(b"world\n")
            self.assertEqual(second_reader.readline(), b"one world\n")
            self.assertEqual(first_reader.readline(), b"one hello\n")
            first.sendall(b"again\nand again\n")
            self.assertEqual(first_reader.readline(), b"one again\n")
            self.assertEqual(first_reader.readline(), b"one and again\n")
        finally:
            for closable in (first_reader, first, second_reader, second):
                closable.close()

    def test_several_ports_and_last_line_without_newline(self):
        ports = [harness.free_port(), harness.free_port()]
        app = self.start_app(TCP_ECHO_APP, args=["two"], http=False,
                             port=",".join(map(str, ports)))
        for port in ports:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(b"port %d" % port)
                connection.shutdown(socket.SHUT_WR)  # like `echo -n ... | nc`
                received = b""
                while chunk := connection.recv(1024):
                    received += chunk
                self.assertEqual(received, b"two port %d" % port)
        self.assertIn(f"listening on 127.0.0.1:{ports[1]}", app.log())


class SleepTest(harness.AppTestCase):
    def test_waits_until_sigterm(self):
        app = self.start_app(SLEEP_APP, port=0, ready_log="waiting")
        self.assertIsNone(app.process.poll())


if __name__ == "__main__":
    unittest.main()
