#!/usr/bin/python3
"""warren client-family test: pika BlockingConnection.

usage: pika_blocking.py HOST PORT
Declares a queue, publishes with confirms, consumes+acks (checking body,
headers and properties), basic.get, provokes a 404 channel error and checks
the connection is still usable on a new channel.
"""
import signal
import sys
import uuid

import pika
import pika.exceptions


def fail(msg):
    print("pika_blocking: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    # hard deadline: fail rather than hang (e.g. a confirm that never comes)
    signal.signal(signal.SIGALRM, lambda *_: fail("deadline exceeded"))
    signal.alarm(20)
    params = pika.ConnectionParameters(
        host=host, port=port, virtual_host="/",
        credentials=pika.PlainCredentials("guest", "guest"),
        connection_attempts=1, socket_timeout=5, blocked_connection_timeout=10,
        stack_timeout=5)
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_qos(prefetch_count=1)

    q = "warren-pika-blocking-" + uuid.uuid4().hex
    ok = ch.queue_declare(queue=q, durable=False, auto_delete=False)
    if ok.method.queue != q:
        fail("declare-ok queue name %r" % ok.method.queue)
    if ok.method.message_count != 0:
        fail("fresh queue has %d messages" % ok.method.message_count)

    props = pika.BasicProperties(
        content_type="text/plain", correlation_id="corr-1", message_id="m-1",
        delivery_mode=2, headers={"x-warren": "hdr-value", "n": 42})
    # With confirms on, basic_publish raises on nack / unroutable(mandatory).
    ch.basic_publish(exchange="", routing_key=q, body=b"hello-consume",
                     properties=props, mandatory=True)
    ch.basic_publish(exchange="", routing_key=q, body=b"hello-get",
                     properties=pika.BasicProperties(headers={"k": "v"}))

    # consume one, check body + properties, ack
    got = None
    for method, properties, body in ch.consume(q, auto_ack=False, inactivity_timeout=5):
        if method is None:
            fail("timed out waiting for delivery")
        got = (method, properties, body)
        ch.basic_ack(method.delivery_tag)
        break
    ch.cancel()
    method, properties, body = got
    if body != b"hello-consume":
        fail("consumed body %r" % body)
    if properties.headers is None or properties.headers.get("x-warren") != "hdr-value" \
            or properties.headers.get("n") != 42:
        fail("headers round-trip %r" % properties.headers)
    if properties.correlation_id != "corr-1" or properties.message_id != "m-1" \
            or properties.content_type != "text/plain" or properties.delivery_mode != 2:
        fail("properties round-trip %r" % properties)

    # basic.get (the consumer was cancelled; the second message may have
    # been prefetched and requeued by cancel, so it must come back)
    m, p, b = ch.basic_get(q, auto_ack=False)
    if m is None:
        fail("basic.get returned empty")
    if b != b"hello-get" or (p.headers or {}).get("k") != "v":
        fail("basic.get body/headers %r %r" % (b, p.headers))
    ch.basic_ack(m.delivery_tag)
    m, p, b = ch.basic_get(q, auto_ack=True)
    if m is not None:
        fail("basic.get on empty queue returned a message")

    # channel error: passive declare of a missing queue -> 404
    ch2 = conn.channel()
    try:
        ch2.queue_declare(queue=q + "-missing", passive=True)
        fail("passive declare of a missing queue succeeded")
    except pika.exceptions.ChannelClosedByBroker as e:
        if e.reply_code != 404:
            fail("expected 404, got %r" % (e,))
    if ch2.is_open:
        fail("channel still open after 404")
    if not conn.is_open:
        fail("connection closed after channel error")

    # connection still usable on a new channel
    ch3 = conn.channel()
    ch3.confirm_delivery()
    ch3.basic_publish(exchange="", routing_key=q, body=b"after-error")
    m, p, b = ch3.basic_get(q, auto_ack=True)
    if b != b"after-error":
        fail("after channel error, basic.get got %r" % (b,))
    ch3.queue_delete(q)
    ch.close()
    conn.close()
    print("pika_blocking: ok")


if __name__ == "__main__":
    main()
