# Bookinfo productpage: the page and API built from details and reviews, login and the end-user
# header, header forwarding, and the error strings and attempts Istio's tasks observe when a
# backend is down or slow.
import re
import time
import unittest
import urllib.parse

import harness

PRODUCTPAGE_APP = "bookinfo/src/productpage/productpage.py"
DETAILS_APP = "bookinfo/src/details/details.py"
REVIEWS_APP = "bookinfo/src/reviews/reviews.py"
RATINGS_APP = "bookinfo/src/ratings/ratings.py"

DETAILS_DOC = {"id": 0, "author": "William Shakespeare", "year": 1595, "type": "paperback",
               "pages": 200, "publisher": "PublisherA", "language": "English",
               "ISBN-10": "1234567890", "ISBN-13": "123-1234567890"}
REVIEWS_DOC = {"id": "0", "podname": "stub", "clustername": "null", "reviews": [
    {"reviewer": "Reviewer1", "text": "first review"},
    {"reviewer": "Reviewer2", "text": "second review"}]}
TRACING = {"x-request-id": "7d3a9c1e-rid", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-"
           "b7ad6b7169203331-01", "tracestate": "congo=t61rcWkgMzE", "b3": "80f198ee56343ba8-"
           "e457b5a2e4d86bd1-1", "x-b3-traceid": "80f198ee56343ba864fe8b2a57d3eff7",
           "x-b3-spanid": "e457b5a2e4d86bd1", "x-b3-sampled": "1", "x-ot-span-context": "ot-ctx"}


