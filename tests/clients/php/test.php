<?php
// warren client-family test: php-amqplib (Debian php-amqplib).
//
// usage: php test.php HOST PORT
// Declares a queue, publishes with publisher confirms, consumes + acks
// (checking body, headers and properties), basic.get, provokes a 404
// channel error and checks the connection stays usable on a new channel.
// Uses the library defaults, including the AMQPLAIN login method.

require_once '/usr/share/php/PhpAmqpLib/autoload.php';

use PhpAmqpLib\Connection\AMQPStreamConnection;
use PhpAmqpLib\Exception\AMQPProtocolChannelException;
use PhpAmqpLib\Message\AMQPMessage;
use PhpAmqpLib\Wire\AMQPTable;

function fail($msg)
{
    static $failing = false;
    if (!$failing) {
        $failing = true;
        fwrite(STDERR, "php-amqplib: FAIL: $msg\n");
        // exit() runs the connection destructors, whose close handshake may
        // block on a broken broker: bound that too
        if (function_exists('pcntl_alarm')) {
            pcntl_alarm(3);
        }
    }
    exit(1);
}

if ($argc != 3) {
    fail("usage: test.php HOST PORT");
}
[$_, $host, $port] = $argv;
// hard deadline: fail rather than hang on a misbehaving broker
// (set_time_limit counts CPU time only, so use SIGALRM where available)
if (function_exists('pcntl_alarm')) {
    pcntl_async_signals(true);
    pcntl_signal(SIGALRM, function () { fail('deadline exceeded'); });
    pcntl_alarm(20);
}

try {
    $conn = new AMQPStreamConnection($host, (int)$port, 'guest', 'guest', '/',
        false, 'AMQPLAIN', null, 'en_US', 5.0, 5.0);
    $ch = $conn->channel();
    $ch->confirm_select();
    $acked = [];
    $nacked = [];
    $ch->set_ack_handler(function (AMQPMessage $m) use (&$acked) { $acked[] = $m; });
    $ch->set_nack_handler(function (AMQPMessage $m) use (&$nacked) { $nacked[] = $m; });
    $ch->basic_qos(null, 1, null);

    $q = 'warren-php-' . bin2hex(random_bytes(8));
    [$qname, $count, $consumers] = $ch->queue_declare($q, false, false, false, false);
    if ($qname !== $q || $count !== 0 || $consumers !== 0) {
        fail("declare-ok $qname $count $consumers");
    }

    $msg = new AMQPMessage('hello from php', [
        'content_type' => 'text/plain',
        'correlation_id' => 'php-corr',
        'message_id' => 'php-1',
        'reply_to' => 'php-reply',
        'delivery_mode' => AMQPMessage::DELIVERY_MODE_PERSISTENT,
        'priority' => 6,
        'timestamp' => 1700000000,
        'type' => 'php-type',
        'app_id' => 'warren-php',
        'application_headers' => new AMQPTable(['x-warren' => 'php', 'n' => 13, 'f' => false]),
    ]);
    $ch->basic_publish($msg, '', $q, true);
    $ch->wait_for_pending_acks_returns(5.0);
    if (count($acked) !== 1 || count($nacked) !== 0) {
        fail('confirms: acked ' . count($acked) . ' nacked ' . count($nacked));
    }

    $got = null;
    $ch->basic_consume($q, 'php-ctag', false, false, false, false,
        function (AMQPMessage $m) use (&$got) {
            if ($got === null) {
                $got = $m;
                $m->ack();
            }
        });
    $deadline = microtime(true) + 5;
    while ($got === null && microtime(true) < $deadline) {
        $ch->wait(null, false, 1.0);
    }
    if ($got === null) {
        fail('no delivery');
    }
    if ($got->getBody() !== 'hello from php') {
        fail('body ' . $got->getBody());
    }
    $h = $got->get('application_headers')->getNativeData();
    if (($h['x-warren'] ?? null) !== 'php' || ($h['n'] ?? null) !== 13 || ($h['f'] ?? null) !== false) {
        fail('headers ' . var_export($h, true));
    }
    foreach (['content_type' => 'text/plain', 'correlation_id' => 'php-corr',
              'message_id' => 'php-1', 'reply_to' => 'php-reply', 'delivery_mode' => 2,
              'priority' => 6, 'timestamp' => 1700000000, 'type' => 'php-type',
              'app_id' => 'warren-php'] as $k => $v) {
        if ($got->get($k) !== $v) {
            fail("property $k: " . var_export($got->get($k), true));
        }
    }
    if ($got->getConsumerTag() !== 'php-ctag' || $got->getRoutingKey() !== $q
        || $got->getExchange() !== '' || $got->isRedelivered()) {
        fail('delivery fields');
    }
    $ch->basic_cancel('php-ctag');

    // basic.get
    $ch->basic_publish(new AMQPMessage('for get',
        ['application_headers' => new AMQPTable(['k' => 'v'])]), '', $q);
    $ch->wait_for_pending_acks_returns(5.0);
    if (count($acked) !== 2) {
        fail('second publish not confirmed');
    }
    $m = $ch->basic_get($q);
    if ($m === null || $m->getBody() !== 'for get'
        || $m->get('application_headers')->getNativeData()['k'] !== 'v') {
        fail('basic.get ' . var_export($m ? $m->getBody() : null, true));
    }
    if ($m->getMessageCount() !== 0) {
        fail('get-ok message_count ' . $m->getMessageCount());
    }
    $m->ack();
    if ($ch->basic_get($q, true) !== null) {
        fail('basic.get on empty queue returned a message');
    }

    // channel error: passive declare of a missing queue -> 404
    $ch2 = $conn->channel();
    try {
        $ch2->queue_declare($q . '-missing', true);
        fail('passive declare of a missing queue succeeded');
    } catch (AMQPProtocolChannelException $e) {
        if ($e->getCode() !== 404) {
            fail('expected 404, got ' . $e->getCode() . ' ' . $e->getMessage());
        }
    }
    if ($ch2->is_open()) {
        fail('channel still open after 404');
    }
    if (!$conn->isConnected()) {
        fail('connection closed after channel error');
    }

    $ch3 = $conn->channel();
    [, $count] = $ch3->queue_declare($q, true);
    if ($count !== 0) {
        fail("queue should be empty, has $count");
    }
    $ch3->queue_delete($q);
    $ch->close();
    $conn->close();
    echo "php-amqplib: ok\n";
} catch (Throwable $e) {
    fail(get_class($e) . ': ' . $e->getMessage());
}
