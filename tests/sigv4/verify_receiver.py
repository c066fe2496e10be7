#!/usr/bin/env python3
"""A Remote Write receiver that verifies AWS SigV4 signatures with botocore.

botocore is an implementation of SigV4 independent of the relay's (the Rust aws-sigv4
crate): for every POST it rebuilds the request from the headers the Authorization header
says were signed, recomputes the signature with the expected credentials, and answers
204 when it matches (and the date is fresh), 403 with the reason otherwise.

Usage: verify_receiver.py --access-key AK --secret-key SK --region R [--service aps]
                          [--token T]
Prints "listening on 127.0.0.1:PORT" once ready. GET /-/stats returns
{"accepted": n, "rejected": n, "reasons": [...], "paths": [...]}.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<sig>[0-9a-f]{64})$"
)


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.accepted = 0
        self.rejected = 0
        self.reasons = []
        self.paths = []


def verify(args, method, path, headers, body):
    """None when the signature verifies, else the reason."""
    auth = headers.get("authorization", "")
    m = AUTH.match(auth)
    if not m:
        return "no SigV4 Authorization header: %r" % auth[:80]
    if m["key"] != args.access_key:
        return "wrong access key %s" % m["key"]
    if (m["region"], m["service"]) != (args.region, args.service):
        return "wrong scope %s/%s" % (m["region"], m["service"])
    amz_date = headers.get("x-amz-date", "")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc
        )
    except ValueError:
        return "bad X-Amz-Date %r" % amz_date
    if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 300:
        return "X-Amz-Date too far from now"
    if args.token and headers.get("x-amz-security-token") != args.token:
        return "missing or wrong X-Amz-Security-Token"
    if "x-amz-content-sha256" in headers and headers[
        "x-amz-content-sha256"
    ] != hashlib.sha256(body).hexdigest():
        return "X-Amz-Content-Sha256 does not match the body"
    signed = m["signed"].split(";")
    if "host" not in signed:
        return "host is not signed"
    missing = [h for h in signed if h not in headers]
    if missing:
        return "signed headers missing from the request: %s" % missing
    request = AWSRequest(
        method=method,
        url="http://%s%s" % (headers["host"], path),
        data=body,
        headers={h: headers[h] for h in signed},
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(
        Credentials(args.access_key, args.secret_key, args.token), args.service, args.region
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, m["sig"]):
        return "signature mismatch (botocore canonical request:\n%s)" % canonical
    return None


def handler(args, state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def answer(self, status, text, content_type="text/plain"):
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/-/stats":
                with state.lock:
                    stats = {
                        "accepted": state.accepted,
                        "rejected": state.rejected,
                        "reasons": state.reasons[-20:],
                        "paths": state.paths[-20:],
                    }
                self.answer(200, json.dumps(stats), "application/json")
            else:
                self.answer(404, "not found\n")

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v.strip() for k, v in self.headers.items()}
            reason = verify(args, "POST", self.path, headers, body)
            with state.lock:
                if reason is None:
                    state.accepted += 1
                    state.paths.append(self.path)
                else:
                    state.rejected += 1
                    state.reasons.append(reason)
            if reason is None:
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.answer(403, "signature rejected: %s\n" % reason)

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--service", default="aps")
    parser.add_argument("--token", default=None)
    args = parser.parse_args()
    state = State()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(args, state))
    print("listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
