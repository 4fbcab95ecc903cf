#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets in tests/fuzz/.

    tests/fuzz/make-seeds.py [--out DIR]

One file per seed under DIR/<target>/ (default: tests/fuzz/corpus next to
this script). The seeds are what a client really sends during a handshake
and a publish, a table with every type letter, nested tables and arrays,
and the hostile inputs of RELIABILITY.md section 3.2, items 7-11, 13 and
14. Existing files with other names (reproducers added after a fix) are
left alone. The output is deterministic: rerunning it changes nothing.

Input formats, per target:
  fuzz_frame   one selector byte (bits 0-2: frame_max, bits 5-7: bytes per
               read), then the byte stream a client sends
  fuzz_method  a method frame payload: class id, method id, arguments
  fuzz_table   the bytes of a field table, after its u32 length
  fuzz_props   a content header's property flags and property list
  fuzz_http    one selector byte (bits 0-2: bytes per read), then the bytes
               an HTTP client sends to the admin API on one connection
  fuzz_json    one selector byte (bits 0-1: which limits), then JSON text:
               the definitions fixture, admin API bodies, edge cases
"""

import argparse
import os
import struct
import sys

# ---- wire helpers -----------------------------------------------------------


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def shortstr(s):
    if isinstance(s, str):
        s = s.encode()
    assert len(s) <= 255
    return u8(len(s)) + s


def longstr(s):
    if isinstance(s, str):
        s = s.encode()
    return u32(len(s)) + s


def bits(*flags):
    v = 0
    for i, f in enumerate(flags):
        if f:
            v |= 1 << i
    return u8(v)


# Field values: (letter, payload bytes) pairs, RabbitMQ's letters.
def fv(letter, payload=b""):
    return letter.encode() + payload


def f_bool(v):
    return fv("t", u8(v))


def f_str(s):
    return fv("S", longstr(s))


def f_i32(v):
    return fv("I", struct.pack(">i", v))


def f_i64(v):
    return fv("l", struct.pack(">q", v))


def f_table(body):
    return fv("F", longstr(body))


def f_array(body):
    return fv("A", longstr(body))


def entries(*kv):
    """Table body: (key, encoded value) pairs; keys may be bytes."""
    return b"".join(shortstr(k) + v for k, v in kv)


def table(*kv):
    """A whole table with its length, as in a method argument."""
    return longstr(entries(*kv))


# One value of every type letter warren accepts (protocol/table.h).
ALL_TYPES = [
    ("bool", f_bool(1)),
    ("i8", fv("b", struct.pack(">b", -5))),
    ("u8", fv("B", u8(250))),
    ("i16", fv("s", struct.pack(">h", -1234))),
    ("u16", fv("u", u16(65000))),
    ("i32", fv("I", struct.pack(">i", -70000))),
    ("u32", fv("i", u32(4000000000))),
    ("i64", fv("l", struct.pack(">q", -(1 << 40)))),
    ("u64", fv("L", u64((1 << 64) - 1))),
    ("f32", fv("f", struct.pack(">f", 1.5))),
    ("f64", fv("d", struct.pack(">d", -2.25))),
    ("decimal", fv("D", u8(2) + u32(31415))),
    ("longstr", f_str("hello")),
    ("bytes", fv("x", longstr(b"\x00\xff\x01"))),
    ("array", f_array(f_i32(1) + f_str("two") + fv("V"))),
    ("timestamp", fv("T", u64(1700000000))),
    ("table", f_table(entries(("inner", f_bool(0))))),
    ("void", fv("V")),
]

# ---- frames and methods -----------------------------------------------------

HEADER_091 = b"AMQP\x00\x00\x09\x01"
FRAME_END = b"\xce"


def frame(ftype, channel, payload, end=FRAME_END, size=None):
    if size is None:
        size = len(payload)
    return u8(ftype) + u16(channel) + u32(size) + payload + end


def method(class_id, method_id, args=b""):
    return u16(class_id) + u16(method_id) + args


def mframe(channel, payload):
    return frame(1, channel, payload)


def content_header(class_id, body_size, props=b"\x00\x00"):
    return u16(class_id) + u16(0) + u64(body_size) + props


CLIENT_PROPS = table(
    ("product", f_str("warren-seeds")),
    ("platform", f_str("python3")),
    ("capabilities", f_table(entries(
        ("publisher_confirms", f_bool(1)),
        ("exchange_exchange_bindings", f_bool(1)),
        ("basic.nack", f_bool(1)),
        ("consumer_cancel_notify", f_bool(1)),
        ("connection.blocked", f_bool(1)),
        ("authentication_failure_close", f_bool(1)),
    ))),
    ("connection_name", f_str("seed")),
)

START_OK = method(10, 11, CLIENT_PROPS + shortstr("PLAIN") +
                  longstr(b"\x00guest\x00guest") + shortstr("en_US"))
START_OK_AMQPLAIN = method(10, 11, CLIENT_PROPS + shortstr("AMQPLAIN") +
                           longstr(entries(("LOGIN", f_str("guest")),
                                           ("PASSWORD", f_str("guest")))) +
                           shortstr("en_US"))
START = method(10, 10, u8(0) + u8(9) + table(("product", f_str("RabbitMQ"))) +
               longstr("PLAIN AMQPLAIN") + longstr("en_US"))
TUNE = method(10, 30, u16(2047) + u32(131072) + u16(60))
TUNE_OK = method(10, 31, u16(2047) + u32(131072) + u16(60))
OPEN = method(10, 40, shortstr("/") + shortstr("") + bits(False))
CLOSE = method(10, 50, u16(320) + shortstr("CONNECTION_FORCED - bye") +
               u16(0) + u16(0))
CLOSE_OK = method(10, 51)
BLOCKED = method(10, 60, shortstr("low on memory"))
UPDATE_SECRET = method(10, 70, longstr("new-token") + shortstr("refresh"))
CH_OPEN = method(20, 10, shortstr(""))
CH_FLOW = method(20, 20, bits(True))
CH_CLOSE = method(20, 40, u16(406) + shortstr("PRECONDITION_FAILED") +
                  u16(50) + u16(10))
CH_CLOSE_OK = method(20, 41)
QUEUE_ARGS = table(
    ("x-queue-type", f_str("classic")),
    ("x-message-ttl", f_i32(60000)),
    ("x-max-length", f_i64(1000)),
    ("x-dead-letter-exchange", f_str("dlx")),
    ("x-max-priority", fv("b", u8(10))),
    ("x-single-active-consumer", f_bool(1)),
)
Q_DECLARE = method(50, 10, u16(0) + shortstr("orders") +
                   bits(False, True, False, False, False) + QUEUE_ARGS)
Q_DECLARE_OK = method(50, 11, shortstr("orders") + u32(3) + u32(1))
Q_BIND = method(50, 20, u16(0) + shortstr("orders") + shortstr("amq.topic") +
                shortstr("order.*.created") + bits(False) +
                table(("x-match", f_str("any"))))
Q_PURGE = method(50, 30, u16(0) + shortstr("orders") + bits(False))
Q_DELETE = method(50, 40, u16(0) + shortstr("orders") + bits(True, True, False))
Q_UNBIND = method(50, 50, u16(0) + shortstr("orders") + shortstr("amq.topic") +
                  shortstr("order.#") + table())
X_DECLARE = method(40, 10, u16(0) + shortstr("events") + shortstr("topic") +
                   bits(False, True, False, False, False) +
                   table(("alternate-exchange", f_str("ae"))))
X_DELETE = method(40, 20, u16(0) + shortstr("events") + bits(True, False))
X_BIND = method(40, 30, u16(0) + shortstr("dst") + shortstr("src") +
                shortstr("rk") + bits(False) + table())
QOS = method(60, 10, u32(0) + u16(10) + bits(False))
CONSUME = method(60, 20, u16(0) + shortstr("orders") + shortstr("ctag-1") +
                 bits(False, False, False, False) +
                 table(("x-priority", f_i32(5))))
CANCEL = method(60, 30, shortstr("ctag-1") + bits(False))
PUBLISH = method(60, 40, u16(0) + shortstr("amq.direct") +
                 shortstr("orders") + bits(False, False))
PUBLISH_MANDATORY = method(60, 40, u16(0) + shortstr("") +
                           shortstr("orders") + bits(True, False))
RETURN = method(60, 50, u16(312) + shortstr("NO_ROUTE") + shortstr("x") +
                shortstr("rk"))
DELIVER = method(60, 60, shortstr("ctag-1") + u64(1) + bits(False) +
                 shortstr("amq.direct") + shortstr("orders"))
GET = method(60, 70, u16(0) + shortstr("orders") + bits(True))
GET_OK = method(60, 71, u64(7) + bits(True) + shortstr("") +
                shortstr("orders") + u32(0))
GET_EMPTY = method(60, 72, shortstr(""))
ACK = method(60, 80, u64(1) + bits(True))
REJECT = method(60, 90, u64(2) + bits(True))
RECOVER_ASYNC = method(60, 100, bits(True))
RECOVER = method(60, 110, bits(True))
NACK = method(60, 120, u64(3) + bits(False, True))
CONFIRM_SELECT = method(85, 10, bits(False))
TX_SELECT = method(90, 10)
TX_COMMIT = method(90, 20)

PROPS_BASIC = u16(0x9000) + shortstr("text/plain") + u8(2)  # type, mode
BODY = b"hello, warren"


def handshake():
    """Header, handshake and one publish, as a client sends them."""
    return (HEADER_091 +
            mframe(0, START_OK) + mframe(0, TUNE_OK) + mframe(0, OPEN) +
            mframe(1, CH_OPEN) + mframe(1, Q_DECLARE) +
            mframe(1, PUBLISH) +
            frame(2, 1, content_header(60, len(BODY), PROPS_BASIC)) +
            frame(3, 1, BODY))


def publish(channel, body, props=PROPS_BASIC, split=None, meth=PUBLISH):
    """basic.publish, header and the body in frames of at most split bytes."""
    out = mframe(channel, meth)
    out += frame(2, channel, content_header(60, len(body), props))
    step = split or max(len(body), 1)
    for i in range(0, len(body), step):
        out += frame(3, channel, body[i:i + step])
    return out


# ---- properties -------------------------------------------------------------

def props(**kw):
    """Property flags and list in spec order; kw names the present ones."""
    order = [
        ("content_type", 15, shortstr), ("content_encoding", 14, shortstr),
        ("headers", 13, lambda v: v), ("delivery_mode", 12, u8),
        ("priority", 11, u8), ("correlation_id", 10, shortstr),
        ("reply_to", 9, shortstr), ("expiration", 8, shortstr),
        ("message_id", 7, shortstr), ("timestamp", 6, u64),
        ("type", 5, shortstr), ("user_id", 4, shortstr),
        ("app_id", 3, shortstr), ("reserved", 2, shortstr),
    ]
    flags, body = 0, b""
    for name, bit, enc in order:
        if name in kw:
            flags |= 1 << bit
            body += enc(kw[name])
    flags |= kw.get("extra_flags", 0)
    return u16(flags) + body


# ---- the corpora ------------------------------------------------------------

def seeds_frame():
    s = {}
    body = bytes(range(256)) * 20           # 5120 bytes: several frames
    hs = handshake()
    # Selector: bits 0-2 frame_max (0: 4096, 1: 131072, 6: 1 MiB, 7: 2^32-1),
    # bits 5-7 bytes per read (0: all, 1: one byte, 3: three, 6: thirteen).
    s["handshake-4096-all"] = b"\x00" + hs
    s["handshake-128k-bytewise"] = b"\x21" + hs
    s["handshake-1m-3bytes"] = b"\x66" + hs
    s["handshake-max-13bytes"] = b"\xc7" + hs
    s["handshake-amqplain"] = b"\x01" + (HEADER_091 +
                                         mframe(0, START_OK_AMQPLAIN) +
                                         mframe(0, TUNE_OK) + mframe(0, OPEN))
    s["header-amqp09"] = b"\x00" + b"AMQP\x01\x01\x00\x09" + mframe(0, TUNE_OK)
    s["publish-split-body"] = b"\x00" + HEADER_091 + mframe(1, CH_OPEN) + \
        publish(1, body, split=4096)
    s["publish-split-body-7bytes"] = b"\x80" + publish(1, body[:600], split=100)
    s["publish-empty-body"] = b"\x01" + publish(1, b"")
    s["publish-interleaved-channels"] = b"\x01" + (
        mframe(1, PUBLISH) + mframe(2, PUBLISH) +
        frame(2, 1, content_header(60, 4, PROPS_BASIC)) +
        frame(2, 2, content_header(60, 2)) +
        frame(3, 1, b"ab") + frame(3, 2, b"xy") + frame(3, 1, b"cd"))
    s["publish-mandatory-headers"] = b"\x01" + publish(
        3, b"{}", props=props(content_type="application/json",
                              headers=table(("CC", f_array(f_str("a") +
                                                           f_str("b")))),
                              delivery_mode=2, priority=5,
                              expiration="60000"),
        meth=PUBLISH_MANDATORY)
    s["many-methods"] = b"\x01" + b"".join(mframe(1, m) for m in (
        X_DECLARE, Q_BIND, QOS, CONSUME, ACK, NACK, REJECT, CANCEL,
        CONFIRM_SELECT, TX_SELECT, TX_COMMIT, GET, RECOVER, Q_PURGE,
        Q_UNBIND, X_BIND, X_DELETE, Q_DELETE, CH_FLOW, CH_CLOSE))
    s["heartbeats"] = b"\x00" + HEADER_091 + frame(8, 0, b"") * 3 + \
        mframe(0, CLOSE) + mframe(0, CLOSE_OK)
    # RELIABILITY 3.2 item 1, 2: bad and partial protocol headers.
    s["bad-header-http"] = b"\x00GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    s["bad-header-zeros"] = b"\x00" + b"\x00" * 8
    s["bad-header-amqp-0-8"] = b"\x00AMQP\x00\x00\x08\x00"
    s["bad-header-tls"] = b"\x00\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"
    s["partial-header"] = b"\x00AMQP\x00"
    # Item 7: sizes, frame ends, types.
    s["size-ffffffff"] = b"\x00" + HEADER_091 + u8(1) + u16(0) + \
        u32(0xFFFFFFFF) + b"\x00" * 16
    s["size-ffffffff-maxframe"] = b"\x07" + u8(3) + u16(1) + \
        u32(0xFFFFFFFF) + b"\x00" * 16
    s["size-above-frame-max"] = b"\x00" + frame(3, 1, b"\x00" * 4097)
    s["size-exactly-frame-max"] = b"\x00" + mframe(1, PUBLISH) + \
        frame(2, 1, content_header(60, 4096)) + frame(3, 1, b"\x00" * 4096)
    s["bad-frame-end"] = b"\x00" + HEADER_091 + \
        frame(1, 0, TUNE_OK, end=b"\x00")
    s["bad-frame-end-ce-minus"] = b"\x00" + frame(8, 0, b"", end=b"\xcd")
    s["unknown-type-7"] = b"\x00" + HEADER_091 + frame(7, 0, b"\x00\x01")
    s["unknown-type-0"] = b"\x00" + frame(0, 0, b"")
    # Item 8: unexpected frames.
    s["heartbeat-channel-1"] = b"\x00" + frame(8, 1, b"")
    s["body-without-header"] = b"\x00" + mframe(1, PUBLISH) + \
        frame(3, 1, BODY)
    s["header-without-method"] = b"\x00" + \
        frame(2, 1, content_header(60, 5)) + frame(3, 1, b"hello")
    s["header-wrong-class"] = b"\x00" + mframe(1, PUBLISH) + \
        frame(2, 1, content_header(50, 5)) + frame(3, 1, b"hello")
    s["content-on-channel-0"] = b"\x00" + mframe(0, PUBLISH) + \
        frame(2, 0, content_header(60, 5)) + frame(3, 0, b"hello")
    # Item 9: undersized frames.
    s["method-frame-2-bytes"] = b"\x00" + frame(1, 1, b"\x00\x3c")
    s["method-frame-empty"] = b"\x00" + frame(1, 1, b"")
    s["header-frame-10-bytes"] = b"\x00" + mframe(1, PUBLISH) + \
        frame(2, 1, content_header(60, 5)[:10])
    # Item 13: content sizes and order.
    s["body-size-2-63"] = b"\x01" + mframe(1, PUBLISH) + \
        frame(2, 1, content_header(60, 1 << 63)) + frame(3, 1, b"x" * 100)
    s["body-size-max"] = b"\x01" + mframe(1, PUBLISH) + \
        frame(2, 1, content_header(60, (1 << 64) - 1)) + frame(3, 1, b"x")
    s["body-overshoot"] = b"\x01" + mframe(1, PUBLISH) + \
        frame(2, 1, content_header(60, 3)) + frame(3, 1, b"abcd")
    s["publish-before-body-done"] = b"\x01" + mframe(1, PUBLISH) + \
        frame(2, 1, content_header(60, 10)) + frame(3, 1, b"abc") + \
        mframe(1, PUBLISH)
    s["empty-body-frame"] = b"\x01" + mframe(1, PUBLISH) + \
        frame(2, 1, content_header(60, 2)) + frame(3, 1, b"") + \
        frame(3, 1, b"ab")
    # Item 14: continuation flag in the properties of a real header frame.
    s["props-continuation"] = b"\x01" + mframe(1, PUBLISH) + \
        frame(2, 1, content_header(60, 1, u16(0x8001) + shortstr("a") +
                                   u16(0))) + frame(3, 1, b"z")
    s["props-deep-headers"] = b"\x01" + mframe(1, PUBLISH) + \
        frame(2, 1, content_header(60, 1, props(headers=longstr(
            deep_tables(80))))) + frame(3, 1, b"z")
    return s


def seeds_method():
    s = {}
    named = {
        "connection-start": START, "connection-start-ok-plain": START_OK,
        "connection-start-ok-amqplain": START_OK_AMQPLAIN,
        "connection-tune": TUNE, "connection-tune-ok": TUNE_OK,
        "connection-open": OPEN, "connection-close": CLOSE,
        "connection-close-ok": CLOSE_OK, "connection-blocked": BLOCKED,
        "connection-update-secret": UPDATE_SECRET,
        "channel-open": CH_OPEN, "channel-flow": CH_FLOW,
        "channel-close": CH_CLOSE, "channel-close-ok": CH_CLOSE_OK,
        "exchange-declare": X_DECLARE, "exchange-delete": X_DELETE,
        "exchange-bind": X_BIND, "queue-declare-args": Q_DECLARE,
        "queue-declare-ok": Q_DECLARE_OK, "queue-bind": Q_BIND,
        "queue-purge": Q_PURGE, "queue-delete": Q_DELETE,
        "queue-unbind": Q_UNBIND, "basic-qos": QOS,
        "basic-consume": CONSUME, "basic-cancel": CANCEL,
        "basic-publish": PUBLISH, "basic-return": RETURN,
        "basic-deliver": DELIVER, "basic-get": GET, "basic-get-ok": GET_OK,
        "basic-get-empty": GET_EMPTY, "basic-ack": ACK,
        "basic-reject": REJECT, "basic-recover-async": RECOVER_ASYNC,
        "basic-recover": RECOVER, "basic-nack": NACK,
        "confirm-select": CONFIRM_SELECT, "tx-select": TX_SELECT,
        "tx-commit": TX_COMMIT,
    }
    s.update(named)
    # Reserved fields with content: they re-encode shorter.
    s["connection-open-reserved"] = method(10, 40, shortstr("/") +
                                           shortstr("caps") + bits(True))
    s["queue-declare-reserved-ticket"] = method(50, 10, u16(0xffff) +
                                                shortstr("q") + u8(0xff) +
                                                table())
    # RELIABILITY 3.2 items 9, 10: undersized, unknown, truncated.
    s["undersized-2"] = b"\x00\x3c"
    s["undersized-0"] = b""
    s["unknown-class"] = method(7, 10)
    s["unknown-method"] = method(60, 41, b"\x00" * 8)
    s["truncated-args"] = Q_DECLARE[:9]
    s["shortstr-beyond"] = method(50, 10, u16(0) + u8(200) + b"short")
    s["longstr-ffffffff"] = method(10, 11, table() + shortstr("PLAIN") +
                                   u32(0xFFFFFFFF) + b"\x00guest")
    s["table-beyond"] = method(50, 10, u16(0) + shortstr("q") + u8(0) +
                               u32(1000) + b"\x03abcS")
    s["trailing-bytes"] = PUBLISH + b"\x00\x00"
    s["start-ok-huge-response"] = method(10, 11, table() + shortstr("PLAIN") +
                                         longstr(b"\x00" + b"u" * 3000 +
                                                 b"\x00p") + shortstr("en"))
    return s


def deep_tables(n):
    """Tables nested n deep (each level one key holding the next)."""
    body = entries(("leaf", f_bool(1)))
    for _ in range(n - 1):
        body = entries(("k", f_table(body)))
    return body


def deep_mixed(n):
    """Tables inside arrays inside tables, n levels; the top is a table."""
    def is_table(level):
        return level % 2 == 1

    body = entries(("leaf", fv("V"))) if is_table(n) else f_bool(1)
    for level in range(n - 1, 0, -1):
        inner = f_array(body) if not is_table(level + 1) else f_table(body)
        body = entries(("a", inner)) if is_table(level) else inner
    return body


def seeds_table():
    s = {}
    for name, val in ALL_TYPES:
        s["type-" + name] = entries(("k", val))
    s["all-types"] = entries(*ALL_TYPES)
    s["empty"] = b""
    s["queue-arguments"] = QUEUE_ARGS[4:]
    s["client-properties"] = CLIENT_PROPS[4:]
    s["nested-tables"] = entries(("a", f_table(entries(
        ("b", f_table(entries(("c", f_str("deep"))))),
        ("list", f_array(f_table(entries(("x", f_i32(1)))) + f_array(b"")))))))
    s["array-of-everything"] = entries(
        ("arr", f_array(b"".join(v for _, v in ALL_TYPES))))
    s["headers-x-match"] = entries(("x-match", f_str("all")),
                                   ("format", f_str("pdf")),
                                   ("type", f_str("report")))
    s["x-death"] = entries(("x-death", f_array(f_table(entries(
        ("count", f_i64(1)), ("reason", f_str("expired")),
        ("queue", f_str("q")), ("time", fv("T", u64(1700000000))),
        ("exchange", f_str("")),
        ("routing-keys", f_array(f_str("q"))))))))
    # RELIABILITY 3.2 item 11.
    s["deep-64-valid"] = deep_tables(64)
    s["deep-65-invalid"] = deep_tables(65)
    s["deep-200"] = deep_tables(200)
    s["deep-mixed-64"] = deep_mixed(64)
    s["deep-mixed-65"] = deep_mixed(65)
    s["deep-mixed-130"] = deep_mixed(130)
    s["unknown-type-X"] = entries(("k", b"X"), ("j", f_bool(1)))
    s["unknown-type-in-array"] = entries(("k", f_array(b"X" + u32(0))))
    s["zero-length-key"] = shortstr("") + f_bool(1)
    s["decimal-scale-255"] = entries(("d", fv("D", u8(255) + u32(1))))
    s["decimal-scale-10"] = entries(("d", fv("D", u8(10) + u32(12345))))
    s["duplicate-keys"] = entries(("k", f_i32(1)), ("k", f_str("two")),
                                  ("k", f_bool(0)))
    s["many-tiny-entries"] = b"".join(shortstr("k%d" % (i % 10)) + fv("V")
                                      for i in range(1000))
    s["longstr-ffffffff"] = entries(("k", b"S" + u32(0xFFFFFFFF) + b"abc"))
    s["table-length-lies"] = entries(("k", b"F" + u32(1000) +
                                      shortstr("x") + b"V"))
    s["truncated-int"] = entries(("k", b"I\x00\x01"))
    s["bool-2"] = entries(("b", fv("t", u8(2))))
    s["nan-floats"] = entries(("f", fv("f", b"\x7f\xc0\x00\x01")),
                              ("d", fv("d", b"\x7f\xf8" + b"\x00" * 5 +
                                       b"\x01")))
    s["u64-above-int64"] = entries(("u", fv("L", u64(1 << 63))))
    s["key-with-nul"] = entries((b"a\x00b", f_bool(1)), ("a", f_bool(0)))
    s["key-255"] = entries(("k" * 255, f_str("long key")))
    return s


def seeds_props():
    s = {}
    s["none"] = props()
    s["basic"] = PROPS_BASIC
    s["all"] = props(content_type="application/json",
                     content_encoding="gzip",
                     headers=table(*ALL_TYPES),
                     delivery_mode=2, priority=9, correlation_id="c-1",
                     reply_to="amq.rabbitmq.reply-to", expiration="60000",
                     message_id="m-1", timestamp=1700000000, type="order",
                     user_id="guest", app_id="seeds")
    s["headers-cc-bcc"] = props(headers=table(
        ("CC", f_array(f_str("rk1") + f_str("rk2"))),
        ("BCC", f_array(f_str("hidden")))))
    s["headers-x-death"] = props(headers=table(("x-death", f_array(f_table(
        entries(("count", f_i64(2)), ("reason", f_str("rejected")),
                ("queue", f_str("q"))))))))
    s["headers-deep"] = props(headers=longstr(deep_tables(70)))
    s["headers-invalid"] = props(headers=longstr(shortstr("k") + b"X"))
    # RELIABILITY 3.2 item 14.
    s["continuation-bit"] = u16(0x8001) + shortstr("text/plain") + u16(0)
    s["continuation-only"] = u16(0x0001)
    s["flag-bit-1"] = u16(0x0002)
    s["reserved-bit-2"] = props(reserved="r")
    s["delivery-mode-0"] = props(delivery_mode=0)
    s["delivery-mode-3"] = props(delivery_mode=3)
    s["delivery-mode-255"] = props(delivery_mode=255)
    s["priority-255"] = props(priority=255)
    for i, e in enumerate(["abc", "-1", "99999999999999999999", "", "0"]):
        s["expiration-%d" % i] = props(expiration=e)
    s["truncated"] = props(content_type="text/plain")[:6]
    s["trailing"] = props(delivery_mode=1) + b"\x00"
    s["empty"] = b""
    s["one-byte"] = b"\x80"
    s["headers-length-ffffffff"] = u16(0x2000) + u32(0xFFFFFFFF)
    s["user-id-forged"] = props(user_id="admin", app_id="x")
    return s


# ---- the admin API's HTTP requests ----------------------------------------

GUEST = b"Authorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n"


def http(method, path, headers=b"", body=None, version=b"HTTP/1.1"):
    h = method + b" " + path + b" " + version + b"\r\nHost: localhost\r\n"
    h += headers
    if body is not None:
        h += b"Content-Type: application/json\r\n"
        h += b"Content-Length: %d\r\n" % len(body)
    return h + b"\r\n" + (body or b"")


def seeds_http():
    # Selector 0: all at once; 1: a byte per read; 5: 64 bytes per read.
    return {
        "whoami": u8(0) + http(b"GET", b"/api/whoami", GUEST),
        "whoami-bytewise": u8(1) + http(b"GET", b"/api/whoami", GUEST),
        "overview-query": u8(0) + http(
            b"GET", b"/api/overview?columns=object_totals&x=a+b%26c", GUEST),
        "head": u8(0) + http(b"HEAD", b"/api/whoami", GUEST),
        "put-vhost": u8(5) + http(
            b"PUT", b"/api/vhosts/%2F", GUEST,
            b'{"description":"d","tags":"a,b","tracing":false}'),
        "put-user": u8(0) + http(
            b"PUT", b"/api/users/bob", GUEST,
            b'{"password":"secret","tags":"management"}'),
        "put-permissions": u8(0) + http(
            b"PUT", b"/api/permissions/app%201/bob", GUEST,
            b'{"configure":".*","write":"^bob\\.","read":".*"}'),
        "delete-expect": u8(0) + http(
            b"DELETE", b"/api/vhosts/v", GUEST + b"Expect: 100-continue\r\n"),
        "pipelined": u8(2) + http(b"GET", b"/api/whoami", GUEST) +
        http(b"POST", b"/api/x", GUEST, b"{}") +
        http(b"GET", b"/api/overview", b"Connection: close\r\n"),
        "http10-keepalive": u8(0) + http(
            b"GET", b"/api/whoami", GUEST + b"Connection: keep-alive\r\n",
            version=b"HTTP/1.0"),
        "origin-cors": u8(0) + http(
            b"GET", b"/api/whoami",
            GUEST + b"Origin: http://evil.example\r\n"),
        "chunked": u8(0) + http(
            b"POST", b"/api/definitions",
            GUEST + b"Transfer-Encoding: chunked\r\n") + b"2\r\n{}\r\n0\r\n\r\n",
        "huge-length": u8(0) + b"PUT /api/definitions HTTP/1.1\r\nHost: x\r\n"
        + GUEST + b"Content-Length: 100000000\r\n\r\n",
        "bad-escape": u8(0) + http(b"GET", b"/api/vhosts/%zz%00", GUEST),
        "bad-basic": u8(0) + http(
            b"GET", b"/api/whoami", b"Authorization: Basic !!!=\r\n"),
    }


def seeds_json(here):
    # Selector 0: about the default limits; 1: tiny; 2: depth 3; 3: 64 bytes.
    fixture = os.path.join(here, "..", "data", "definitions-rabbitmq.json")
    with open(fixture, "rb") as f:
        defs = f.read()
    return {
        "definitions-fixture": u8(0) + defs,
        "definitions-fixture-tiny": u8(1) + defs,
        "put-vhost": u8(0) + b'{"description":"d","tags":"a,b","tracing":false}',
        "put-user": u8(0) + b'{"password":"secret","tags":"management"}',
        "put-user-hash": u8(0) + b'{"password_hash":"kI3GCqW5JLMJa4iX1lo7X4D6'
        b'XbYqlLgxIs30+P6tENUV2POR","hashing_algorithm":'
        b'"rabbit_password_hashing_sha256","tags":""}',
        "put-permissions": u8(0) +
        b'{"configure":".*","write":"^bob\\.","read":".*"}',
        "put-topic-permissions": u8(2) +
        b'{"exchange":"amq.topic","write":"^a","read":".*"}',
        "numbers": u8(0) + b'[0,-0,1,-1,9223372036854775807,'
        b'-9223372036854775808,9223372036854775808,1.5,-2.5e-3,1E308,'
        b'4.9e-324,0.1e1]',
        "strings": u8(0) + b'["","\\u0000","\\ud83d\\ude00","\\"\\\\\\/'
        b'\\b\\f\\n\\r\\t","\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"]',
        "nested": u8(2) + b'{"a":[{"b":[1]}],"c":{}}',
        "deep": u8(0) + b"[" * 64 + b"]" * 64,
        "too-deep": u8(0) + b"[" * 65 + b"]" * 65,
        "duplicate-key": u8(0) + b'{"a":1,"a":2}',
        "lone-surrogate": u8(0) + b'"\\ud800"',
        "bad-utf8": u8(0) + b'"\xc0\xaf"',
        "trailing": u8(3) + b'{"a":true} x',
        "literals": u8(3) + b' [null, true, false] ',
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "corpus"),
                    help="corpus directory (default: %(default)s)")
    args = ap.parse_args()
    total = 0
    for target, gen in (("fuzz_frame", seeds_frame),
                        ("fuzz_method", seeds_method),
                        ("fuzz_table", seeds_table),
                        ("fuzz_props", seeds_props),
                        ("fuzz_http", seeds_http),
                        ("fuzz_json", lambda: seeds_json(here))):
        d = os.path.join(args.out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(gen().items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            total += 1
    print("make-seeds: wrote %d seeds under %s" % (total, args.out),
          file=sys.stderr)


if __name__ == "__main__":
    main()
