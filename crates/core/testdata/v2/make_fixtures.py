#!/usr/bin/env python3
"""Writes the generated fixtures under crates/core/testdata/{v1,v2}/ and expected.json.

The encoder is independent of prw-core: Google's protobuf runtime (PyPI `protobuf`), with
message classes compiled by protoc (PyPI `grpcio-tools`) from the hand-written
v2/remote_v2.proto and v1/remote_v1.proto, and snappy *block* compression from PyPI
`cramjam` (`cramjam.snappy.compress_raw`). The only hand-made bytes are the
decompression bomb and the random input, built byte by byte below with a comment each.

Setup and run (exact versions in ../README.md):
    python3 -m venv /tmp/fixvenv
    /tmp/fixvenv/bin/pip install protobuf==7.36.2 grpcio-tools==1.85.1 cramjam==2.14.0
    /tmp/fixvenv/bin/python crates/core/testdata/v2/make_fixtures.py

Output is deterministic: running it twice gives identical files.
"""

import gzip
import importlib
import json
import os
import random
import subprocess
import sys
import tempfile

import cramjam

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
V1_DIR = os.path.join(TESTDATA, "v1")
V2_DIR = HERE

V1_CONTENT_TYPE = "application/x-protobuf"
V2_CONTENT_TYPE = "application/x-protobuf;proto=io.prometheus.write.v2.Request"

# 2026-01-01T00:00:00Z in milliseconds: a fixed time so the output is reproducible.
T0 = 1767225600000


def compile_protos(out_dir):
    """Runs protoc (from grpcio-tools) on the schemas; returns (v1_pb2, v2_pb2, unpacked_pb2)."""
    for proto_dir, name in ((V1_DIR, "remote_v1.proto"), (V2_DIR, "remote_v2.proto"),
                            (V2_DIR, "unpacked_v2.proto")):
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", "-I", proto_dir,
             "--python_out=" + out_dir, os.path.join(proto_dir, name)],
            check=True,
        )
    sys.path.insert(0, out_dir)
    return (importlib.import_module("remote_v1_pb2"), importlib.import_module("remote_v2_pb2"),
            importlib.import_module("unpacked_v2_pb2"))


def snappy(raw):
    return bytes(cramjam.snappy.compress_raw(raw))


def write(directory, name, body, content_type, content_encoding="snappy"):
    with open(os.path.join(directory, name), "wb") as f:
        f.write(body)
    headers = "Content-Type: %s\n" % content_type
    if content_encoding:
        headers += "Content-Encoding: %s\n" % content_encoding
    stem = os.path.splitext(name)[0]
    with open(os.path.join(directory, stem + ".headers"), "w") as f:
        f.write(headers)


class Symbols:
    """v2 symbol table: symbols[0] == "", each string interned once."""

    def __init__(self):
        self.table = [""]
        self.index = {"": 0}

    def ref(self, s):
        if s not in self.index:
            self.index[s] = len(self.table)
            self.table.append(s)
        return self.index[s]

    def refs(self, labels):
        """labels: list of (name, value), already sorted by name."""
        out = []
        for name, value in labels:
            out += [self.ref(name), self.ref(value)]
        return out


def v2_valid(v2):
    """Four series: a counter with an exemplar, a gauge, an exponential native
    histogram and a custom-bucket (NHCB) histogram, each with metadata."""
    sym = Symbols()
    req = v2.Request()

    counter = req.timeseries.add()
    counter.labels_refs.extend(sym.refs([
        ("__name__", "http_requests_total"), ("code", "200"), ("job", "api")]))
    for i, v in enumerate([10.0, 11.0, 15.0]):
        counter.samples.add(value=v, timestamp=T0 + 1000 * i, start_timestamp=T0 - 60000)
    counter.exemplars.add(labels_refs=sym.refs([("trace_id", "4bf92f3577b34da6")]),
                          value=1.0, timestamp=T0 + 1500)
    counter.metadata.type = v2.Metadata.METRIC_TYPE_COUNTER
    counter.metadata.help_ref = sym.ref("Total HTTP requests.")

    gauge = req.timeseries.add()
    gauge.labels_refs.extend(sym.refs([
        ("__name__", "temperature_celsius"), ("job", "api"), ("room", "lab")]))
    gauge.samples.add(value=21.5, timestamp=T0)
    gauge.metadata.type = v2.Metadata.METRIC_TYPE_GAUGE
    gauge.metadata.help_ref = sym.ref("Room temperature.")
    gauge.metadata.unit_ref = sym.ref("celsius")

    # Exponential schema 0: zero bucket 1 + positive buckets 2, 3, 2 (deltas 2, +1, -1) = 8.
    hist = req.timeseries.add()
    hist.labels_refs.extend(sym.refs([
        ("__name__", "request_duration_seconds"), ("job", "api")]))
    h = hist.histograms.add()
    h.count_int = 8
    h.sum = 12.5
    h.schema = 0
    h.zero_threshold = 1e-128
    h.zero_count_int = 1
    h.positive_spans.add(offset=0, length=3)
    h.positive_deltas.extend([2, 1, -1])
    h.reset_hint = v2.Histogram.RESET_HINT_NO
    h.timestamp = T0
    h.start_timestamp = T0 - 60000
    hist.metadata.type = v2.Metadata.METRIC_TYPE_HISTOGRAM
    hist.metadata.help_ref = sym.ref("Request duration.")
    hist.metadata.unit_ref = sym.ref("seconds")

    # Custom buckets (schema -53): bounds 0.1, 0.5, 1 and +Inf; counts 1, 2, 2, 1 = 6.
    nhcb = req.timeseries.add()
    nhcb.labels_refs.extend(sym.refs([
        ("__name__", "payload_size_ratio"), ("job", "api")]))
    c = nhcb.histograms.add()
    c.count_int = 6
    c.sum = 3.25
    c.schema = -53
    c.positive_spans.add(offset=0, length=4)
    c.positive_deltas.extend([1, 1, 0, -1])
    c.custom_values.extend([0.1, 0.5, 1.0])
    c.timestamp = T0
    nhcb.metadata.type = v2.Metadata.METRIC_TYPE_HISTOGRAM

    req.symbols.extend(sym.table)
    return req


