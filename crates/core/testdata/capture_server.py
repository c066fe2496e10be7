#!/usr/bin/env python3
"""Remote-write capture endpoint for fixture recording (python3 stdlib only).

Listens on 127.0.0.1:<port> (0 = pick a free port; the bound port is written to
--port-file), answers every POST with 204, and saves each request as
<out>/NNN-<kind>.bin (the raw body, exactly as received) and <out>/NNN-<kind>.headers
(request line + headers, one per line). <kind> is "samples" when the first protobuf
field of the decoded body is WriteRequest.timeseries (1), "metadata" when it is
WriteRequest.metadata (3), else "other". The kind is read without a snappy decoder:
a snappy block starts with the varint decoded length and then a literal whose first
byte is the first byte of the decoded data (a block cannot start with a copy).
Exits by itself after --max requests.
"""

import argparse
import http.server
import os
import sys
import threading


def read_varint(buf, pos):
    value, shift = 0, 0
    while pos < len(buf):
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def first_decoded_byte(body):
    """The first byte of the snappy-decoded body, or None."""
    try:
        _, pos = read_varint(body, 0)
        tag = body[pos]
        if tag & 0x03 != 0:
            return None  # not a literal: not a valid block start
        extra = (tag >> 2) - 59  # 60..63 => 1..4 length bytes follow the tag
        pos += 1 + max(extra, 0)
        return body[pos]
    except (ValueError, IndexError):
        return None


def kind_of(body):
    return {0x0A: "samples", 0x1A: "metadata"}.get(first_decoded_byte(body), "other")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--max", type=int, default=8)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lock = threading.Lock()
    state = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                state["n"] += 1
                n = state["n"]
            if n <= args.max:
                stem = os.path.join(args.out, "%03d-%s" % (n, kind_of(body)))
                with open(stem + ".bin", "wb") as f:
                    f.write(body)
                with open(stem + ".headers", "w") as f:
                    f.write("%s %s %s\n" % (self.command, self.path, self.request_version))
                    for name, value in self.headers.items():
                        f.write("%s: %s\n" % (name, value))
                print("captured %s.bin (%d bytes)" % (stem, len(body)), file=sys.stderr)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if n >= args.max:
                threading.Thread(target=self.server.shutdown, daemon=True).start()

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
