#!/usr/bin/env python3
"""Reference signer and receiver for UP42 deliveries (tests/scheme_oracles.rs).

Written from UP42's published facts, not from the crate under test. UP42
publishes no signing spec; its receiver sample (github up42/up42-webhooks,
snippets/validate_webhook.py) is the source:

- `Signature-Input: up42-sig=("<name>" "<name>" ...);created=<unix seconds>`
- `Signature: up42-sig=<standard base64>`
- signed string = the values of the listed headers, in list order, joined
  with no separator; HMAC-SHA256 with the secret as UTF-8.
- the sample reads `created=(\\d{10,20})` with a regular expression, the list
  between `up42-sig=(` and `);` as the quoted names, compares the text after
  the first `=` of `Signature` with the base64 it computes, and refuses
  `created > now` and `now - created >= 300`.

The receiver does what the sample does and, in addition, binds the body: the
list must cover a `content-digest` (RFC 9530: `sha-256=:<b64>:`,
`sha-512=:<b64>:`) or a legacy `digest` (RFC 3230: `SHA-256=<b64>`) whose
SHA-256/SHA-512 entries all match the body (hashlib).

    up42_reference.py sign SEED COUNT   # COUNT deliveries, one JSON line each
    up42_reference.py verify            # a verdict per JSON line on stdin

A delivery: {"secret": str, "now": int, "headers": [[name, value], ...],
"body_b64": str, "covered": [[name, value or null], ...] (the listed headers
in signing order; null for signature-input itself), "covers_digest": bool,
"covers_input": bool}; `verify` reads the first four. A verdict:
{"failures": [...]} with the reasons the receiver refuses it (empty: it
accepts), from: missing_signature, missing_timestamp, malformed, stale,
invalid_signature, body_not_signed, invalid_digest. The sample alone would
accept what fails only with body_not_signed or invalid_digest.
"""

import base64
import hashlib
import hmac
import json
import random
import re
import sys

LABEL = "up42-sig"
TOLERANCE = 300

# --- the receiver ----------------------------------------------------------

CREATED_RE = re.compile(r"created=(?P<sig_ts>\d{10,20})")
FIELD_RE = re.compile(r"up42-sig=\((?P<sig_list>.*)\);.*")
LIST_RE = re.compile(r"[^\"\s]+")
DIGEST_LENGTHS = {"sha-256": 32, "sha-512": 64}


def strict_b64(text):
    """Standard padded base64, or None."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def body_digests(name, value):
    """The (algorithm, bytes) pairs a digest header declares; ValueError when
    a known algorithm's value is not base64 of the right length."""
    found = []
    for member in value.split(","):
        member = member.strip()
        algorithm, sep, encoded = member.partition("=")
        if not sep:
            raise ValueError("a digest member without =")
        algorithm = algorithm.strip().lower()
        if algorithm not in DIGEST_LENGTHS:
            continue
        if name == "content-digest":
            # RFC 8941 byte sequence, possibly followed by parameters.
            encoded = encoded.split(";", 1)[0]
            if len(encoded) < 2 or encoded[0] != ":" or encoded[-1] != ":":
                raise ValueError("a content-digest value is not a byte sequence")
            encoded = encoded[1:-1]
        raw = strict_b64(encoded)
        if raw is None or len(raw) != DIGEST_LENGTHS[algorithm]:
            raise ValueError("a digest is not base64 of the algorithm's length")
        found.append((algorithm, raw))
    return found


