#!/usr/bin/env python3
"""Independent signer for Standard Webhooks deliveries (tests/scheme_oracles.rs).

Signatures come from the official PyPI package `standardwebhooks`
(`Webhook(secret).sign(msg_id, timestamp, data)`, text bodies only), from
Python's own `hmac`/`hashlib` for bodies that are not UTF-8 (the package signs
only `str`), and from `cryptography`'s Ed25519PrivateKey for `v1a`. Nothing
here comes from the crate under test.

    standard_webhooks.py SEED COUNT [ED25519_COUNT]

signs the known answers, COUNT text messages with the package, COUNT/10
binary ones with hmac and ED25519_COUNT (default COUNT/10) v1a ones, and
prints one JSON object per line:

    {"source": "kat" | "standardwebhooks" | "hmac" | "ed25519",
     "id": str, "timestamp": int, "body_b64": str,
     "keys": ["whsec_..."],        # v1 secrets the receiver holds
     "public_keys": ["whpk_..."],  # v1a public keys the receiver holds
     "signature": "v1,... v1a,...",  # the webhook-signature header
     "valid": bool,                # some entry matches some receiver key
     "valid_v1": bool}             # some v1 entry matches a receiver v1 key

A few lines carry only entries by keys the receiver does not hold
("valid": false). The package's `sign` is first checked against the two
published known answers.

    standard_webhooks.py verify-wire

reads deliveries as a receiver got them (tests/mock_standard.rs), one JSON
object per line, `{"secret": "whsec_...", "headers": [[name, value], ...],
"body_b64": str}`, has the package's `Webhook(secret).verify(body, headers)`
judge each one now, and prints `{"accepted": bool, "error": str | null}` per
line.
"""

import base64
import hashlib
import hmac
import json
import random
import sys
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from standardwebhooks import Webhook

# Published known answers: (secret, id, timestamp, body, signature).
KNOWN_ANSWERS = [
    (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        '{"test": 2432232314}',
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    ),
    (
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        1649367553,
        '{"email":"test@example.com","username":"test_user"}',
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
    ),
]

ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
# Text bodies: ASCII, JSON punctuation, escapes, and characters of 2, 3 and 4
# UTF-8 bytes (no lone surrogates: they are not text).
TEXT_CHARS = (
    ID_CHARS
    + ' {}[]":,.\\/\n\t\r\'!?#%&*+=<>@^`|~'
    + "\u00e9\u00fc\u00df\u00a0\u00ff\u0100\u0416\u05d0\u0627\u20ac\u2028\u2029"
    + "\u3042\u4e2d\ufeff\ufffd\U0001f600\U0001f9d1\U00010348\U0010fffd"
)


def when(timestamp):
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def whsec(raw):
    return "whsec_" + b64(raw)


def whpk(private_key):
    return "whpk_" + b64(private_key.public_key().public_bytes_raw())


def random_id(rng):
    kind = rng.randrange(10)
    if kind == 0:
        # Any printable ASCII but space (entries are space-separated, ids are not).
        return "".join(chr(rng.randrange(0x21, 0x7F)) for _ in range(rng.randint(1, 40)))
    if kind == 1:
        # Non-ASCII UTF-8: the id is signed as its UTF-8 bytes.
        return "msg_" + "".join(rng.choice("\u00e9\u4e2d\U0001f600a.") for _ in range(rng.randint(1, 8)))
    return "msg_" + "".join(rng.choice(ID_CHARS) for _ in range(rng.randint(1, 32)))


def random_timestamp(rng):
    kind = rng.randrange(20)
    if kind == 0:
        return rng.randint(0, 10**6)
    if kind == 1:
        return rng.randint(10**10, 253402300799)  # up to the end of year 9999
    return rng.randint(10**9, 4 * 10**9)


def random_text(rng):
    kind = rng.randrange(12)
    if kind == 0:
        return ""
    if kind == 1:
        return json.dumps({"type": "invoice.paid", "amount": rng.randrange(10**9), "note": "\u00e9\u20ac"})
    length = rng.choice([1, 2, 5, 17, 64, 200, 1000, rng.randint(0, 3000)])
    return "".join(rng.choice(TEXT_CHARS) for _ in range(length))


def random_bytes_body(rng):
    """Bytes that are not UTF-8 (or, now and then, empty)."""
    if rng.randrange(10) == 0:
        return b""
    body = bytearray(rng.randbytes(rng.randint(1, 2000)))
    body[rng.randrange(len(body))] = rng.choice([0x80, 0xC0, 0xFF, 0xFE, 0xED])
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return bytes(body)
    return bytes(body) + b"\xff"


def hmac_entry(raw_secret, msg_id, timestamp, body):
    """A v1 entry computed with hmac/hashlib alone (for any bytes body)."""
    message = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + b64(hmac.new(raw_secret, message, hashlib.sha256).digest())


def ed25519_entry(private_key, msg_id, timestamp, body):
    return "v1a," + b64(private_key.sign(f"{msg_id}.{timestamp}.".encode() + body))


def secret_bytes(rng):
    return rng.randbytes(rng.randint(24, 64))


def ed25519_key(rng):
    return Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))


