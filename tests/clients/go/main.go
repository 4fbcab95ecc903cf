// warren client-family test: github.com/rabbitmq/amqp091-go.
//
// usage: go-client HOST PORT
//
// Declares a queue, publishes with publisher confirms (NotifyPublish),
// consumes + acks checking body/headers/properties,
// basic.get, provokes a 404 channel error and checks the connection stays
// usable on a new channel.  Built offline against Debian's
// golang-github-rabbitmq-amqp091-go-dev (GOPATH mode, see tests/clients/run).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-amqp091: FAIL: "+format+"\n", a...)
	os.Exit(1)
}

func check(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

func uniq() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-client HOST PORT")
		os.Exit(2)
	}
	// Hard deadline so a misbehaving broker makes us fail rather than hang.
	time.AfterFunc(20*time.Second, func() { fail("deadline exceeded") })

	url := fmt.Sprintf("amqp://guest:guest@%s:%s/", os.Args[1], os.Args[2])
	conn, err := amqp.DialConfig(url, amqp.Config{
		Heartbeat: 10 * time.Second,
		Locale:    "en_US",
		Dial:      amqp.DefaultDial(5 * time.Second),
	})
	check(err, "dial")
	defer conn.Close()
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))

	ch, err := conn.Channel()
	check(err, "channel")
	check(ch.Confirm(false), "confirm.select")
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 4))
	check(ch.Qos(1, 0, false), "basic.qos")

	qname := "warren-go-" + uniq()
	q, err := ch.QueueDeclare(qname, false, false, false, false, nil)
	check(err, "queue.declare")
	if q.Name != qname || q.Messages != 0 {
		fail("declare-ok %+v", q)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ts := time.Unix(1700000000, 0)
	// compat: amqp091-go before 1.8.0 registers a DeferredConfirmation
	// only after the publish is on the wire, so an ack from a fast broker
	// can beat it and Wait() never returns (rabbitmq/amqp091-go#182;
	// Debian ships 1.5.0). The NotifyPublish listener has no such race.
	err = ch.PublishWithContext(ctx, "", qname, true, false, amqp.Publishing{
		Headers:       amqp.Table{"x-warren": "go", "n": int32(7), "b": true},
		ContentType:   "text/plain",
		CorrelationId: "go-corr",
		MessageId:     "go-msg-1",
		Type:          "go-type",
		AppId:         "warren-go",
		DeliveryMode:  amqp.Persistent,
		Priority:      5,
		Timestamp:     ts,
		Expiration:    "60000",
		Body:          []byte("hello from go"),
	})
	check(err, "publish")
	select {
	case c := <-confirms:
		if !c.Ack || c.DeliveryTag != 1 {
			fail("NotifyPublish got %+v", c)
		}
	case <-time.After(5 * time.Second):
		fail("no confirmation on NotifyPublish")
	}

	msgs, err := ch.Consume(qname, "go-consumer", false, false, false, false, nil)
	check(err, "basic.consume")
	select {
	case d, ok := <-msgs:
		if !ok {
			fail("delivery channel closed")
		}
		if string(d.Body) != "hello from go" {
			fail("body %q", d.Body)
		}
		if d.Headers["x-warren"] != "go" || d.Headers["n"] != int32(7) || d.Headers["b"] != true {
			fail("headers %#v", d.Headers)
		}
		if d.ContentType != "text/plain" || d.CorrelationId != "go-corr" || d.MessageId != "go-msg-1" ||
			d.Type != "go-type" || d.AppId != "warren-go" || d.DeliveryMode != amqp.Persistent ||
			d.Priority != 5 || !d.Timestamp.Equal(ts) || d.Expiration != "60000" {
			fail("properties %+v", d)
		}
		if d.ConsumerTag != "go-consumer" || d.RoutingKey != qname || d.Redelivered {
			fail("deliver fields %+v", d)
		}
		check(d.Ack(false), "basic.ack")
	case <-time.After(5 * time.Second):
		fail("no delivery within 5s")
	}
	check(ch.Cancel("go-consumer", false), "basic.cancel")

	// basic.get
	err = ch.PublishWithContext(ctx, "", qname, false, false, amqp.Publishing{
		Headers: amqp.Table{"k": "v"}, Body: []byte("for get")})
	check(err, "publish 2")
	select {
	case c := <-confirms:
		if !c.Ack {
			fail("publish 2 nacked")
		}
	case <-time.After(5 * time.Second):
		fail("no confirmation for publish 2")
	}
	d, ok, err := ch.Get(qname, false)
	check(err, "basic.get")
	if !ok || string(d.Body) != "for get" || d.Headers["k"] != "v" {
		fail("basic.get got ok=%v %q %#v", ok, d.Body, d.Headers)
	}
	if d.MessageCount != 0 {
		fail("get-ok message_count %d", d.MessageCount)
	}
	check(d.Ack(false), "ack get")
	_, ok, err = ch.Get(qname, true)
	check(err, "basic.get empty")
	if ok {
		fail("basic.get on empty queue returned a message")
	}

	// channel error: passive declare of a missing queue -> 404
	ch2, err := conn.Channel()
	check(err, "channel 2")
	ch2Closed := ch2.NotifyClose(make(chan *amqp.Error, 1))
	_, err = ch2.QueueDeclarePassive(qname+"-missing", false, false, false, false, nil)
	var aerr *amqp.Error
	if !errors.As(err, &aerr) || aerr.Code != amqp.NotFound || !aerr.Server {
		fail("expected server 404, got %v", err)
	}
	select {
	case e := <-ch2Closed:
		if e == nil || e.Code != amqp.NotFound {
			fail("channel close notification %v", e)
		}
	case <-time.After(5 * time.Second):
		fail("no channel close notification")
	}
	select {
	case e := <-connClosed:
		fail("connection closed after channel error: %v", e)
	default:
	}
	if conn.IsClosed() {
		fail("connection closed after channel error")
	}

	ch3, err := conn.Channel()
	check(err, "channel 3 after error")
	q, err = ch3.QueueDeclarePassive(qname, false, false, false, false, nil)
	check(err, "passive declare on new channel")
	if q.Messages != 0 {
		fail("queue should be empty, has %d", q.Messages)
	}
	n, err := ch3.QueueDelete(qname, false, false, false)
	check(err, "queue.delete")
	if n != 0 {
		fail("queue.delete-ok message_count %d", n)
	}
	check(ch.Close(), "channel.close")
	check(conn.Close(), "connection.close")
	fmt.Println("go-amqp091: ok")
}
