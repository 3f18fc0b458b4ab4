# Bookinfo "reviews" for meshd's demo mesh (samples/README.md): GET /reviews/<id> answers two book
# reviews as JSON. One program for the three versions: v1 shows no stars and calls nobody; v2
# (black stars) and v3 (red stars) ask ratings for the stars, with the original's client timeouts
# (10 s for v2, 2.5 s for v3) which the fault-injection and timeout tasks depend on.
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "common"))
import sample_http  # noqa: E402

REVIEWS = (
    ("Reviewer1",
     "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!"),
    ("Reviewer2",
     "Absolutely fun and entertaining. The play lacks thematic depth when compared to other "
     "plays by Shakespeare."),
)
RATINGS_UNAVAILABLE = "Ratings service is currently unavailable"


class Version:
    """Which reviews this process is: SERVICE_VERSION (v1, v2, v3) when set, otherwise the
    original's ENABLE_RATINGS and STAR_COLOR (default black)."""

    def __init__(self, environ):
        version = environ.get("SERVICE_VERSION", "")
        if version in ("v1", "v2", "v3"):
            self.ratings_enabled = version != "v1"
            self.star_color = "red" if version == "v3" else "black"
        else:
            self.ratings_enabled = environ.get("ENABLE_RATINGS", "false").lower() == "true"
            self.star_color = environ.get("STAR_COLOR", "black")
        # The original's v2 waits 10 s for ratings, v3 only 2.5 s: with a 7 s ratings delay the
        # v2 call outlives productpage's 3 s timeout, the v3 call does not.
        self.ratings_timeout = 10.0 if self.star_color == "black" else 2.5


VERSION = Version(os.environ)
POD_NAME = os.environ.get("POD_NAME") or socket.gethostname()
CLUSTER_NAME = os.environ.get("CLUSTER_NAME", "null")


def reviews_document(product_id, ratings):
    """The response body; `ratings` maps reviewer to stars, or is None when ratings failed.
    v1 (ratings disabled) has no "rating" member at all."""
    reviews = []
    for reviewer, text in REVIEWS:
        review = {"reviewer": reviewer, "text": text}
        if VERSION.ratings_enabled:
            stars = ratings.get(reviewer) if ratings is not None else None
            if isinstance(stars, int):
                review["rating"] = {"stars": stars, "color": VERSION.star_color}
            else:
                review["rating"] = {"error": RATINGS_UNAVAILABLE}
        reviews.append(review)
    return {"id": str(product_id), "podname": POD_NAME, "clustername": CLUSTER_NAME,
            "reviews": reviews}


def fetch_ratings(product_id, headers):
    url = sample_http.service_url("RATINGS", "ratings", f"/ratings/{product_id}")
    result = sample_http.get_json(url, headers, VERSION.ratings_timeout)
    if not result.ok or not isinstance(result.body.get("ratings"), dict):
        sample_http.log_line(f"ratings call {url} failed: status={result.status} "
                             f"{result.failure}")
        return None
    return result.body["ratings"]


class ReviewsHandler(sample_http.SampleHandler):
    def route(self):
        path = self.path_only()
        if path == "/health":
            self.send_json(200, {"status": "Reviews is healthy"})
            return
        if not path.startswith("/reviews/") or self.command not in ("GET", "HEAD"):
            self.send_json(404, {"error": "not found"})
            return
        try:
            product_id = int(path[len("/reviews/"):])
        except ValueError:
            self.send_json(400, {"error": "please provide numeric product id"})
            return
        ratings = None
        if VERSION.ratings_enabled:
            ratings = fetch_ratings(product_id, sample_http.forwarded_headers(self.headers))
        self.send_json(200, reviews_document(product_id, ratings))


if __name__ == "__main__":
    sys.exit(sample_http.serve_http(ReviewsHandler, sys.argv, 9080, "reviews"))
