# Bookinfo "productpage" for meshd's demo mesh (samples/README.md): the HTML page of one book,
# built from details and reviews, plus the JSON API under /api/v1/products. Its client behaviour
# is what the Istio tasks observe: details gets one 3 s attempt, reviews two 3 s attempts (so a
# 7 s ratings delay shows the error after about 6 s), and a logged-in user is sent on as the
# `end-user` header that routing rules match.
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "common"))
import page  # noqa: E402
import sample_http  # noqa: E402
import session  # noqa: E402

DETAILS_TIMEOUT = 3.0
REVIEWS_TIMEOUT = 3.0
REVIEWS_ATTEMPTS = 2
RATINGS_TIMEOUT = 3.0
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
STATIC_TYPES = {".css": "text/css", ".js": "application/javascript", ".html": "text/html"}

DETAILS_UNAVAILABLE = "Sorry, product details are currently unavailable for this book."
REVIEWS_UNAVAILABLE = "Sorry, product reviews are currently unavailable for this book."
RATINGS_UNAVAILABLE = "Sorry, product ratings are currently unavailable for this book."

SESSIONS = session.SessionCodec(os.environ.get("PRODUCTPAGE_SESSION_KEY", ""))
METRICS = page.RequestCounter()


def get_details(product_id, headers):
    url = sample_http.service_url("DETAILS", "details", f"/details/{product_id}")
    result = sample_http.get_json(url, headers, DETAILS_TIMEOUT)
    if result.ok:
        return 200, result.body
    return result.status or 500, {"error": DETAILS_UNAVAILABLE}


def get_reviews(product_id, headers):
    # Two attempts whatever the failure, as the original does; the fault-injection task relies
    # on this (a 7 s delay behind reviews gives up after 2 x 3 s).
    url = sample_http.service_url("REVIEWS", "reviews", f"/reviews/{product_id}")
    result = None
    for _ in range(REVIEWS_ATTEMPTS):
        result = sample_http.get_json(url, headers, REVIEWS_TIMEOUT)
        if result.ok:
            return 200, result.body
        sample_http.log_line(f"reviews call {url} failed: status={result.status} "
                             f"{result.failure}")
    return result.status or 500, {"error": REVIEWS_UNAVAILABLE}


def get_ratings(product_id, headers):
    url = sample_http.service_url("RATINGS", "ratings", f"/ratings/{product_id}")
    result = sample_http.get_json(url, headers, RATINGS_TIMEOUT)
    if result.ok:
        return 200, result.body
    return result.status or 500, {"error": RATINGS_UNAVAILABLE}


class ProductPageHandler(sample_http.SampleHandler):
    def send_response(self, code, message=None):
        METRICS.count(code)
        super().send_response(code, message)

    def user(self):
        return SESSIONS.user_from_cookie_header(self.headers.get("Cookie", ""))

    def outbound_headers(self):
        headers = sample_http.forwarded_headers(self.headers)
        user = self.user()
        if user:
            headers["end-user"] = user
        return headers

    def route(self):
        path = self.path_only()
        if path in ("/", "/index.html"):
            self.send_html(page.index_page())
        elif path == "/productpage":
            self.product_page()
        elif path == "/login" and self.command == "POST":
            self.login()
        elif path == "/logout":
            self.redirect("/productpage", SESSIONS.clear_cookie())
        elif path == "/health":
            self.send_json(200, {"status": "Product page is healthy"})
        elif path == "/metrics":
            self.send_body(200, METRICS.render().encode(), "text/plain; version=0.0.4")
        elif path.startswith("/static/"):
            self.static_file(path[len("/static/"):])
        elif path.startswith("/api/v1/products"):
            self.api(path[len("/api/v1/products"):])
        else:
            self.send_text(404, "not found\n")

    def send_html(self, html, status=200):
        self.send_body(status, html.encode("utf-8"), "text/html; charset=utf-8")

    def redirect(self, location, cookie):
        self.send_body(302, b"", "text/html; charset=utf-8",
                       [("Location", location), ("Set-Cookie", cookie)])

    def product_page(self):
        product_id = 0
        headers = self.outbound_headers()
        details_status, details = get_details(product_id, headers)
        reviews_status, reviews = get_reviews(product_id, headers)
        self.send_html(page.product_page(page.PRODUCTS[product_id], self.user(), details_status,
                                         details, reviews_status, reviews))

    def login(self):
        form = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"))
        user = (form.get("username") or [""])[0].strip()
        if not user:
            self.redirect("/productpage", SESSIONS.clear_cookie())
            return
        self.redirect("/productpage", SESSIONS.cookie_for(user))

    def static_file(self, name):
        # Only plain file names inside static/: no directories, so no way out of it.
        if not name or "/" in name or name.startswith("."):
            self.send_text(404, "not found\n")
            return
        file_path = os.path.join(STATIC_DIR, name)
        try:
            with open(file_path, "rb") as f:
                data = f.read()
        except OSError:
            self.send_text(404, "not found\n")
            return
        content_type = STATIC_TYPES.get(os.path.splitext(name)[1], "application/octet-stream")
        self.send_body(200, data, content_type)

    def api(self, rest):
        parts = [p for p in rest.split("/") if p]
        if not parts:
            self.send_json(200, [{"id": p["id"], "title": p["title"],
                                  "descriptionHtml": p["descriptionHtml"]}
                                 for p in page.PRODUCTS])
            return
        try:
            product_id = int(parts[0])
        except ValueError:
            self.send_json(400, {"error": "please provide numeric product id"})
            return
        headers = self.outbound_headers()
        if len(parts) == 1:
            status, body = get_details(product_id, headers)
        elif parts[1:] == ["reviews"]:
            status, body = get_reviews(product_id, headers)
        elif parts[1:] == ["ratings"]:
            status, body = get_ratings(product_id, headers)
        else:
            self.send_json(404, {"error": "not found"})
            return
        self.send_json(status, body)


if __name__ == "__main__":
    sys.exit(sample_http.serve_http(ProductPageHandler, sys.argv, 9080, "productpage"))
