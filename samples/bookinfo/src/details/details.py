# Bookinfo "details" (v1) for meshd's demo mesh (samples/README.md): GET /details/<id> answers the
# book's publication facts as JSON, as the original Ruby service does. No outbound calls.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "common"))
import sample_http  # noqa: E402


def book_details(product_id):
    return {
        "id": product_id,
        "author": "William Shakespeare",
        "year": 1595,
        "type": "paperback",
        "pages": 200,
        "publisher": "PublisherA",
        "language": "English",
        "ISBN-10": "1234567890",
        "ISBN-13": "123-1234567890",
    }


class DetailsHandler(sample_http.SampleHandler):
    def route(self):
        path = self.path_only()
        if path == "/health":
            self.send_json(200, {"status": "Details is healthy"})
        elif path.startswith("/details/") and self.command in ("GET", "HEAD"):
            text = path[len("/details/"):]
            try:
                product_id = int(text)
            except ValueError:
                self.send_json(400, {"error": "please provide numeric product id"})
                return
            self.send_json(200, book_details(product_id))
        else:
            self.send_json(404, {"error": "not found"})


if __name__ == "__main__":
    sys.exit(sample_http.serve_http(DetailsHandler, sys.argv, 9080, "details"))
