# grpc-echo (Node, @grpc/grpc-js): unary calls answered with the version, a server-streaming call
# in order, and a status error carried to the client intact. Skipped when node or the npm packages
# are missing (the setup script installs both).
import os
import shutil
import subprocess
import unittest

import harness

SERVER = "grpc-echo/server.js"
CLIENT = os.path.join(harness.SAMPLES_DIR, "grpc-echo", "client.js")
REPO_NODE_MODULES = os.path.join(os.path.dirname(harness.SAMPLES_DIR), "node_modules")


@unittest.skipUnless(shutil.which("node") and
                     os.path.isdir(os.path.join(REPO_NODE_MODULES, "@grpc", "grpc-js")),
                     "node and @grpc/grpc-js are needed")
class GrpcEchoTest(harness.AppTestCase):
    def client(self, port, *args):
        result = subprocess.run(["node", CLIENT, f"127.0.0.1:{port}", *map(str, args)],
                                capture_output=True, text=True, timeout=60)
        return result.returncode, result.stdout.split("\n")[:-1]

    def start_server(self, version):
        return self.start_app(SERVER, interpreter="node", http=False,
                              env={"SERVICE_VERSION": version})

    def test_unary_calls_name_the_version(self):
        app = self.start_server("v2")
        code, lines = self.client(app.port, "say", 3)
        self.assertEqual(code, 0, lines)
        self.assertEqual(lines, ["v2", "v2", "v2"])

    def test_server_streaming_in_order(self):
        app = self.start_server("v1")
        code, lines = self.client(app.port, "stream", 200)
        self.assertEqual(code, 0, lines)
        self.assertEqual(lines, ["stream v1 200"])

    def test_status_error_reaches_the_client(self):
        app = self.start_server("v1")
        code, lines = self.client(app.port, "fail", 5, "no such echo")
        self.assertEqual(code, 0, lines)
        self.assertEqual(lines, ["status 5 no such echo"])

    def test_unreachable_server_is_an_error(self):
        code, lines = self.client(harness.free_port(), "say", 1)
        self.assertEqual(code, 1)
        self.assertTrue(lines and lines[0].startswith("error 14 "), lines)


if __name__ == "__main__":
    unittest.main()