def receive(pairs, body, secret, now):
    """The reasons to refuse one delivery (an empty list: accept)."""
    headers = {}
    for name, value in pairs:
        headers.setdefault(name.lower(), []).append(value)
    if any(len(values) > 1 for values in headers.values()):
        return ["malformed"]
    headers = {name: values[0] for name, values in headers.items()}

    sig_input = headers.get("signature-input")
    sig_header = headers.get("signature")
    if sig_input is None or sig_header is None or LABEL not in sig_input:
        return ["missing_signature"]
    if "=" not in sig_header:
        return ["malformed"]
    presented = bytes(sig_header.split("=", 1)[1], "UTF-8")

    created = CREATED_RE.search(sig_input)
    if created is None:
        return ["missing_timestamp"]
    created = int(created.groupdict()["sig_ts"])

    field = FIELD_RE.search(sig_input)
    if field is None:
        return ["malformed"]
    names = LIST_RE.findall(field.groupdict()["sig_list"])
    if not names or any(name.lower() not in headers for name in names):
        return ["malformed"]

    failures = []
    if not (created <= now and abs(now - created) < TOLERANCE):
        failures.append("stale")
    sig_str = "".join(headers[name.lower()] for name in names)
    computed = base64.b64encode(
        hmac.digest(bytes(secret, "UTF-8"), bytes(sig_str, "UTF-8"), hashlib.sha256)
    )
    if not hmac.compare_digest(presented, computed):
        failures.append("invalid_signature")

    declared = []
    for name in dict.fromkeys(name.lower() for name in names):
        if name in ("content-digest", "digest"):
            try:
                declared.extend(body_digests(name, headers[name]))
            except ValueError:
                return ["malformed"]
    if not declared:
        failures.append("body_not_signed")
    elif any(hashlib.new(algorithm, body).digest() != raw for algorithm, raw in declared):
        failures.append("invalid_digest")
    return failures


# --- the signer ------------------------------------------------------------

TCHAR = "abcdefghijklmnopqrstuvwxyz0123456789-"
ODD_TCHAR = "!#$%&'*+.^_`|~"
VALUE_CHARS = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    + " !#$%&'()*+,-./:;<=>?@[]^_`{|}~\"\\"
)
UNICODE = "\u00e9\u00df\u20ac\u4e2d\U0001f600"
KNOWN_HEADERS = [
    "x-up42-event",
    "x-up42-webhook-id",
    "x-up42-delivery-id",
    "date",
    "content-type",
    "user-agent",
    "x-request-id",
    "content-length",
]


def b64(raw):
    return base64.b64encode(raw).decode("ascii")


def sign(secret, covered, created, params=""):
    """(Signature-Input, Signature) for `covered` (name, value) pairs. A pair
    named signature-input whose value is None stands for the header itself."""
    names = " ".join(f'"{name}"' for name, _ in covered)
    sig_input = f"{LABEL}=({names});created={created}{params}"
    values = [sig_input if value is None else value for _, value in covered]
    mac = hmac.new(secret.encode("utf-8"), "".join(values).encode("utf-8"), hashlib.sha256)
    return sig_input, f"{LABEL}={b64(mac.digest())}"


def random_secret(rng):
    chars = VALUE_CHARS.replace(" ", "") + UNICODE
    return "".join(rng.choice(chars) for _ in range(rng.randint(1, 48)))


def random_value(rng):
    if rng.randrange(15) == 0:
        return ""
    chars = VALUE_CHARS + (UNICODE if rng.randrange(8) == 0 else "")
    return "".join(rng.choice(chars) for _ in range(rng.randint(1, 60)))


def random_name(rng, taken):
    while True:
        if rng.randrange(2):
            name = rng.choice(KNOWN_HEADERS)
        else:
            alphabet = TCHAR + (ODD_TCHAR if rng.randrange(4) == 0 else "")
            name = "x-" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 16)))
        if name not in taken:
            return name


def random_body(rng):
    kind = rng.randrange(10)
    if kind == 0:
        return b""
    if kind == 1:
        return rng.randbytes(rng.randint(1, 3000))  # not JSON, most likely not UTF-8
    event = rng.choice(["job.status", "order.status"])
    status = rng.choice(["ERROR", "FAILED", "CANCELLED", "SUCCEEDED", "FULFILLED", "FAILED_PERMANENTLY"])
    payload = {"event": event, "body": {"status": status, "id": rng.randbytes(8).hex(), "note": "\u00e9" * rng.randrange(3)}}
    return json.dumps(payload, ensure_ascii=rng.randrange(2) == 0).encode()


