# Bookinfo details and ratings: the JSON documents the other services and Istio's tasks expect.
import json
import unittest

import harness

DETAILS_APP = "bookinfo/src/details/details.py"
RATINGS_APP = "bookinfo/src/ratings/ratings.py"


class DetailsTest(harness.AppTestCase):
    def test_details_document(self):
        app = self.start_app(DETAILS_APP)
        status, body = harness.get_json(app.url("/details/7"))
        self.assertEqual(status, 200)
        self.assertEqual(body, {"id": 7, "author": "William Shakespeare", "year": 1595,
                                "type": "paperback", "pages": 200, "publisher": "PublisherA",
                                "language": "English", "ISBN-10": "1234567890",
                                "ISBN-13": "123-1234567890"})
        self.assertEqual(harness.get_json(app.url("/health")),
                         (200, {"status": "Details is healthy"}))
        self.assertEqual(harness.get(app.url("/details/seven"))[0], 400)
        self.assertEqual(harness.get(app.url("/nothing"))[0], 404)
        # One log line per request with method, path, Host and status.
        harness.wait_for(lambda: "GET /details/7 host=127.0.0.1:%d status=200" % app.port
                         in app.log(), 5, "the request log line")


class RatingsTest(harness.AppTestCase):
    def test_ratings_document_and_update(self):
        app = self.start_app(RATINGS_APP)
        self.assertEqual(harness.get_json(app.url("/ratings/0")),
                         (200, {"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}}))
        update = json.dumps({"Reviewer1": 1, "Reviewer2": 2}).encode()
        status, _, _ = harness.get(app.url("/ratings/3"), data=update, method="POST",
                                   headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertEqual(harness.get_json(app.url("/ratings/3"))[1]["ratings"],
                         {"Reviewer1": 1, "Reviewer2": 2})
        # Other products keep the defaults.
        self.assertEqual(harness.get_json(app.url("/ratings/0"))[1]["ratings"],
                         {"Reviewer1": 5, "Reviewer2": 4})
        self.assertEqual(harness.get(app.url("/ratings/x"))[0], 400)
        self.assertEqual(harness.get(app.url("/ratings/3"), data=b"not json",
                                     method="POST")[0], 400)
        self.assertEqual(harness.get_json(app.url("/health")),
                         (200, {"status": "Ratings is healthy"}))

    def test_unavailable_variant_answers_503(self):
        app = self.start_app(RATINGS_APP, env={"SERVICE_VERSION": "v-unavailable"})
        self.assertEqual(harness.get_json(app.url("/ratings/0")),
                         (503, {"error": "Service unavailable"}))

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        app = self.start_app(RATINGS_APP)
        connection = harness.http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
        try:
            for _ in range(3):
                connection.request("GET", "/ratings/0")
                response = connection.getresponse()
                self.assertEqual(response.status, 200)
                self.assertIsNotNone(response.getheader("Content-Length"))
                json.loads(response.read())
            self.assertEqual(app.log().count("GET /ratings/0"), 3)
        finally:
            connection.close()


if __name__ == "__main__":
    unittest.main()
