#!/usr/bin/env python3
"""Writes the committed seed corpora in fuzz/seeds/<target>/.

The structured targets read their input through the `arbitrary` crate (1.x), so
their seeds are encoded the way `arbitrary` decodes: integers little-endian from
the front, `bool` as one byte (& 1), an enum variant from a little-endian u32
(`(v * variants) >> 32`), a `Vec` as a `1` byte before each element and a `0`
byte after the last, a `String` as its bytes from the front with its length
taken from the END of the input (one byte while 256 or fewer bytes remain), and
the top-level value's last field taking the rest. Check a seed with
`cargo fuzz fmt <target> fuzz/seeds/<target>/<file>`. Regenerate with
`python3 fuzz/seeds/make_seeds.py` (from anywhere); the files are committed.
"""

import base64
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


class Enc:
    """Front bytes plus length requests, resolved into one input at the end."""

    def __init__(self):
        self.ops = []  # ("front", bytes) | ("len", n)

    def front(self, b):
        self.ops.append(("front", bytes(b)))

    def u8(self, v):
        self.front([v & 0xFF])

    def u16(self, v):
        self.front(struct.pack("<H", v))

    def u32(self, v):
        self.front(struct.pack("<I", v))

    def i32(self, v):
        self.front(struct.pack("<i", v))

    def u64(self, v):
        self.front(struct.pack("<Q", v))

    def boolean(self, v):
        self.u8(1 if v else 0)

    def variant(self, index, count):
        self.u32(-(-(index << 32) // count))  # ceil(index * 2^32 / count)

    def vec(self, items, each, rest=False):
        # `rest` (take_rest) encodes the same way for Vec: continuation bytes.
        for item in items:
            self.boolean(True)
            each(item)
        self.boolean(False)

    def bytes_vec(self, b, rest=False):
        self.vec(list(b), self.u8, rest)

    def string(self, s, rest=False):
        b = s.encode("utf-8")
        if not rest:
            self.ops.append(("len", len(b)))
        self.front(b)

    def option(self, v, each):
        self.boolean(v is not None)
        if v is not None:
            each(v)

    def finish(self):
        front = b"".join(b for kind, b in self.ops if kind == "front")
        lens = [n for kind, n in self.ops if kind == "len"]
        widths = [1] * len(lens)
        while True:
            # Simulate consumption: how much data remains at each length read.
            new, consumed_front, li = [], 0, 0
            for kind, v in self.ops:
                if kind == "front":
                    consumed_front += len(v)
                    continue
                remaining = (len(front) - consumed_front) + sum(widths[li:])
                if remaining <= 256:
                    w = 1
                elif remaining <= 65535 + 2:
                    w = 2
                else:
                    raise ValueError("seed too large")
                new.append(w)
                li += 1
            if new == widths:
                break
            widths = new
        tail = b""
        for n, w in zip(lens, widths):
            tail = n.to_bytes(w, "big") + tail
        return front + tail


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


VENDOR_KEY = "ed58a22dfecb405a50ea3ea56979360d"
VENDOR_BODY = b'{"id":"86","name":"test product"}'
VENDOR_HEADERS = [
    ("X-Webhook-Error-Code", "0"),
    ("X-Webhook-Action", "update"),
    ("X-Webhook-Timestamp", "1516291592"),
    ("X-Webhook-Entity", "product"),
    ("X-Webhook-Store-Id", "1"),
    ("X-Webhook-Signature", "3xDJ+bP52hXC9gX2vVObrEoaHgIX4eqRRTjkVj/stU8="),
]
LOWER = [(n.lower(), v) for n, v in VENDOR_HEADERS]
NOTICE = [
    ("x-webhook-store-id", "1"),
    ("x-webhook-action", "update"),
    ("x-webhook-entity", "cart"),
    ("x-webhook-error-code", "3"),
    ("x-webhook-error-reason", "connection"),
    ("x-webhook-error-message", "Store is unreachable: cURL error 28 (timeout) </a> & 'x'"),
    ("x-webhook-error-try-count", "2"),
    ("x-webhook-timestamp", "1763900000"),
]
UNICODE = [
    ("X-Webhook-Entity", "product"),
    ("X-WEBHOOK-STORE-ID", "m\u00fcnchen/\u20ac\U0001F600"),
    ("x-webhook-some-new-THING", 'a"b\\c\n\t\x01\x7f<>&\''),
    ("Content-Type", "application/json"),
    ("X-Webhook-Signature", "EkgyptwvqdQXvELT/gyv/oceZE6Nm18sH7bt/OSt4wo="),
]

# canonical: Vec<(Vec<u8>, Vec<u8>)>
def pairs_input(pairs):
    e = Enc()
    e.vec(pairs, lambda p: (e.bytes_vec(p[0].encode()), e.bytes_vec(p[1].encode())), rest=True)
    return e.finish()


write("canonical", "vendor_sample", pairs_input(VENDOR_HEADERS))
write("canonical", "lowercase_names", pairs_input(LOWER + [("content-type", "application/json")]))
write("canonical", "error_notice", pairs_input(NOTICE))
write("canonical", "unicode_and_extension", pairs_input(UNICODE))
write("canonical", "duplicate_other_case", pairs_input([("x-webhook-action", "add"), ("X-Webhook-Action", "add")]))

# differential: (String, Vec<(String, String)>)
def diff_input(text, pairs):
    e = Enc()
    e.string(text)
    e.vec(pairs, lambda p: (e.string(p[0]), e.string(p[1])), rest=True)
    return e.finish()


signed = sorted((n, v) for n, v in VENDOR_HEADERS if n != "X-Webhook-Signature")
write("differential", "vendor_sample", diff_input('{"id":"86","name":"test product"}', signed))
write("differential", "escapes", diff_input('a/b "q" \\ \b\f\n\r\t\x00\x1f\x7f <>&\' \u00e9\u20ac\U0001F600', [("X-Webhook-Store-Id", "m\u00fcnchen"), ("X-Webhook-Error-Message", "</a>\ud7ff\ue000\uffff")]))
write("differential", "empty_map", diff_input("", []))

# signature: raw bytes
write("signature", "vendor_sample", b"3xDJ+bP52hXC9gX2vVObrEoaHgIX4eqRRTjkVj/stU8=")
write("signature", "readme_sample", b"EkgyptwvqdQXvELT/gyv/oceZE6Nm18sH7bt/OSt4wo=")
write("signature", "vendor_doc_placeholder", b"SGVsbG8gd2l0aCBBUEkyQ2FydA==")
write("signature", "url_safe_alphabet", b"3xDJ-bP52hXC9gX2vVObrEoaHgIX4eqRRTjkVj_stU8=")

# header_file: raw bytes
write("header_file", "captured_http1", (
    "POST /webhooks/api2cart HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\n"
    + "".join(f"{n}: {v}\r\n" for n, v in VENDOR_HEADERS) + "\r\n").encode())
write("header_file", "lowercase_lf", "".join(f"{n}:{v}\n" for n, v in LOWER).encode())
write("header_file", "error_notice", "".join(f"{n}: \t{v} \n\n" for n, v in NOTICE).encode())
# Found by this target (a bare CR was kept in the value), minimized.
write("header_file", "bare_cr", b"r:\rt")
write("header_file", "cli_sign_output", (
    "X-Webhook-Action: add\nX-Webhook-Entity: product\nX-Webhook-Store-Id: 1\n"
    "X-Webhook-Timestamp: 1763900000\nX-Webhook-Signature: EkgyptwvqdQXvELT/gyv/oceZE6Nm18sH7bt/OSt4wo=\n").encode())

# verify: Delivery (fuzz/src/lib.rs)
KNOWN = ["X-Webhook-Signature", "X-Webhook-Timestamp", "X-Webhook-Store-Id", "X-Webhook-Action",
         "X-Webhook-Entity", "X-Webhook-Error-Code", "X-Webhook-Error-Reason",
         "X-Webhook-Error-Message", "X-Webhook-Error-Try-Count"]


def delivery(headers, body, cuts, keys, signer, timestamp, body_limit, replay, tamper):
    e = Enc()

    def header(h):
        kind, a, b, value = h
        if kind == "known":  # (which, case)
            e.variant(0, 3); e.u8(KNOWN.index(a)); e.u32(b)
        elif kind == "ext":  # (case, rest)
            e.variant(1, 3); e.u32(a); e.string(b)
        else:  # other name bytes
            e.variant(2, 3); e.bytes_vec(a.encode())
        e.string(value)

    e.vec(headers, header)
    e.bytes_vec(body)
    e.vec(cuts, e.u16)
    e.bytes_vec(keys[0].encode())
    e.vec(keys[1:], lambda k: e.bytes_vec(k.encode()))
    e.u8(signer)
    kind = timestamp[0]
    if kind == "absent":
        e.variant(0, 4)
    elif kind == "within":  # ts, offset, tolerance
        e.variant(1, 4); e.u64(timestamp[1]); e.i32(timestamp[2]); e.u16(timestamp[3])
    elif kind == "outside":  # ts, excess, behind, tolerance
        e.variant(2, 4); e.u64(timestamp[1]); e.u32(timestamp[2]); e.boolean(timestamp[3]); e.u16(timestamp[4])
    else:
        e.variant(3, 4); e.u64(timestamp[1])
    e.option(body_limit, e.u16)
    e.boolean(replay)
    kind = tamper[0]  # Tamper: 8 variants, the last field takes the rest
    if kind == "body_byte":
        e.variant(0, 8); e.u32(tamper[1]); e.u8(tamper[2])
    elif kind == "header_value":
        e.variant(3, 8); e.u8(tamper[1]); e.u32(tamper[2]); e.u8(tamper[3])
    elif kind == "signature":
        e.variant(4, 8); e.u8(tamper[1]); e.u8(tamper[2])
    elif kind == "add_header":
        e.variant(6, 8); e.string(tamper[1], rest=True)
    elif kind == "name_case":
        e.variant(7, 8); e.u8(tamper[1]); e.u8(tamper[2])
    return e.finish()


write("verify", "vendor_sample", delivery(
    [("known", "X-Webhook-Error-Code", 0xFFFFFFFF, "0"), ("known", "X-Webhook-Action", 0xFFFFFFFF, "update"),
     ("known", "X-Webhook-Entity", 0xFFFFFFFF, "product"), ("known", "X-Webhook-Store-Id", 0xFFFFFFFF, "1")],
    VENDOR_BODY, [], [VENDOR_KEY], 0, ("within", 1516291592, 17, 300), None, False, ("body_byte", 5, 1)))
write("verify", "lowercase_chunked_rotation", delivery(
    [("known", "X-Webhook-Store-Id", 0, "2"), ("other", "content-type", None, "application/json"),
     ("known", "X-Webhook-Entity", 0, "order"), ("known", "X-Webhook-Action", 0, "add")],
    b'{"id":"7","total":"12.50"}', [3, 9, 9, 20], ["old-store-key", "new-store-key", VENDOR_KEY], 1,
    ("any", 1516291592), 4096, True, ("header_value", 1, 0, 3)))
write("verify", "error_notice_empty_body", delivery(
    [("known", "X-Webhook-Error-Code", 0x55555555, "3"), ("known", "X-Webhook-Error-Reason", 0, "connection"),
     ("known", "X-Webhook-Error-Message", 0, "Store is unreachable"), ("known", "X-Webhook-Error-Try-Count", 0, "2"),
     ("ext", 0xAAAAAAAA, "Some-New-Thing", "m\u00fcnchen/\u20ac\U0001F600")],
    b"", [], [VENDOR_KEY], 0, ("absent",), None, False, ("signature", 43, ord("A"))))
write("verify", "stale_timestamp", delivery(
    [("known", "X-Webhook-Entity", 0, "product")], VENDOR_BODY[:10], [4], ["k"], 0,
    ("outside", 1763900000, 1, True, 300), None, False, ("add_header", "Error-Code")))

# event: Input { entity, action, headers: Vec<(u8, u32, String)>, body }
def event(entity, action, headers, body):
    e = Enc()
    e.string(entity)
    e.string(action)
    e.vec(headers, lambda h: (e.u8(KNOWN.index(h[0]) - 1), e.u32(h[1]), e.string(h[2])))
    e.bytes_vec(body, rest=True)
    return e.finish()


write("event", "vendor_sample", event("product", "update", [
    ("X-Webhook-Store-Id", 0, "1"), ("X-Webhook-Action", 0, "update"), ("X-Webhook-Entity", 0, "product"),
    ("X-Webhook-Error-Code", 0, "0"), ("X-Webhook-Timestamp", 0, "1516291592")], VENDOR_BODY))
write("event", "error_notice", event("cart", "archive", [
    ("X-Webhook-Error-Code", 0xFFFFFFFF, "3"), ("X-Webhook-Error-Reason", 0, "connection"),
    ("X-Webhook-Error-Message", 0, "Store is unreachable"), ("X-Webhook-Error-Try-Count", 0, "5")], b""))
write("event", "bad_timestamp", event("order.shipment", "delete", [
    ("X-Webhook-Timestamp", 0, "-5"), ("X-Webhook-Entity", 0, "product.variant")], b"[1,2]"))

# signature_input: raw bytes, read both as Signature-Input and as Signature
UP42_MAC = "ROO6gS8XjNKLVmZlpZPVuG0VAiRLrSOFAMfDOhCIGSo="
write("signature_input", "up42_sample", b'up42-sig=("content-digest" "x-up42-event");created=1700000000')
write("signature_input", "rfc9421_neighbours", (
    'sig1=("@method" "@authority");created=1618884473;keyid="test-key-rsa-pss", '
    'up42-sig=("Content-Digest" "date" "digest");created=1700000000;keyid="k-1";alg=hmac, '
    'x=?0, y;a=1.5;b=:AAEC:, z=-42, t=tok/en:1').encode())
write("signature_input", "no_created_item_params", b'  up42-sig=("x-up42-event";sf "content-type" "a\\"b\\\\c")\t')
write("signature_input", "created_twice", b'up42-sig=("digest");created=1;created=2')
write("signature_input", "too_many", ("up42-sig=(" + " ".join(f'"h{i}"' for i in range(33)) + ")").encode())
write("signature_input", "signature_bare", f"up42-sig={UP42_MAC}".encode())
write("signature_input", "signature_byte_sequence", f"other=1, up42-sig=:{UP42_MAC}:".encode())

# standard_signatures: StandardInput { secret, id, timestamp, at, body, header (raw rest) }
def standard_input(secret, msg_id, timestamp, at, body, header):
    e = Enc()
    e.bytes_vec(secret)
    e.string(msg_id)
    e.u32(timestamp)
    e.u8(at)
    e.bytes_vec(body)
    e.front(header)
    return e.finish()


SW_SECRET = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SW_V1A = "v1a," + base64.b64encode(bytes(range(64))).decode()
write("standard_signatures", "spec_example", standard_input(
    SW_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, 0, b'{"test": 2432232314}', SW_SIG.encode()))
write("standard_signatures", "rotation_mixed", standard_input(
    b"short-key", "msg_2", 1700000000, 2, b"",
    f"v1,AAAA  {SW_V1A} v2,{SW_SIG[3:]} v1,{SW_SIG[3:-1]} {SW_SIG}".encode()))
write("standard_signatures", "nine_pieces", standard_input(
    bytes(64), "id", 7, 9, b"body", " ".join(["v0,x"] * 9).encode()))

# content_digest: DigestInput { body, extra: Vec<(String, String)>, header (raw rest) }
def digest_input(body, extra, header):
    e = Enc()
    e.bytes_vec(body)
    e.vec(extra, lambda p: (e.string(p[0]), e.string(p[1])))
    e.front(header)
    return e.finish()


HELLO = b'{"hello": "world"}'
HELLO_256 = "X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
HELLO_512 = "WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew=="
write("content_digest", "rfc9530_example", digest_input(
    HELLO, [("x-up42-event", "job.status")], f"sha-256=:{HELLO_256}:, sha-512=:{HELLO_512}:".encode()))
write("content_digest", "legacy_digest", digest_input(
    HELLO, [], f"SHA-256={HELLO_256},unixsum=30637".encode()))
write("content_digest", "unknown_and_short", digest_input(
    b"", [("Date", "Tue, 01 Dec 2026 09:00:00 GMT"), ("x-up42-event", "order.status")],
    b"md5=:AAAA:, id-sha-256=:AAAA:;p=1, sha-256=:AAAA:"))

# url_token: UrlInput { name, index, token, target (rest) }
def url_input(name, index, token, target):
    e = Enc()
    e.string(name)
    e.u8(index)
    e.string(token)
    e.string(target, rest=True)
    return e.finish()


write("url_token", "query", url_input("token", 1, "k9Q2longrandomtoken", "/hooks/americommerce?a=1&token=s%2Fx&b"))
write("url_token", "path_segment", url_input("t", 1, "s3cret", "/hooks/s3cret/tax?x=1"))
write("url_token", "twice", url_input("t", 0, "a+b%", "/h?t=a&t=b&%74=c"))
write("url_token", "encoded_name", url_input("to ken", 2, "", "h//%7e?to%20ken&x"))