def v2_single(v2, labels_refs, symbols):
    req = v2.Request()
    req.symbols.extend(symbols)
    ts = req.timeseries.add()
    ts.labels_refs.extend(labels_refs)
    ts.samples.add(value=1.0, timestamp=T0)
    return req


def v1_bad_labels(v1):
    """One series whose labels are unsorted (job before instance), repeat the name
    `job`, and have no __name__."""
    req = v1.WriteRequest()
    ts = req.timeseries.add()
    for name, value in [("job", "a"), ("instance", "x:9100"), ("job", "b")]:
        ts.labels.add(name=name, value=value)
    ts.samples.add(value=1.0, timestamp=T0)
    return req


def v1_valid(v1):
    req = v1.WriteRequest()
    ts = req.timeseries.add()
    for name, value in [("__name__", "up"), ("instance", "x:9100"), ("job", "node")]:
        ts.labels.add(name=name, value=value)
    ts.samples.add(value=1.0, timestamp=T0)
    return req


def v1_exemplar_without_timestamp(v1):
    req = v1_valid(v1)
    ex = req.timeseries[0].exemplars.add(value=1.0)  # timestamp left 0 = missing
    ex.labels.add(name="trace_id", value="4bf92f3577b34da6")
    return req


def snappy_bomb():
    """~100 bytes of well-formed snappy block whose preamble declares 4 GiB - 1."""
    out = bytearray()
    n = 0xFFFFFFFF  # the largest length a snappy preamble can declare (u32)
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)  # preamble: ff ff ff ff 0f
    out += b"\x00a"  # literal tag (length 1), the byte 'a'
    for _ in range(31):
        out += b"\xfe\x01\x00"  # copy with 2-byte offset: length 64, offset 1 (repeat 'a')
    return bytes(out)


def random_bytes():
    """Deterministic noise that is neither a snappy block nor protobuf: the first five
    bytes are an over-long varint (no valid snappy preamble), and as protobuf 0xff starts
    a tag with wire type 7, which does not exist."""
    rng = random.Random(2026)
    return b"\xff" * 5 + bytes(rng.randrange(256) for _ in range(251))


def main():
    os.makedirs(V1_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        v1, v2, unpacked = compile_protos(tmp)

        def ser(msg):
            return msg.SerializeToString(deterministic=True)

        valid = ser(v2_valid(v2))
        write(V2_DIR, "valid.bin", snappy(valid), V2_CONTENT_TYPE)
        write(V2_DIR, "valid.pb", valid, V2_CONTENT_TYPE, content_encoding=None)
        base = ["", "__name__", "up", "job", "node"]
        write(V2_DIR, "label_ref_out_of_range.bin",
              snappy(ser(v2_single(v2, [1, 2, 3, 99], base))), V2_CONTENT_TYPE)
        write(V2_DIR, "labels_refs_odd.bin",
              snappy(ser(v2_single(v2, [1, 2, 3], base))), V2_CONTENT_TYPE)
        write(V2_DIR, "symbols_first_not_empty.bin",
              snappy(ser(v2_single(v2, [1, 2, 3, 4], ["x"] + base[1:]))), V2_CONTENT_TYPE)
        up = unpacked.UnpackedRequest()
        up.symbols.extend(base)
        ts = up.timeseries.add()
        ts.labels_refs.extend([1, 2, 3, 4])
        ts.samples.add(value=1.0, timestamp=T0)
        write(V2_DIR, "unpacked_labels_refs.bin", snappy(ser(up)), V2_CONTENT_TYPE)
        no_ts = v2_single(v2, [1, 2, 3, 4], base)
        no_ts.timeseries[0].exemplars.add(value=1.0)  # timestamp left 0 = missing
        write(V2_DIR, "exemplar_without_timestamp.bin", snappy(ser(no_ts)), V2_CONTENT_TYPE)

        write(V1_DIR, "bad_labels.bin", snappy(ser(v1_bad_labels(v1))), V1_CONTENT_TYPE)
        write(V1_DIR, "valid.bin", snappy(ser(v1_valid(v1))), V1_CONTENT_TYPE)
        write(V1_DIR, "exemplar_without_timestamp.bin",
              snappy(ser(v1_exemplar_without_timestamp(v1))), V1_CONTENT_TYPE)
        write(V1_DIR, "gzip.bin", gzip.compress(ser(v1_valid(v1)), mtime=0),
              V1_CONTENT_TYPE, content_encoding="gzip")
        write(V1_DIR, "snappy_bomb.bin", snappy_bomb(), V1_CONTENT_TYPE)
        write(V1_DIR, "random.bin", random_bytes(), V1_CONTENT_TYPE)

    print("wrote fixtures to %s and %s" % (V1_DIR, V2_DIR))


if __name__ == "__main__":
    main()
