# Bookinfo "ratings" for meshd's demo mesh (samples/README.md): GET /ratings/<id> answers the
# stars each reviewer gave, POST /ratings/<id> replaces them (kept in memory, as the original v1
# does). SERVICE_VERSION selects the original's misbehaving variants used by resilience demos:
# v-faulty (half the requests fail with 503), v-delayed (half wait 7 s), v-unavailable (all 503),
# v-unhealthy (/health fails).
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "common"))
import sample_http  # noqa: E402

DEFAULT_RATINGS = {"Reviewer1": 5, "Reviewer2": 4}
DELAYED_SECONDS = 7.0

_added = {}
_added_lock = threading.Lock()


def ratings_of(product_id):
    with _added_lock:
        return dict(_added.get(product_id, DEFAULT_RATINGS))


class RatingsHandler(sample_http.SampleHandler):
    version = os.environ.get("SERVICE_VERSION", "v1")

    def route(self):
        path = self.path_only()
        if path == "/health":
            if self.version == "v-unhealthy":
                self.send_json(500, {"error": "Ratings is not healthy"})
            else:
                self.send_json(200, {"status": "Ratings is healthy"})
            return
        if not path.startswith("/ratings/"):
            self.send_json(404, {"error": "not found"})
            return
        try:
            product_id = int(path[len("/ratings/"):])
        except ValueError:
            self.send_json(400, {"error": "please provide numeric product ID"})
            return
        if self.command == "POST":
            self.update(product_id)
        elif self.command in ("GET", "HEAD"):
            if self.misbehave():
                return
            self.send_json(200, {"id": product_id, "ratings": ratings_of(product_id)})
        else:
            self.send_json(405, {"error": "method not allowed"})

    def update(self, product_id):
        try:
            ratings = json.loads(self.body.decode("utf-8"))
            valid = isinstance(ratings, dict) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in ratings.values())
        except (UnicodeDecodeError, ValueError):
            valid = False
        if not valid:
            self.send_json(400, {"error": "please provide valid ratings JSON"})
            return
        with _added_lock:
            _added[product_id] = ratings
        self.send_json(200, {"id": product_id, "ratings": ratings})

    def misbehave(self):
        """Applies the faulty variants; True when the response was already sent."""
        faulty = self.version == "v-faulty" and random.random() < 0.5
        if self.version == "v-unavailable" or faulty:
            self.send_json(503, {"error": "Service unavailable"})
            return True
        if self.version == "v-delayed" and random.random() < 0.5:
            time.sleep(DELAYED_SECONDS)
        return False


if __name__ == "__main__":
    sys.exit(sample_http.serve_http(RatingsHandler, sys.argv, 9080, "ratings"))
