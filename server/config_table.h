/*
 * Every option, once: command-line name (also the config-file key with '-'
 * replaced by '_'), type, default, field in struct config, range, help.
 * X(name, type, default, field, min, max, help)
 */
CONFIG_X("port", CONFIG_INT, "5672", port, 0, 65535,
    "AMQP listener port (0 = ephemeral, written to DIR/warrend.port)")
CONFIG_X("bind", CONFIG_STR, "127.0.0.1", bind, 0, 0,
    "address the listeners bind to")
CONFIG_X("admin-port", CONFIG_INT, "15672", admin_port, 0, 65535,
    "HTTP admin API port (served from a later release)")
CONFIG_X("data-dir", CONFIG_STR, "./data", data_dir, 0, 0,
    "directory for the pid file and the database")
CONFIG_X("durability", CONFIG_STR, "fsync", durability, 0, 0,
    "fsync: a confirm means fsynced; os: survives a crash, not power loss")
CONFIG_X("log-level", CONFIG_STR, "info", log_level, 0, 0,
    "debug, info, warn or error")
CONFIG_X("max-message-size", CONFIG_INT, "134217728", max_message_size, 1,
    536870912, "largest message body accepted, in bytes")
CONFIG_X("frame-max", CONFIG_INT, "131072", frame_max, 4096, 1048576,
    "largest frame proposed in connection.tune, in bytes")
CONFIG_X("channel-max", CONFIG_INT, "2047", channel_max, 1, 65535,
    "most channels per connection proposed in connection.tune")
CONFIG_X("heartbeat", CONFIG_INT, "60", heartbeat, 0, 65535,
    "heartbeat interval proposed in connection.tune, in seconds")
CONFIG_X("output-high-water", CONFIG_INT, "1048576", output_high_water, 65536,
    1073741824, "bytes queued for a client before its deliveries pause")
CONFIG_X("handshake-timeout", CONFIG_INT, "10", handshake_timeout, 1, 3600,
    "seconds a client has to finish connection.open")
CONFIG_X("inject-store-failures", CONFIG_INT, "0", inject_store_failures, 0,
    1000000, "testing: make the first N store commits fail as on a full disk")
