# httpbin: the endpoints Istio's tasks call and the version header the mirroring task reads.
import json
import time
import unittest

import harness

HTTPBIN_APP = "httpbin/httpbin.py"


class HttpbinTest(harness.AppTestCase):
    def setUp(self):
        self.app = self.start_app(HTTPBIN_APP, env={"SERVICE_VERSION": "v2"})

    def test_status_codes(self):
        for code in (200, 404, 500, 503):
            status, headers, _ = harness.get(self.app.url(f"/status/{code}"))
            self.assertEqual(status, code)
            self.assertEqual(headers["x-httpbin-version"], "v2")
        status, headers, body = harness.get(self.app.url("/status/418"))
        self.assertEqual(status, 418)
        self.assertIn(b"teapot", body)
        self.assertEqual(harness.raw_request(self.app.port, "GET", "/status/204")[0], 204)
        self.assertEqual(harness.get(self.app.url("/status/abc"))[0], 400)
        self.assertEqual(harness.get(self.app.url("/status/99"))[0], 400)

    def test_headers_ip_get(self):
        status, body = harness.get_json(self.app.url("/headers"),
                                        headers={"x-custom-thing": "yes", "end-user": "jason"})
        self.assertEqual(status, 200)
        self.assertEqual(body["headers"]["X-Custom-Thing"], "yes")
        self.assertEqual(body["headers"]["End-User"], "jason")
        self.assertEqual(body["headers"]["Host"], f"127.0.0.1:{self.app.port}")
        self.assertEqual(harness.get_json(self.app.url("/ip")), (200, {"origin": "127.0.0.1"}))
        self.assertEqual(harness.get_json(self.app.url("/ip"),
                                          headers={"X-Forwarded-For": "10.1.2.3, 10.0.0.1"}),
                         (200, {"origin": "10.1.2.3"}))
        status, body = harness.get_json(self.app.url("/get?show_env=1&a=b"))
        self.assertEqual(status, 200)
        self.assertEqual(body["args"], {"show_env": "1", "a": "b"})
        self.assertEqual(body["url"], f"http://127.0.0.1:{self.app.port}/get?show_env=1&a=b")
        self.assertEqual(harness.get(self.app.url("/get"), data=b"x", method="POST")[0], 405)

    def test_post_and_anything_echo_the_body(self):
        payload = json.dumps({"hello": "mesh"}).encode()
        status, body = harness.get_json(self.app.url("/post"), data=payload, method="POST",
                                        headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertEqual(body["data"], payload.decode())
        self.assertEqual(body["json"], {"hello": "mesh"})
        status, body = harness.get_json(self.app.url("/anything/x"), data=b"a=1&b=2",
                                        method="PUT")
        self.assertEqual(status, 200)
        self.assertEqual((body["method"], body["form"]), ("PUT", {"a": "1", "b": "2"}))

    def test_delay(self):
        started = time.monotonic()
        status, body = harness.get_json(self.app.url("/delay/1"))
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertIn("headers", body)
        self.assertEqual(harness.get(self.app.url("/delay/nan"))[0], 400)

    def test_request_log_names_method_path_host_status(self):
        harness.get(self.app.url("/headers"), headers={"Host": "httpbin:8000"})
        harness.wait_for(lambda: "GET /headers host=httpbin:8000 status=200" in self.app.log(),
                         5, "the request log line")


if __name__ == "__main__":
    unittest.main()