def digest_header(rng, body):
    """(name, value) of a digest header binding `body`, or of one that binds
    nothing (unknown algorithms only), with whether it binds the body."""
    sha256 = b64(hashlib.sha256(body).digest())
    sha512 = b64(hashlib.sha512(body).digest())
    kind = rng.randrange(20)
    if kind < 9:
        return "content-digest", f"sha-256=:{sha256}:", True
    if kind < 11:
        return "content-digest", f"sha-512=:{sha512}:", True
    if kind < 13:
        return "content-digest", f"sha-256=:{sha256}:, sha-512=:{sha512}:", True
    if kind < 14:
        md5 = b64(hashlib.md5(body).digest())
        return "content-digest", f"md5=:{md5}:, sha-256=:{sha256}:", True
    if kind < 15:
        return "content-digest", f"md5=:{b64(hashlib.md5(body).digest())}:", False
    algorithm = rng.choice(["SHA-256", "sha-256", "Sha-256"])
    if kind < 19:
        return "digest", f"{algorithm}={sha256}", True
    return "digest", f"unixsum=1234,SHA-512={sha512}", True


def wire_name(rng, name):
    kind = rng.randrange(4)
    if kind == 0:
        return name.upper()
    if kind == 1:
        return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))
    return name


def delivery(rng):
    secret = random_secret(rng)
    body = random_body(rng)
    created = rng.randint(10**9, 10**10 - 1)
    now = created + rng.randint(0, TOLERANCE - 1)
    covered, taken = [], {"signature", "signature-input"}
    for _ in range(rng.choice([0, 1, 1, 2, 3, 5])):
        name = random_name(rng, taken | {"content-digest", "digest"})
        taken.add(name)
        covered.append((name, random_value(rng)))
    unlisted = []
    covers_digest = False
    # Most deliveries list a digest; some send one without listing it; some none.
    kind = rng.randrange(20)
    if kind < 18 or not covered:
        name, value, covers_digest = digest_header(rng, body)
        covered.insert(rng.randrange(len(covered) + 1), (name, value))
        if rng.randrange(10) == 0:
            other = "digest" if name == "content-digest" else "content-digest"
            covered.insert(rng.randrange(len(covered) + 1), digest_header_named(other, body))
            covers_digest = True
    elif kind == 18:
        name, value, _ = digest_header(rng, body)
        unlisted.append((name, value))
    covers_input = rng.randrange(7) == 0
    if covers_input:
        covered.insert(rng.randrange(len(covered) + 1), ("signature-input", None))
    params = rng.choice(["", "", ';keyid="up42"', ';alg="hmac-sha256"', ";expires=9999999999"])
    listed = [(n.title() if rng.randrange(12) == 0 else n, v) for n, v in covered]
    sig_input, signature = sign(secret, listed, created, params)
    pairs = [(name, value) for name, value in covered if value is not None]
    pairs += unlisted
    pairs += [("signature-input", sig_input), ("signature", signature)]
    for name in ["host", "accept-encoding"]:
        if rng.randrange(2) and name not in taken:
            pairs.append((name, random_value(rng)))
    rng.shuffle(pairs)
    headers = [[wire_name(rng, name), value] for name, value in pairs]
    return {
        "secret": secret,
        "now": now,
        "headers": headers,
        "body_b64": b64(body),
        "covered": [[name, value] for name, value in listed],
        "covers_digest": covers_digest,
        "covers_input": covers_input,
    }


def digest_header_named(name, body):
    if name == "digest":
        return "digest", f"SHA-256={b64(hashlib.sha256(body).digest())}"
    return "content-digest", f"sha-512=:{b64(hashlib.sha512(body).digest())}:"


def main():
    mode = sys.argv[1]
    out = sys.stdout
    if mode == "sign":
        rng = random.Random(int(sys.argv[2]))
        for _ in range(int(sys.argv[3])):
            row = delivery(rng)
            body = base64.b64decode(row["body_b64"])
            failures = receive(row["headers"], body, row["secret"], row["now"])
            assert failures == (
                [] if row["covers_digest"] else ["body_not_signed"]
            ), f"the reference receiver refuses its own delivery ({failures}): {row}"
            out.write(json.dumps(row) + "\n")
    elif mode == "verify":
        for text in sys.stdin:
            if not text.strip():
                continue
            row = json.loads(text)
            body = base64.b64decode(row["body_b64"])
            out.write(json.dumps({"failures": receive(row["headers"], body, row["secret"], row["now"])}) + "\n")
    else:
        sys.exit(f"unknown mode {mode!r}: sign SEED COUNT | verify")


if __name__ == "__main__":
    main()
