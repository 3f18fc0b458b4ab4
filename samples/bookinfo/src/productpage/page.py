# The HTML productpage renders (and its request counter for /metrics). The visible strings are the
# ones Istio's tasks tell users to look for: the title "Simple Bookstore App", the sections "Book
# Details" and "Book Reviews", the "Error fetching product ..." messages, and stars whose colour
# (`color="black"` for reviews v2, `color="red"` for v3, none for v1) tells the versions apart.
import html
import threading

PRODUCTS = [{
    "id": 0,
    "title": "The Comedy of Errors",
    "descriptionHtml": (
        '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: '
        "The Comedy of Errors is one of <b>William Shakespeare's</b> early plays. It is his "
        "shortest and one of his most farcical comedies, with a major part of the humour coming "
        "from slapstick and mistaken identity, in addition to puns and word play."),
}]

MAX_STARS = 5
DETAIL_ROWS = (("Type", "type"), ("Pages", "pages"), ("Publisher", "publisher"),
               ("Language", "language"), ("ISBN-10", "ISBN-10"), ("ISBN-13", "ISBN-13"))


def _e(value):
    return html.escape(str(value), quote=True)


def _document(title, body):
    return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n"
            "<link rel=\"stylesheet\" href=\"static/bookinfo.css\">\n</head>\n"
            f"<body>\n{body}</body>\n</html>\n")


def index_page():
    body = ("<h2>Hello! This is the Bookinfo sample of the meshd demo mesh.</h2>\n"
            "<p>productpage asks details and reviews about the book; reviews v2 and v3 ask "
            "ratings for its stars.</p>\n"
            "<p><a href=\"productpage?u=normal\">Normal user</a></p>\n"
            "<p><a href=\"productpage?u=test\">Test user</a></p>\n")
    return _document("Simple Bookstore App", body)


def _login_bar(user):
    if user:
        return (f"<div class=\"user\">Signed in as <b id=\"user\">{_e(user)}</b> "
                "<a href=\"logout\" class=\"button\">sign out</a></div>\n")
    return ("<form class=\"user\" method=\"post\" action=\"login\">\n"
            "<input type=\"text\" name=\"username\" placeholder=\"User Name\">\n"
            "<input type=\"password\" name=\"passwd\" placeholder=\"Password\">\n"
            "<button type=\"submit\">Sign in</button>\n</form>\n")


def _details_section(status, details):
    out = ["<section id=\"details\">\n<h4>Book Details</h4>\n"]
    if status == 200:
        out.append("<dl>\n")
        for label, key in DETAIL_ROWS:
            out.append(f"<dt>{_e(label)}:</dt><dd>{_e(details.get(key, ''))}</dd>\n")
        out.append("</dl>\n")
    else:
        out.append("<h4 class=\"error\">Error fetching product details!</h4>\n")
        out.append(f"<p>{_e(details.get('error', ''))}</p>\n")
    out.append("</section>\n")
    return "".join(out)


def _stars(rating):
    color = _e(rating.get("color", "black"))
    stars = max(0, min(MAX_STARS, int(rating.get("stars", 0))))
    filled = "<span class=\"star\">&#9733;</span>" * stars
    empty = "<span class=\"star-empty\">&#9734;</span>" * (MAX_STARS - stars)
    return f"<font color=\"{color}\">{filled}{empty}</font>\n"


def _reviews_section(status, reviews):
    out = ["<section id=\"reviews\">\n<h4>Book Reviews</h4>\n"]
    if status == 200:
        for review in reviews.get("reviews", []):
            out.append("<blockquote>\n")
            out.append(f"<p>{_e(review.get('text', ''))}</p>\n")
            out.append(f"<small>{_e(review.get('reviewer', ''))}</small>\n")
            rating = review.get("rating")
            if isinstance(rating, dict):
                if "stars" in rating:
                    out.append(_stars(rating))
                elif "error" in rating:
                    out.append(f"<p><i>{_e(rating['error'])}</i></p>\n")
            out.append("</blockquote>\n")
        if reviews.get("podname"):
            out.append(f"<dl><dt>Reviews served by:</dt>"
                       f"<dd><u id=\"podname\">{_e(reviews['podname'])}</u></dd></dl>\n")
    else:
        out.append("<h4 class=\"error\">Error fetching product reviews!</h4>\n")
        out.append(f"<p>{_e(reviews.get('error', ''))}</p>\n")
    out.append("</section>\n")
    return "".join(out)


def product_page(product, user, details_status, details, reviews_status, reviews):
    body = ("<nav><a href=\".\">BookInfo Sample</a>\n" + _login_bar(user) + "</nav>\n"
            f"<h3 class=\"title\">{_e(product['title'])}</h3>\n"
            f"<p class=\"summary\">{product['descriptionHtml']}</p>\n"
            + _details_section(details_status, details)
            + _reviews_section(reviews_status, reviews))
    return _document("Simple Bookstore App", body)


class RequestCounter:
    """Responses by status code, exposed in Prometheus text format on /metrics."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_status = {}

    def count(self, status):
        code = int(status)
        with self._lock:
            self._by_status[code] = self._by_status.get(code, 0) + 1

    def render(self):
        with self._lock:
            counts = sorted(self._by_status.items())
        lines = ["# HELP productpage_responses_total Responses sent, by status code.",
                 "# TYPE productpage_responses_total counter"]
        lines += [f"productpage_responses_total{{code=\"{code}\"}} {n}" for code, n in counts]
        return "\n".join(lines) + "\n"
