# Bookinfo reviews: v1/v2/v3 documents, the ratings call (headers forwarded, failure and timeout
# turning into the "Ratings service is currently unavailable" rating).
import time
import unittest

import harness

REVIEWS_APP = "bookinfo/src/reviews/reviews.py"
RATINGS_APP = "bookinfo/src/ratings/ratings.py"
TEXT1 = "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!"
TEXT2 = ("Absolutely fun and entertaining. The play lacks thematic depth when compared to other "
         "plays by Shakespeare.")
UNAVAILABLE = {"error": "Ratings service is currently unavailable"}


class ReviewsTest(harness.AppTestCase):
    def reviews(self, env, ratings_port=None):
        env = dict(env, POD_NAME="reviews-test-pod", **harness.bookinfo_env(ratings=ratings_port))
        app = self.start_app(REVIEWS_APP, env=env)
        started = time.monotonic()
        status, body = harness.get_json(app.url("/reviews/0"),
                                        headers={"end-user": "jason", "x-request-id": "rid-1"})
        self.elapsed = time.monotonic() - started
        self.assertEqual(status, 200)
        self.assertEqual(body["id"], "0")
        self.assertEqual(body["podname"], "reviews-test-pod")
        self.assertEqual([(r["reviewer"], r["text"]) for r in body["reviews"]],
                         [("Reviewer1", TEXT1), ("Reviewer2", TEXT2)])
        return [r.get("rating") for r in body["reviews"]]

    def test_v1_has_no_rating_and_calls_nobody(self):
        ratings = self.start_stub({"id": 0, "ratings": {"Reviewer1": 1, "Reviewer2": 1}})
        self.assertEqual(self.reviews({"SERVICE_VERSION": "v1"}, ratings.port), [None, None])
        self.assertEqual(ratings.request_count(), 0)

    def test_v2_black_stars_from_ratings(self):
        ratings = self.start_app(RATINGS_APP)
        self.assertEqual(self.reviews({"SERVICE_VERSION": "v2"}, ratings.port),
                         [{"stars": 5, "color": "black"}, {"stars": 4, "color": "black"}])

    def test_v3_red_stars_and_forwarded_headers(self):
        ratings = self.start_stub({"id": 0, "ratings": {"Reviewer1": 2, "Reviewer2": 3}})
        self.assertEqual(self.reviews({"SERVICE_VERSION": "v3"}, ratings.port),
                         [{"stars": 2, "color": "red"}, {"stars": 3, "color": "red"}])
        self.assertEqual(ratings.requests[0][0], "/ratings/0")
        headers = ratings.last_headers()
        self.assertEqual(headers.get("end-user"), "jason")
        self.assertEqual(headers.get("x-request-id"), "rid-1")

    def test_original_environment_selects_the_version(self):
        ratings = self.start_app(RATINGS_APP)
        self.assertEqual(self.reviews({"ENABLE_RATINGS": "true", "STAR_COLOR": "red"},
                                      ratings.port)[0], {"stars": 5, "color": "red"})

    def test_ratings_down(self):
        self.assertEqual(self.reviews({"SERVICE_VERSION": "v2"}), [UNAVAILABLE, UNAVAILABLE])

    def test_ratings_error_status(self):
        ratings = self.start_stub({"error": "Service unavailable"}, status=503)
        self.assertEqual(self.reviews({"SERVICE_VERSION": "v2"}, ratings.port),
                         [UNAVAILABLE, UNAVAILABLE])

    def test_v3_gives_up_on_slow_ratings_after_its_timeout(self):
        # v3 waits 2.5 s for ratings; the stub would answer after 8 s.
        ratings = self.start_stub({"id": 0, "ratings": {"Reviewer1": 5}}, delay_seconds=8.0)
        self.assertEqual(self.reviews({"SERVICE_VERSION": "v3"}, ratings.port),
                         [UNAVAILABLE, UNAVAILABLE])
        self.assertGreaterEqual(self.elapsed, 2.4)
        self.assertLess(self.elapsed, 7.0)
        self.assertEqual(ratings.request_count(), 1)


if __name__ == "__main__":
    unittest.main()
