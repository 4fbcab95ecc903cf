#!/usr/bin/python3
"""warren client-family test: kombu + a real Celery worker with rpc://.

usage: celery_rpc.py HOST PORT
1. kombu directly: declare, publish with confirms (confirm_publish), consume
   + ack with header/property round-trip, basic.get, a 404 channel error
   (amqp.exceptions.NotFound) and reuse of the connection afterwards.
2. starts `python3 -m celery -A celery_app worker`, runs add.delay(2, 3)
   through the rpc:// backend, and a task that raises, checking the
   exception comes back; then stops the worker.
"""
import os
import signal
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def fail(msg):
    print("celery_rpc: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def kombu_checks(url):
    import amqp.exceptions
    from kombu import Connection, Exchange, Queue

    qname = "warren-kombu-" + uuid.uuid4().hex
    with Connection(url, connect_timeout=5,
                    transport_options={"confirm_publish": True}) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
        ex = Exchange("", type="direct")
        queue = Queue(qname, exchange=ex, routing_key=qname, durable=False,
                      auto_delete=False)
        ch = conn.channel()
        queue(ch).declare()
        producer = conn.Producer(channel=ch, serializer="json")
        # confirm_publish: publish blocks until basic.ack (raises on nack)
        producer.publish({"n": 1}, routing_key=qname, headers={"x-warren": "kombu"},
                         correlation_id="k-corr", declare=[queue])

        got = []

        def on_message(body, message):
            got.append((body, message.headers, message.properties))
            message.ack()

        consumer = conn.Consumer(queue, callbacks=[on_message], channel=ch,
                                 accept=["json"], prefetch_count=1)
        with consumer:
            deadline = time.time() + 5
            while not got and time.time() < deadline:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
                except OSError as e:  # socket.timeout on older pythons
                    if "timed out" not in str(e):
                        raise
        if not got:
            fail("kombu: no message consumed")
        body, headers, props = got[0]
        if body != {"n": 1} or headers.get("x-warren") != "kombu" \
                or props.get("correlation_id") != "k-corr":
            fail("kombu: round-trip %r %r %r" % (body, headers, props))

        if len(got) != 1:
            fail("kombu: expected 1 delivery, got %d" % len(got))

        # basic.get of a message published after the consumer was cancelled
        producer.publish({"n": 2}, routing_key=qname, headers={"x-warren": "get"})
        msg = None
        deadline = time.time() + 5
        while msg is None and time.time() < deadline:
            msg = queue(ch).get(no_ack=False, accept=["json"])
            if msg is None:
                time.sleep(0.05)
        if msg is None or msg.payload != {"n": 2} or msg.headers.get("x-warren") != "get":
            fail("kombu: basic.get got %r" % (msg and (msg.payload, msg.headers),))
        msg.ack()

        # channel error: passive declare of a missing queue -> 404 NotFound
        ch2 = conn.channel()
        try:
            ch2.queue_declare(queue=qname + "-missing", passive=True)
            fail("kombu: passive declare of missing queue succeeded")
        except amqp.exceptions.NotFound as e:
            if getattr(e, "reply_code", 404) != 404:
                fail("kombu: expected 404, got %r" % (e,))
        # connection still usable on a new channel
        ch3 = conn.channel()
        _, count, _ = ch3.queue_declare(queue=qname, passive=True)
        if count != 0:
            fail("kombu: queue should be empty, has %d" % count)
        ch3.queue_delete(qname)


def main():
    host, port = sys.argv[1], sys.argv[2]
    # `timeout` sends SIGTERM: turn it into SystemExit so the worker is reaped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("celery_rpc: FAIL: terminated"))
    # hard deadline (e.g. a publisher confirm that never comes)
    signal.signal(signal.SIGALRM, lambda *_: sys.exit("celery_rpc: FAIL: deadline exceeded"))
    signal.alarm(30)
    url = "amqp://guest:guest@%s:%s//" % (host, port)
    kombu_checks(url)

    env = dict(os.environ)
    env["WARREN_CELERY_BROKER"] = url
    env["WARREN_CELERY_QUEUE"] = "warren-celery-" + uuid.uuid4().hex
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    os.environ.update(env)
    log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"),
                            "warren-celery-worker-%d.log" % os.getpid()), "w+")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_app", "worker",
         "--loglevel=INFO", "--concurrency=1", "--pool=prefork",
         "-n", "warren-%s@%%h" % env["WARREN_CELERY_QUEUE"][-8:]],
        cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    ok = False
    try:
        from celery_app import app, add, boom
        r = add.delay(2, 3)
        v = r.get(timeout=20)
        if v != 5:
            fail("add(2, 3) returned %r" % (v,))
        r2 = boom.delay("kaboom")
        try:
            r2.get(timeout=20)
            fail("boom task did not raise")
        except ValueError as e:
            if "kaboom" not in str(e):
                fail("boom raised %r" % (e,))
        if r2.state != "FAILURE":
            fail("boom state %r" % (r2.state,))
        # several in flight at once
        rs = [add.delay(i, i) for i in range(5)]
        vals = [x.get(timeout=20) for x in rs]
        if vals != [2 * i for i in range(5)]:
            fail("batch results %r" % (vals,))
        ok = True
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)  # warm shutdown
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        if not ok or os.environ.get("WARREN_CLIENTS_VERBOSE"):
            log.seek(0)
            sys.stderr.write("---- celery worker log ----\n" + log.read()[-4000:])
        log.close()
        os.unlink(log.name)
    # tidy up the broker side (the task queue is durable)
    with app.connection_for_write() as c:
        c.default_channel.queue_delete(env["WARREN_CELERY_QUEUE"])
        c.default_channel.exchange_delete(env["WARREN_CELERY_QUEUE"])
    app.close()
    print("celery_rpc: ok")


if __name__ == "__main__":
    main()
