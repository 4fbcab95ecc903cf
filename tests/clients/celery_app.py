"""Celery app for the warren client-family test (see celery_rpc.py).

The broker URL comes from WARREN_CELERY_BROKER; results use the rpc://
backend (replies over AMQP to a per-client queue).
"""
import os

from celery import Celery

app = Celery("warren_celery_test",
             broker=os.environ.get("WARREN_CELERY_BROKER",
                                   "amqp://guest:guest@127.0.0.1:5672//"),
             backend="rpc://")
app.conf.update(
    task_default_queue=os.environ.get("WARREN_CELERY_QUEUE", "warren-celery"),
    broker_connection_retry_on_startup=False,
    broker_connection_max_retries=1,
    broker_transport_options={"confirm_publish": True},
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
    worker_prefetch_multiplier=1,
    task_acks_late=True,
)


@app.task
def add(x, y):
    return x + y


@app.task
def boom(msg):
    raise ValueError(msg)
