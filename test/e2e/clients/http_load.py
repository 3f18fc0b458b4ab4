#!/usr/bin/env python3
"""A bounded HTTP load for end-to-end tests, run inside a workload with `meshctl exec` so its
requests go through that workload's sidecar (test/e2e, docs/e2e.md).

usage: http_load.py URL TOTAL CONCURRENCY [HEADER]

Sends TOTAL GET requests to URL, CONCURRENCY at a time (each with a 10 s timeout), and prints one
JSON object: {"statuses": {"200": n, "503": m, "error": k}, "header": {value: n, ...}} where
"header" counts the values of the response header HEADER (when given; "" when absent).
"""
import collections
import concurrent.futures
import json
import sys
import urllib.error
import urllib.request


def one_request(url, header):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
            return str(response.status), response.headers.get(header, "") if header else ""
    except urllib.error.HTTPError as error:
        error.read()
        return str(error.code), error.headers.get(header, "") if header else ""
    except OSError:
        return "error", ""


def main(argv):
    url, total, concurrency = argv[1], int(argv[2]), int(argv[3])
    header = argv[4] if len(argv) > 4 else None
    statuses = collections.Counter()
    values = collections.Counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        for status, value in pool.map(lambda _: one_request(url, header), range(total)):
            statuses[status] += 1
            if header:
                values[value] += 1
    print(json.dumps({"statuses": statuses, "header": values}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