class ProductPageTest(harness.AppTestCase):
    def productpage(self, details=None, reviews=None, ratings=None):
        return self.start_app(PRODUCTPAGE_APP,
                              env=harness.bookinfo_env(details=details, reviews=reviews,
                                                       ratings=ratings))

    def page(self, app, headers=None):
        status, _, body = harness.get(app.url("/productpage"), headers=headers)
        self.assertEqual(status, 200)
        return body.decode()

    def test_page_with_details_and_reviews_v1(self):
        details = self.start_app(DETAILS_APP)
        reviews = self.start_app(REVIEWS_APP, env={"SERVICE_VERSION": "v1",
                                                   "POD_NAME": "reviews-v1-pod"})
        app = self.productpage(details=details.port, reviews=reviews.port)
        html = self.page(app)
        self.assertIn("<title>Simple Bookstore App</title>", html)
        self.assertIn("The Comedy of Errors", html)
        self.assertIn("Book Details", html)
        self.assertIn("Book Reviews", html)
        self.assertIn("PublisherA", html)
        self.assertIn("123-1234567890", html)
        self.assertIn("An extremely entertaining play by Shakespeare.", html)
        self.assertIn("reviews-v1-pod", html)
        self.assertNotIn("color=", html)  # v1: no stars
        self.assertNotIn("Error fetching", html)
        # Every app logs method, path, Host and status per request.
        self.assertIn(f"GET /reviews/0 host=127.0.0.1:{reviews.port} status=200", reviews.log())

    def test_stars_tell_reviews_versions_apart(self):
        details = self.start_app(DETAILS_APP)
        ratings = self.start_app(RATINGS_APP)
        for version, color in (("v2", "black"), ("v3", "red")):
            env = dict(harness.bookinfo_env(ratings=ratings.port), SERVICE_VERSION=version)
            reviews = self.start_app(REVIEWS_APP, env=env)
            app = self.productpage(details=details.port, reviews=reviews.port)
            html = self.page(app)
            self.assertEqual(html.count(f'<font color="{color}">'), 2, html)
            self.assertEqual(html.count('class="star"'), 9)  # 5 + 4 stars
            other = "red" if color == "black" else "black"
            self.assertNotIn(f'color="{other}"', html)

    def test_login_sends_end_user_and_forwards_tracing_headers(self):
        details = self.start_stub(DETAILS_DOC)
        reviews = self.start_stub(REVIEWS_DOC)
        app = self.productpage(details=details.port, reviews=reviews.port)

        self.page(app, headers=TRACING)
        for stub in (details, reviews):
            headers = stub.last_headers()
            self.assertNotIn("end-user", headers)
            for name, value in TRACING.items():
                self.assertEqual(headers.get(name), value, name)

        status, response_headers, _ = harness.raw_request(
            app.port, "POST", "/login", body=urllib.parse.urlencode({"username": "jason",
                                                                     "passwd": "x"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 302)
        self.assertEqual(response_headers["Location"], "/productpage")
        cookie = response_headers["Set-Cookie"].split(";")[0]
        self.assertTrue(cookie.startswith("session="))

        html = self.page(app, headers={"Cookie": cookie, "x-request-id": "second"})
        self.assertIn("jason", html)
        for stub in (details, reviews):
            self.assertEqual(stub.last_headers().get("end-user"), "jason")
            self.assertEqual(stub.last_headers().get("x-request-id"), "second")

        # A cookie not signed by productpage logs nobody in.
        forged = "session=" + cookie.split("=", 1)[1].split(".")[0] + ".0000"
        self.page(app, headers={"Cookie": forged})
        self.assertNotIn("end-user", reviews.last_headers())

        status, response_headers, _ = harness.raw_request(app.port, "GET", "/logout",
                                                          headers={"Cookie": cookie})
        self.assertEqual(status, 302)
        self.assertIn("Max-Age=0", response_headers["Set-Cookie"])

    def test_calls_go_through_http_proxy_by_service_name(self):
        # meshctl's local mode: the sidecar is the HTTP proxy and resolves the service names.
        proxy = self.start_stub(DETAILS_DOC)
        app = self.start_app(PRODUCTPAGE_APP,
                             env={"http_proxy": f"http://127.0.0.1:{proxy.port}"})
        self.page(app)
        targets = sorted((path, headers.get("host")) for path, headers in proxy.requests)
        self.assertEqual(targets, [("http://details:9080/details/0", "details:9080"),
                                   ("http://reviews:9080/reviews/0", "reviews:9080")])

    def test_errors_when_details_and_reviews_are_down(self):
        app = self.productpage()  # nothing listens on the peers' ports
        html = self.page(app)
        self.assertIn("Error fetching product details!", html)
        self.assertIn("Sorry, product details are currently unavailable for this book.", html)
        self.assertIn("Error fetching product reviews!", html)
        self.assertIn("Sorry, product reviews are currently unavailable for this book.", html)

    def test_reviews_error_status_is_tried_twice(self):
        details = self.start_stub(DETAILS_DOC)
        reviews = self.start_stub({"error": "unavailable"}, status=503)
        app = self.productpage(details=details.port, reviews=reviews.port)
        html = self.page(app)
        self.assertIn("Error fetching product reviews!", html)
        self.assertNotIn("Error fetching product details!", html)
        self.assertEqual(reviews.request_count(), 2)
        self.assertEqual(details.request_count(), 1)
        self.assertEqual(harness.get_json(app.url("/api/v1/products/0/reviews")),
                         (503, {"error": "Sorry, product reviews are currently unavailable for "
                                         "this book."}))

    def test_slow_backends_time_out(self):
        # details: one 3 s attempt; reviews: two 3 s attempts; the stubs would take 20 s.
        details = self.start_stub(DETAILS_DOC, delay_seconds=20.0)
        reviews = self.start_stub(REVIEWS_DOC, delay_seconds=20.0)
        app = self.productpage(details=details.port, reviews=reviews.port)
        started = time.monotonic()
        html = self.page(app)
        elapsed = time.monotonic() - started
        self.assertIn("Error fetching product details!", html)
        self.assertIn("Sorry, product reviews are currently unavailable for this book.", html)
        self.assertEqual(details.request_count(), 1)
        self.assertEqual(reviews.request_count(), 2)
        self.assertGreaterEqual(elapsed, 8.9)  # 3 s + 2 x 3 s, never less
        self.assertLess(elapsed, 19.0)

    def test_api_and_other_routes(self):
        details = self.start_app(DETAILS_APP)
        ratings = self.start_app(RATINGS_APP)
        reviews = self.start_app(REVIEWS_APP, env=dict(
            harness.bookinfo_env(ratings=ratings.port), SERVICE_VERSION="v2"))
        app = self.productpage(details=details.port, reviews=reviews.port, ratings=ratings.port)

        status, products = harness.get_json(app.url("/api/v1/products"))
        self.assertEqual(status, 200)
        self.assertEqual([(p["id"], p["title"]) for p in products], [(0, "The Comedy of Errors")])
        self.assertEqual(harness.get_json(app.url("/api/v1/products/0")), (200, DETAILS_DOC))
        status, body = harness.get_json(app.url("/api/v1/products/0/reviews"))
        self.assertEqual(status, 200)
        self.assertEqual(body["reviews"][0]["rating"], {"stars": 5, "color": "black"})
        self.assertEqual(harness.get_json(app.url("/api/v1/products/0/ratings")),
                         (200, {"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}}))
        self.assertEqual(harness.get(app.url("/api/v1/products/zero"))[0], 400)

        self.assertEqual(harness.get(app.url("/health"))[0], 200)
        status, _, body = harness.get(app.url("/"))
        self.assertEqual(status, 200)
        self.assertIn(b"productpage", body)
        status, headers, _ = harness.get(app.url("/static/bookinfo.css"))
        self.assertEqual((status, headers["Content-Type"]), (200, "text/css"))
        self.assertEqual(harness.raw_request(app.port, "GET", "/static/../productpage.py")[0],
                         404)
        status, _, body = harness.get(app.url("/metrics"))
        self.assertEqual(status, 200)
        self.assertRegex(body.decode(),
                         re.compile(r'productpage_responses_total\{code="200"\} \d+'))


if __name__ == "__main__":
    unittest.main()
