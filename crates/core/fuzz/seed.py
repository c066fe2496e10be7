#!/usr/bin/env python3
"""Seeds the fuzz corpora from crates/core/testdata (python3 stdlib only).

decode_validate gets the bodies as stored (snappy); facts gets them decoded; and
validate_paths gets them decoded behind a limits byte (0 = default limits, 7 and 42 =
small limits, see check.rs `limits_from`). Run from anywhere; existing files are kept.
"""
import hashlib
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
TESTDATA = FUZZ.parent / "testdata"


def unsnappy(b: bytes) -> bytes:
    """Snappy block format decoder (enough for seeding; raises on anything odd)."""
    i = n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            break
    out = bytearray()
    while i < len(b):
        tag = b[i]
        i += 1
        kind = tag & 3
        if kind == 0:
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(b[i : i + extra], "little")
                i += extra
            length += 1
            out += b[i : i + length]
            i += length
            continue
        if kind == 1:
            length = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | b[i]
            i += 1
        elif kind == 2:
            length = (tag >> 2) + 1
            offset = int.from_bytes(b[i : i + 2], "little")
            i += 2
        else:
            length = (tag >> 2) + 1
            offset = int.from_bytes(b[i : i + 4], "little")
            i += 4
        for _ in range(length):
            out.append(out[-offset])
    if len(out) != n:
        raise ValueError("length mismatch")
    return bytes(out)


def put(target: str, data: bytes) -> None:
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


for path in sorted(TESTDATA.rglob("*")):
    if path.suffix not in (".bin", ".pb"):
        continue
    raw = path.read_bytes()
    put("decode_validate", raw)
    try:
        decoded = raw if path.suffix == ".pb" else unsnappy(raw)
    except (IndexError, ValueError):
        continue
    if len(decoded) > 1 << 20:
        continue
    put("facts", decoded)
    for selector in (0, 7, 42):
        put("validate_paths", bytes([selector]) + decoded)
print("seeded", FUZZ / "corpus")