def check_known_answers():
    for secret, msg_id, timestamp, body, expected in KNOWN_ANSWERS:
        got = Webhook(secret).sign(msg_id, when(timestamp), body)
        assert got == expected, f"standardwebhooks signs {msg_id} as {got}, expected {expected}"
        raw = base64.b64decode(secret[len("whsec_") :])
        assert hmac_entry(raw, msg_id, timestamp, body.encode()) == expected


def line(source, msg_id, timestamp, body, keys, public_keys, entries, valid, valid_v1):
    return {
        "source": source,
        "id": msg_id,
        "timestamp": timestamp,
        "body_b64": b64(body),
        "keys": keys,
        "public_keys": public_keys,
        "signature": " ".join(entries),
        "valid": valid,
        "valid_v1": valid_v1,
    }


def package_line(rng):
    """Text body signed by the package; sometimes a rotation: the receiver
    holds two secrets and the header carries entries by several keys."""
    msg_id, timestamp, text = random_id(rng), random_timestamp(rng), random_text(rng)
    held = [secret_bytes(rng) for _ in range(rng.choice([1, 1, 2]))]
    strangers = [secret_bytes(rng) for _ in range(rng.choice([0, 0, 1, 2]))]
    signers = [s for s in held if rng.randrange(2)] or [rng.choice(held)]
    valid = rng.randrange(25) != 0
    if not valid:
        signers = []
        strangers = strangers or [secret_bytes(rng)]
    entries = [Webhook(whsec(s)).sign(msg_id, when(timestamp), text) for s in signers + strangers]
    if rng.randrange(10) == 0:
        entries.append("v2," + b64(rng.randbytes(32)))  # a version no receiver knows
    rng.shuffle(entries)
    keys = [whsec(s) for s in held]
    return line("standardwebhooks", msg_id, timestamp, text.encode(), keys, [], entries, valid, valid)


def binary_line(rng):
    msg_id, timestamp, body = random_id(rng), random_timestamp(rng), random_bytes_body(rng)
    held = [secret_bytes(rng) for _ in range(rng.choice([1, 2]))]
    signer = rng.choice(held)
    entries = [hmac_entry(signer, msg_id, timestamp, body)]
    if rng.randrange(3) == 0:
        entries.append(hmac_entry(secret_bytes(rng), msg_id, timestamp, body))
    rng.shuffle(entries)
    keys = [whsec(s) for s in held]
    return line("hmac", msg_id, timestamp, body, keys, [], entries, True, True)


def ed25519_line(rng):
    """v1a, alone or beside v1 entries (a sender moving between the two)."""
    msg_id, timestamp = random_id(rng), random_timestamp(rng)
    body = random_bytes_body(rng) if rng.randrange(3) == 0 else random_text(rng).encode()
    held_private = ed25519_key(rng)
    keys, entries, valid_v1 = [], [ed25519_entry(held_private, msg_id, timestamp, body)], False
    if rng.randrange(3) == 0:
        entries.append(ed25519_entry(ed25519_key(rng), msg_id, timestamp, body))  # a stranger
    if rng.randrange(3) == 0:
        secret = secret_bytes(rng)
        keys.append(whsec(secret))
        valid_v1 = rng.randrange(2) == 0
        signer = secret if valid_v1 else secret_bytes(rng)
        entries.append(hmac_entry(signer, msg_id, timestamp, body))
    valid = True
    if rng.randrange(20) == 0:
        entries = [e for e in entries if e.startswith("v1,")]
        entries.append(ed25519_entry(ed25519_key(rng), msg_id, timestamp, body))
        valid = valid_v1
    rng.shuffle(entries)
    return line("ed25519", msg_id, timestamp, body, keys, [whpk(held_private)], entries, valid, valid_v1)


def verify_wire():
    for raw in sys.stdin:
        if not raw.strip():
            continue
        delivery = json.loads(raw)
        headers = {name: value for name, value in delivery["headers"]}
        body = base64.b64decode(delivery["body_b64"])
        try:
            Webhook(delivery["secret"]).verify(body, headers, json_parse=False)
            verdict = {"accepted": True, "error": None}
        except Exception as error:  # the package's WebhookVerificationError and kin
            verdict = {"accepted": False, "error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(verdict) + "\n")


def main():
    if sys.argv[1:] == ["verify-wire"]:
        verify_wire()
        return
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    ed25519_count = int(sys.argv[3]) if len(sys.argv) > 3 else max(count // 10, 1)
    rng = random.Random(seed)
    check_known_answers()
    out = sys.stdout
    for secret, msg_id, timestamp, body, expected in KNOWN_ANSWERS:
        row = line("kat", msg_id, timestamp, body.encode(), [secret], [], [expected], True, True)
        out.write(json.dumps(row) + "\n")
    for _ in range(count):
        out.write(json.dumps(package_line(rng)) + "\n")
    for _ in range(max(count // 10, 1)):
        out.write(json.dumps(binary_line(rng)) + "\n")
    for _ in range(ed25519_count):
        out.write(json.dumps(ed25519_line(rng)) + "\n")


if __name__ == "__main__":
    main()
