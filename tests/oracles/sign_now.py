#!/usr/bin/env python3
"""One delivery signed now by an independent signer, for the tests that send
to running receivers (whose clocks are the system's).

    sign_now.py standard WHSEC_SECRET MSG_ID BODY_TEXT
        signed by the official PyPI package `standardwebhooks`
    sign_now.py up42 SECRET EVENT BODY_TEXT
        signed by tests/oracles/up42_reference.py's signer (written from
        UP42's published receiver sample), covering `x-up42-event` and a
        `content-digest` (RFC 9530, SHA-256, by hashlib) of the body

Prints one JSON line: {"headers": [[name, value], ...], "body": BODY_TEXT}.
"""

import base64
import hashlib
import json
import os
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def standard(secret, msg_id, body):
    from standardwebhooks import Webhook

    now = datetime.now(tz=timezone.utc).replace(microsecond=0)
    signature = Webhook(secret).sign(msg_id, now, body)
    return [
        ["webhook-id", msg_id],
        ["webhook-timestamp", str(int(now.timestamp()))],
        ["webhook-signature", signature],
    ]


def up42(secret, event, body):
    import time

    import up42_reference

    digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
    covered = [("x-up42-event", event), ("content-digest", f"sha-256=:{digest}:")]
    sig_input, signature = up42_reference.sign(secret, covered, int(time.time()))
    return [list(pair) for pair in covered] + [
        ["signature-input", sig_input],
        ["signature", signature],
    ]


def main():
    recipe, secret, name, body = sys.argv[1:5]
    headers = {"standard": standard, "up42": up42}[recipe](secret, name, body)
    print(json.dumps({"headers": headers, "body": body}))


if __name__ == "__main__":
    main()
