/*
 * Every option, once: command-line name (also the warrend.conf key, with
 * '-' or '_', and WARREN_<NAME> in the environment), type, default, field
 * in struct config, range, help. RabbitMQ's rabbitmq.conf keys that mean
 * the same are mapped onto these names in server/config_file.c.
 * X(name, type, default, field, min, max, help)
 */
CONFIG_X("port", CONFIG_INT, "5672", port, 0, 65535,
    "AMQP listener port (0 = ephemeral, written to DIR/warrend.port)")
CONFIG_X("tcp-listener", CONFIG_INT, "1", tcp_listener, 0, 1,
    "0: no plain AMQP listener, only amqps (RabbitMQ's listeners.tcp = "
    "none); needs tls-cert and tls-key")
CONFIG_X("bind", CONFIG_STR, "127.0.0.1", bind, 0, 0,
    "address the listeners bind to")
CONFIG_X("admin-port", CONFIG_INT, "15672", admin_port, 0, 65535,
    "HTTP admin API (RabbitMQ management API) port "
    "(0 = ephemeral, written to DIR/warrend.admin-port)")
CONFIG_X("prometheus-port", CONFIG_STR, "15692", prometheus_port, 0, 0,
    "Prometheus metrics (/metrics) port, as RabbitMQ's prometheus.tcp.port "
    "(none = no metrics listener, 0 = ephemeral, written to "
    "DIR/warrend.prometheus-port); the admin port serves /metrics too")
CONFIG_X("collect-statistics-interval", CONFIG_INT, "5000",
    collect_statistics_interval, 10, 3600000,
    "milliseconds between samples of the message rates (RabbitMQ's "
    "collect_statistics_interval); a rate spans the last 12 samples")
CONFIG_X("admin-max-connections", CONFIG_INT, "512", admin_max_connections,
    1, 1000000, "most HTTP admin API connections at once")
CONFIG_X("admin-max-connections-per-address", CONFIG_INT, "32",
    admin_max_connections_per_address, 1, 1000000,
    "most HTTP admin API connections at once from one IP address")
CONFIG_X("data-dir", CONFIG_STR, "./data", data_dir, 0, 0,
    "directory for the pid file and the database")
CONFIG_X("default-user", CONFIG_STR, "guest", default_user, 0, 0,
    "user created, with default-user-tags and all permissions in "
    "default-vhost, when the database has no users")
CONFIG_X("default-pass", CONFIG_STR, "guest", default_pass, 0, 0,
    "password of the default user")
CONFIG_X("default-user-tags", CONFIG_STR, "administrator",
    default_user_tags, 0, 0,
    "comma-separated tags of the default user (RabbitMQ's default_user_tags)")
CONFIG_X("default-vhost", CONFIG_STR, "/", default_vhost, 0, 0,
    "virtual host created, with all permissions for the default user, "
    "when the database is new")
CONFIG_X("loopback-users", CONFIG_STR, "guest", loopback_users, 0, 0,
    "comma-separated users who may log in only from a loopback address")
CONFIG_X("load-definitions", CONFIG_STR, "none", load_definitions, 0, 0,
    "RabbitMQ definitions file (JSON) applied at every start")
CONFIG_X("durability", CONFIG_STR, "fsync", durability, 0, 0,
    "fsync: a confirm means fsynced; os: survives a crash, not power loss")
CONFIG_X("log-level", CONFIG_STR, "info", log_level, 0, 0,
    "threshold of the lines on standard error: debug, info, warn, error "
    "or none")
CONFIG_X("log-console", CONFIG_INT, "1", log_console, 0, 1,
    "0: write no log lines on standard error")
CONFIG_X("log-console-format", CONFIG_STR, "plaintext", log_console_format,
    0, 0, "format of the lines on standard error: plaintext or json")
CONFIG_X("log-file", CONFIG_STR, "none", log_file, 0, 0,
    "file the log lines also go to, appended to and reopened on SIGHUP "
    "(none = no file)")
CONFIG_X("log-file-level", CONFIG_STR, "info", log_file_level, 0, 0,
    "threshold of the lines in log-file: debug, info, warn, error or none")
CONFIG_X("log-file-format", CONFIG_STR, "plaintext", log_file_format, 0, 0,
    "format of the lines in log-file: plaintext or json")
CONFIG_X("max-message-size", CONFIG_SIZE, "134217728", max_message_size, 1,
    536870912, "largest message body accepted, in bytes")
CONFIG_X("content-in-flight-max", CONFIG_SIZE, "268435456",
    content_in_flight_max, 1, UINT64_C(1099511627776),
    "message body bytes one connection may have under way (announced in "
    "content headers, not yet routed); past it its next message waits")
CONFIG_X("frame-max", CONFIG_INT, "131072", frame_max, 4096, 1048576,
    "largest frame proposed in connection.tune, in bytes")
