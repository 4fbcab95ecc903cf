#!/usr/bin/ruby
# warren client-family test: bunny (Debian ruby-bunny).
#
# usage: ruby test.rb HOST PORT
# Declares a queue, publishes with publisher confirms, consumes + acks
# (checking body, headers and properties), basic.get, provokes a 404
# channel error and checks the connection stays usable on a new channel.
require "bunny"
require "securerandom"
require "timeout"

$stdout.sync = true

def fail!(msg)
  $stderr.puts "bunny: FAIL: #{msg}"
  exit! 1
end

host, port = ARGV
fail!("usage: test.rb HOST PORT") unless host && port
# hard deadline: fail rather than hang on a misbehaving broker
Thread.new { sleep 20; fail!("deadline exceeded") }

begin
  conn = Bunny.new(host: host, port: port.to_i, user: "guest", pass: "guest",
                   vhost: "/", automatically_recover: false,
                   connection_timeout: 5, read_timeout: 5, write_timeout: 5,
                   continuation_timeout: 5000, logger: Logger.new(nil))
  conn.start

  ch = conn.create_channel
  ch.confirm_select
  ch.prefetch(1)
  qname = "warren-bunny-#{SecureRandom.hex(8)}"
  q = ch.queue(qname, durable: false, auto_delete: false)
  fail!("declare-ok name #{q.name}") unless q.name == qname
  fail!("fresh queue has #{q.message_count}") unless q.message_count == 0

  ts = Time.at(1_700_000_000)
  ch.default_exchange.publish("hello from ruby", routing_key: qname,
    headers: { "x-warren" => "ruby", "n" => 11, "arr" => [1, "x"] },
    content_type: "text/plain", correlation_id: "rb-corr", message_id: "rb-1",
    reply_to: "rb-reply", persistent: true, priority: 2, app_id: "warren-ruby",
    timestamp: ts.to_i, type: "rb-type", mandatory: true)
  fail!("publish was nacked") unless ch.wait_for_confirms
  fail!("nacked set #{ch.nacked_set.to_a}") unless ch.nacked_set.empty?

  deliveries = Queue.new
  consumer = q.subscribe(manual_ack: true, consumer_tag: "rb-ctag") do |di, props, body|
    deliveries << [di, props, body]
  end
  di, props, body = Timeout.timeout(5) { deliveries.pop }
  fail!("body #{body.inspect}") unless body == "hello from ruby"
  h = props.headers || {}
  fail!("headers #{h.inspect}") unless h["x-warren"] == "ruby" && h["n"] == 11 && h["arr"] == [1, "x"]
  unless props.content_type == "text/plain" && props.correlation_id == "rb-corr" &&
         props.message_id == "rb-1" && props.reply_to == "rb-reply" &&
         props.delivery_mode == 2 && props.priority == 2 && props.app_id == "warren-ruby" &&
         props.timestamp == ts && props.type == "rb-type"
    fail!("properties #{props.inspect}")
  end
  unless di.consumer_tag == "rb-ctag" && di.routing_key == qname && di.exchange == "" && !di.redelivered
    fail!("delivery info #{di.inspect}")
  end
  ch.ack(di.delivery_tag)
  consumer.cancel

  # basic.get
  ch.default_exchange.publish("for get", routing_key: qname, headers: { "k" => "v" })
  fail!("publish 2 nacked") unless ch.wait_for_confirms
  gdi, gprops, gbody = q.pop(manual_ack: true)
  fail!("basic.get #{gbody.inspect} #{gprops.inspect}") unless gbody == "for get" && gprops.headers["k"] == "v"
  ch.ack(gdi.delivery_tag)
  _, _, ebody = q.pop
  fail!("basic.get on empty queue returned #{ebody.inspect}") unless ebody.nil?

  # channel error: passive declare of a missing queue -> 404
  ch2 = conn.create_channel
  begin
    ch2.queue_declare(qname + "-missing", passive: true)
    fail!("passive declare of a missing queue succeeded")
  rescue Bunny::NotFound => e
    fail!("expected 404, got #{e.channel_close.reply_code}") unless e.channel_close.reply_code == 404
  end
  fail!("channel still open after 404") if ch2.open?
  fail!("connection closed after channel error") unless conn.open?

  ch3 = conn.create_channel
  ok = ch3.queue_declare(qname, passive: true)
  fail!("queue should be empty, has #{ok.message_count}") unless ok.message_count == 0
  ch3.queue_delete(qname)
  ch.close
  conn.close
  puts "bunny: ok"
  exit! 0
rescue StandardError, Timeout::Error => e
  fail!("#{e.class}: #{e.message}\n  #{(e.backtrace || []).first(5).join("\n  ")}")
end
