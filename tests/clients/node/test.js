#!/usr/bin/env node
// warren client-family test: amqplib (promise API, ConfirmChannel).
//
// usage: node test.js HOST PORT
// Declares a queue, publishes with publisher confirms, consumes + acks
// (checking body, headers and properties), basic.get, provokes a 404
// channel error and checks the connection stays usable on a new channel.
'use strict';

const amqp = require('amqplib');
const crypto = require('node:crypto');

function fail(msg) {
  console.error('amqplib: FAIL: ' + msg);
  process.exit(1);
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error('timeout: ' + what)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

async function main() {
  const [host, port] = process.argv.slice(2);
  if (!host || !port) fail('usage: test.js HOST PORT');
  // hard deadline: fail rather than hang on a misbehaving broker
  setTimeout(() => fail('deadline exceeded'), 20000).unref();

  const conn = await withTimeout(
    amqp.connect(`amqp://guest:guest@${host}:${port}/`, {timeout: 5000}),
    8000, 'connect');
  let connClosed = null;
  conn.on('error', (e) => { connClosed = e; });
  conn.on('close', (e) => { connClosed = connClosed || e || 'closed'; });

  const ch = await conn.createConfirmChannel();
  ch.on('error', (e) => fail('main channel error: ' + e.message));
  await ch.prefetch(1);

  const q = 'warren-amqplib-' + crypto.randomBytes(8).toString('hex');
  const ok = await ch.assertQueue(q, {durable: false, autoDelete: false});
  if (ok.queue !== q || ok.messageCount !== 0) fail('declare-ok ' + JSON.stringify(ok));

  // publish with confirm: callback form and waitForConfirms
  const confirmed = new Promise((resolve, reject) => {
    ch.sendToQueue(q, Buffer.from('hello from node'), {
      headers: {'x-warren': 'node', n: 9, nested: {a: 'b'}},
      contentType: 'text/plain', correlationId: 'node-corr', messageId: 'node-1',
      replyTo: 'node-reply', persistent: true, priority: 4, appId: 'warren-node',
      timestamp: 1700000000, type: 't1', expiration: '60000', mandatory: true,
    }, (err) => (err ? reject(err) : resolve()));
  });
  await withTimeout(confirmed, 5000, 'publisher confirm');
  await withTimeout(ch.waitForConfirms(), 5000, 'waitForConfirms');

  const delivered = new Promise((resolve) => {
    ch.consume(q, (msg) => resolve(msg), {noAck: false, consumerTag: 'node-ctag'});
  });
  const msg = await withTimeout(delivered, 5000, 'delivery');
  if (msg === null) fail('consumer cancelled by server');
  if (msg.content.toString() !== 'hello from node') fail('body ' + msg.content);
  const p = msg.properties;
  const h = p.headers || {};
  if (h['x-warren'] !== 'node' || h.n !== 9 || !h.nested || h.nested.a !== 'b')
    fail('headers ' + JSON.stringify(h));
  if (p.contentType !== 'text/plain' || p.correlationId !== 'node-corr' ||
      p.messageId !== 'node-1' || p.replyTo !== 'node-reply' || p.deliveryMode !== 2 ||
      p.priority !== 4 || p.appId !== 'warren-node' || p.timestamp !== 1700000000 ||
      p.type !== 't1' || p.expiration !== '60000')
    fail('properties ' + JSON.stringify(p));
  const f = msg.fields;
  if (f.consumerTag !== 'node-ctag' || f.routingKey !== q || f.exchange !== '' || f.redelivered)
    fail('fields ' + JSON.stringify(f));
  ch.ack(msg);
  await ch.cancel('node-ctag');

  // basic.get
  ch.sendToQueue(q, Buffer.from('for get'), {headers: {k: 'v'}});
  await withTimeout(ch.waitForConfirms(), 5000, 'confirm 2');
  const got = await ch.get(q, {noAck: false});
  if (!got || got.content.toString() !== 'for get' || got.properties.headers.k !== 'v')
    fail('basic.get ' + (got && got.content));
  if (got.fields.messageCount !== 0) fail('get-ok message_count ' + got.fields.messageCount);
  ch.ack(got);
  const empty = await ch.get(q, {noAck: true});
  if (empty !== false) fail('basic.get on empty queue returned a message');

  // channel error: passive declare of a missing queue -> 404
  const ch2 = await conn.createChannel();
  let ch2Err = null;
  ch2.on('error', (e) => { ch2Err = e; });
  const ch2Closed = new Promise((resolve) => ch2.on('close', resolve));
  try {
    await ch2.checkQueue(q + '-missing');
    fail('passive declare of a missing queue succeeded');
  } catch (e) {
    if (e.code !== 404) fail('expected 404, got ' + e.message);
  }
  await withTimeout(ch2Closed, 5000, 'channel close');
  if (!ch2Err || ch2Err.code !== 404) fail('channel error event ' + ch2Err);
  if (connClosed) fail('connection closed after channel error: ' + connClosed);

  const ch3 = await conn.createChannel();
  const chk = await ch3.checkQueue(q);
  if (chk.messageCount !== 0) fail('queue not empty: ' + chk.messageCount);
  const del = await ch3.deleteQueue(q);
  if (del.messageCount !== 0) fail('delete-ok ' + JSON.stringify(del));
  await ch.close();
  await conn.close();
  console.log('amqplib: ok');
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