CONFIG_X("channel-max", CONFIG_INT, "2047", channel_max, 1, 65535,
    "most channels per connection proposed in connection.tune")
CONFIG_X("heartbeat", CONFIG_INT, "60", heartbeat, 0, 65535,
    "heartbeat interval proposed in connection.tune, in seconds")
CONFIG_X("output-high-water", CONFIG_SIZE, "1048576", output_high_water, 65536,
    1073741824, "bytes queued for a client before its deliveries pause")
CONFIG_X("send-timeout", CONFIG_INT, "30", send_timeout, 0, 86400,
    "seconds a client without heartbeats may leave its output unread "
    "before it is closed (0 = never)")
CONFIG_X("handshake-timeout", CONFIG_INT, "10", handshake_timeout, 1, 3600,
    "seconds a client has to finish connection.open, and an HTTP admin "
    "client to send a request's headers")
CONFIG_X("tls-port", CONFIG_INT, "5671", tls_port, 0, 65535,
    "amqps listener port, used when tls-cert and tls-key are set "
    "(0 = ephemeral, written to DIR/warrend.tls-port)")
CONFIG_X("admin-tls-port", CONFIG_STR, "none", admin_tls_port, 0, 0,
    "HTTPS admin API port, with the tls-* certificate options "
    "(none = no HTTPS listener, 0 = ephemeral, written to "
    "DIR/warrend.admin-tls-port)")
CONFIG_X("tls-cert", CONFIG_STR, "none", tls_cert, 0, 0,
    "PEM server certificate chain for the amqps listener")
CONFIG_X("tls-key", CONFIG_STR, "none", tls_key, 0, 0,
    "PEM private key of tls-cert")
CONFIG_X("tls-ca", CONFIG_STR, "none", tls_ca, 0, 0,
    "PEM CA bundle that client certificates must chain to")
CONFIG_X("tls-verify-peer", CONFIG_INT, "0", tls_verify_peer, 0, 1,
    "1: ask TLS clients for a certificate and verify it against tls-ca")
CONFIG_X("tls-fail-if-no-peer-cert", CONFIG_INT, "0",
    tls_fail_if_no_peer_cert, 0, 1,
    "1: with tls-verify-peer, refuse TLS clients without a certificate")
CONFIG_X("inject-store-failures", CONFIG_INT, "0", inject_store_failures, 0,
    1000000, "testing: make the first N store commits fail as on a full disk")
CONFIG_X("memory-high-watermark", CONFIG_SIZE, "0", memory_high_watermark, 0,
    UINT64_C(1099511627776), "bytes of memory that block publishers (0 = use "
    "memory-high-watermark-relative)")
CONFIG_X("memory-high-watermark-relative", CONFIG_STR, "0.4",
    memory_high_watermark_relative, 0, 0,
    "fraction of the machine's memory that blocks publishers, from 0 to 1, "
    "when memory-high-watermark is 0")
CONFIG_X("disk-free-limit", CONFIG_SIZE, "50000000", disk_free_limit, 0,
    UINT64_C(1099511627776), "free bytes in the data directory under which "
    "publishers are blocked")
CONFIG_X("connection-max", CONFIG_INT, "0", connection_max, 0, 1000000,
    "most client connections at once (0 = no limit)")
CONFIG_X("consumer-max-per-channel", CONFIG_INT, "0",
    consumer_max_per_channel, 0, 1000000,
    "most consumers on one channel (0 = no limit)")
CONFIG_X("consumer-timeout", CONFIG_INT, "1800000", consumer_timeout, 0,
    2147483647, "milliseconds a delivery may stay unacknowledged before "
    "its channel is closed (RabbitMQ's consumer_timeout; 0 = no limit); "
    "x-consumer-timeout and the consumer-timeout policy key override it")
CONFIG_X("binding-max-per-exchange", CONFIG_INT, "100000",
    binding_max_per_exchange, 0, 100000000,
    "most bindings from one exchange (0 = no limit)")
CONFIG_X("binding-max-per-queue", CONFIG_INT, "100000",
    binding_max_per_queue, 0, 100000000,
    "most bindings to one queue (0 = no limit)")
CONFIG_X("topic-key-max-words", CONFIG_INT, "32", topic_key_max_words, 0,
    256, "most words in a topic-exchange binding key (0 = no limit)")
CONFIG_X("tls-cert-login-from", CONFIG_STR, "common_name",
    tls_cert_login_from, 0, 0,
    "SASL EXTERNAL user name: common_name or distinguished_name")
CONFIG_X("node-name", CONFIG_STR, "none", node_name, 0, 0,
    "node name in the admin API and metrics (none = RABBITMQ_NODENAME, "
    "else rabbit@ and the short host name; a name without @ gets "
    "@ and the short host name)")
