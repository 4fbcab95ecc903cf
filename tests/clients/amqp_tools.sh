#!/bin/bash
# warren client-family test: the rabbitmq-c command-line tools (Debian
# amqp-tools): amqp-declare-queue, amqp-publish, amqp-consume, amqp-get,
# amqp-delete-queue.
#
# usage: amqp_tools.sh HOST PORT
# Each tool opens its own connection.  The tools cannot do publisher
# confirms or show received headers, so this checks what they can: declare,
# publish (single and line-buffered, with headers/properties), consume+ack,
# basic.get (incl. empty queue), two channel errors (404 on basic.get of a
# missing queue, 406 on an inequivalent redeclare) and that the broker still
# serves the next connection normally.
set -euo pipefail

host=$1 port=$2
url="amqp://guest:guest@$host:$port"   # no path: vhost "/"
q="warren-tools-$$-$RANDOM$RANDOM"
T="timeout 5"
err=$(mktemp)
trap 'rm -f "$err"' EXIT

fail() { echo "amqp-tools: FAIL: $*" >&2; [ -s "$err" ] && sed 's/^/  stderr: /' "$err" >&2; exit 1; }

out=$($T amqp-declare-queue -u "$url" -q "$q" 2>"$err") || fail "amqp-declare-queue exited $?"
[ "$out" = "$q" ] || fail "amqp-declare-queue printed '$out'"

$T amqp-publish -u "$url" -r "$q" -b "first body" -p -C text/plain -E identity \
    -t reply-here -H "x-warren: tools" -H "x-two: 2" 2>"$err" || fail "amqp-publish exited $?"
printf 'line one\nline two\n' | $T amqp-publish -u "$url" -e "" -r "$q" -l 2>"$err" \
    || fail "amqp-publish -l exited $?"

# consume exactly one message (acked after the command succeeds), prefetch 1
out=$($T amqp-consume -u "$url" -q "$q" -c 1 -p 1 cat 2>"$err") || fail "amqp-consume exited $?"
[ "$out" = "first body" ] || fail "amqp-consume got '$out'"

# basic.get the remaining two, in order; then the queue is empty (exit 2)
out=$($T amqp-get -u "$url" -q "$q" 2>"$err") || fail "amqp-get exited $?"
[ "$out" = "line one" ] || fail "amqp-get got '$out'"
out=$($T amqp-get -u "$url" -q "$q" 2>"$err") || fail "amqp-get exited $?"
[ "$out" = "line two" ] || fail "amqp-get got '$out'"
rc=0; $T amqp-get -u "$url" -q "$q" >/dev/null 2>"$err" || rc=$?
[ $rc = 2 ] || fail "amqp-get on an empty queue exited $rc (want 2)"

# channel errors: 404 on basic.get of a missing queue ...
rc=0; $T amqp-get -u "$url" -q "$q-missing" >/dev/null 2>"$err" || rc=$?
[ $rc = 1 ] || fail "amqp-get on a missing queue exited $rc (want 1)"
grep -q "server channel error 404" "$err" || fail "no 404 channel error reported"
# ... and 406 on redeclaring the (non-durable) queue as durable
rc=0; $T amqp-declare-queue -u "$url" -q "$q" -d >/dev/null 2>"$err" || rc=$?
[ $rc = 1 ] || fail "inequivalent redeclare exited $rc (want 1)"
grep -q "server channel error 406" "$err" || fail "no 406 channel error reported"

# the broker still works: the queue is intact and can be used and deleted
$T amqp-publish -u "$url" -r "$q" -b "after errors" 2>"$err" || fail "publish after errors exited $?"
out=$($T amqp-consume -u "$url" -q "$q" -c 1 -A cat 2>"$err") || fail "no-ack consume exited $?"
[ "$out" = "after errors" ] || fail "after errors, consume got '$out'"
out=$($T amqp-delete-queue -u "$url" -q "$q" 2>"$err") || fail "amqp-delete-queue exited $?"
[ "$out" = "0" ] || fail "amqp-delete-queue reported '$out' messages (want 0)"
echo "amqp-tools: ok"
