#!/usr/bin/python3
"""warren client-family test: pika SelectConnection (asynchronous, callbacks).

usage: pika_select.py HOST PORT
Same checks as pika_blocking.py, driven as a callback state machine on the
SelectConnection ioloop.  An overall deadline makes it fail instead of hang.
"""
import sys
import uuid

import pika
import pika.exceptions

DEADLINE = 15


class Test:
    def __init__(self, host, port):
        self.q = "warren-pika-select-" + uuid.uuid4().hex
        self.ok = False
        self.error = None
        self.acked_tags = set()
        self.published = 0
        params = pika.ConnectionParameters(
            host=host, port=port, virtual_host="/",
            credentials=pika.PlainCredentials("guest", "guest"),
            connection_attempts=1, socket_timeout=5, stack_timeout=5)
        self.conn = pika.SelectConnection(
            params,
            on_open_callback=self.on_open,
            on_open_error_callback=self.on_open_error,
            on_close_callback=self.on_conn_closed)

    # ---- plumbing ------------------------------------------------------
    def fail(self, msg):
        if self.error is None:
            self.error = msg
        if self.conn.is_open:
            self.conn.close()
            self.conn.ioloop.call_later(3, self.conn.ioloop.stop)
        elif not self.conn.is_closing:
            self.conn.ioloop.stop()

    def step(self, fn):
        """Wrap a callback so an exception inside it fails the test."""
        def wrapped(*a, **kw):
            try:
                fn(*a, **kw)
            except Exception as e:  # noqa: BLE001
                self.fail("%s: %r" % (fn.__name__, e))
        return wrapped

    def on_open_error(self, _conn, err):
        self.error = self.error or "connection open failed: %r" % (err,)
        self.conn.ioloop.stop()

    def on_conn_closed(self, _conn, reason):
        if not self.ok and self.error is None:
            self.error = "connection closed unexpectedly: %r" % (reason,)
        self.conn.ioloop.stop()

    def on_deadline(self):
        # don't attempt a clean close: the broker may not answer it
        self.error = self.error or "deadline of %ds exceeded" % DEADLINE
        self.conn.ioloop.stop()

    # ---- the test ------------------------------------------------------
    def on_open(self, _conn):
        self.conn.channel(on_open_callback=self.step(self.on_channel))

    def on_channel(self, ch):
        self.ch = ch
        ch.add_on_close_callback(self.step(self.on_main_channel_closed))
        ch.confirm_delivery(ack_nack_callback=self.step(self.on_confirm),
                            callback=self.step(self.on_confirm_select_ok))

    def on_main_channel_closed(self, _ch, reason):
        if not self.ok:
            self.fail("main channel closed: %r" % (reason,))

    def on_confirm_select_ok(self, _frame):
        self.ch.basic_qos(prefetch_count=10, callback=self.step(self.on_qos_ok))

    def on_qos_ok(self, _frame):
        self.ch.queue_declare(self.q, callback=self.step(self.on_declare_ok))

    def on_declare_ok(self, frame):
        if frame.method.queue != self.q:
            return self.fail("declare-ok names %r" % frame.method.queue)
        props = pika.BasicProperties(
            content_type="application/json", correlation_id="sel-corr",
            reply_to="reply-q", priority=3, delivery_mode=1,
            headers={"x-warren": "select", "list": [1, "two"]})
        self.ch.basic_publish("", self.q, b'{"n": 1}', props)
        self.ch.basic_publish("", self.q, b"for-get",
                              pika.BasicProperties(headers={"k": "v"}))
        self.published = 2

    def on_confirm(self, frame):
        name = type(frame.method).__name__
        if name != "Ack":
            return self.fail("publisher confirm was %s" % name)
        tag = frame.method.delivery_tag
        if frame.method.multiple:
            self.acked_tags.update(range(1, tag + 1))
        else:
            self.acked_tags.add(tag)
        if self.acked_tags >= {1, 2} and not hasattr(self, "ctag"):
            # both confirmed: consume exactly one message
            self.ctag = self.ch.basic_consume(
                self.q, self.step(self.on_message), auto_ack=False)

    def on_message(self, ch, method, props, body):
        if getattr(self, "consumed", False):
            return  # second message prefetched: left unacked, requeued on cancel
        self.consumed = True
        if body != b'{"n": 1}':
            return self.fail("consumed body %r" % body)
        h = props.headers or {}
        if h.get("x-warren") != "select" or h.get("list") != [1, b"two"] and h.get("list") != [1, "two"]:
            return self.fail("headers round-trip %r" % h)
        if (props.content_type, props.correlation_id, props.reply_to, props.priority) != \
                ("application/json", "sel-corr", "reply-q", 3):
            return self.fail("properties round-trip %r" % props)
        if method.routing_key != self.q or method.exchange != "":
            return self.fail("deliver fields %r" % method)
        ch.basic_ack(method.delivery_tag)
        ch.basic_cancel(self.ctag, callback=self.step(self.on_cancel_ok))

    def on_cancel_ok(self, _frame):
        # unacked prefetched messages stay unacked until we recover/close;
        # basic.recover requeues them so basic.get can see them.
        self.ch.basic_recover(requeue=True, callback=self.step(self.on_recover_ok))

    def on_recover_ok(self, _frame):
        self.ch.basic_get(self.q, self.step(self.on_get), auto_ack=False)

    def on_get(self, ch, method, props, body):
        if body != b"for-get" or (props.headers or {}).get("k") != "v":
            return self.fail("basic.get got %r %r" % (body, props.headers))
        ch.basic_ack(method.delivery_tag)
        # channel error on a second channel
        self.conn.channel(on_open_callback=self.step(self.on_err_channel))

    def on_err_channel(self, ch):
        ch.add_on_close_callback(self.step(self.on_err_channel_closed))
        ch.queue_declare(self.q + "-missing", passive=True,
                         callback=self.step(self.on_missing_declared))

    def on_missing_declared(self, _frame):
        self.fail("passive declare of a missing queue succeeded")

    def on_err_channel_closed(self, _ch, reason):
        if not isinstance(reason, pika.exceptions.ChannelClosedByBroker) \
                or reason.reply_code != 404:
            return self.fail("expected 404 channel close, got %r" % (reason,))
        if not self.conn.is_open:
            return self.fail("connection closed after channel error")
        self.conn.channel(on_open_callback=self.step(self.on_third_channel))

    def on_third_channel(self, ch):
        self.ch3 = ch
        ch.queue_declare(self.q, passive=True, callback=self.step(self.on_passive_ok))

    def on_passive_ok(self, frame):
        if frame.method.message_count != 0:
            return self.fail("queue should be empty, has %d" % frame.method.message_count)
        self.ch3.queue_delete(self.q, callback=self.step(self.on_deleted))

    def on_deleted(self, _frame):
        self.ok = True
        self.conn.close()

    def run(self):
        self.conn.ioloop.call_later(DEADLINE, self.on_deadline)
        self.conn.ioloop.start()
        if self.error or not self.ok:
            print("pika_select: FAIL: %s" % (self.error or "did not finish"),
                  file=sys.stderr)
            return 1
        print("pika_select: ok")
        return 0


if __name__ == "__main__":
    sys.exit(Test(sys.argv[1], int(sys.argv[2])).run())
