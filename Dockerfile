# warren in a container: warrend as PID 1, non-root, data in a volume.
#   docker build -t warren .
#   docker run -d -p 5672:5672 -p 15672:15672 -v warren-data:/var/lib/warren warren
# BASE lets a machine without a registry build from a local Debian 12
# image (tests/docker/check does: --build-arg BASE=local/debian:bookworm).
ARG BASE=debian:bookworm

FROM ${BASE} AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y \
        -qq --no-install-recommends build-essential autoconf automake \
        pkg-config libev-dev libsqlite3-dev libssl-dev libpcre2-dev \
        libcurl4-openssl-dev ca-certificates >/dev/null && \
    rm -rf /var/lib/apt/lists/*
# Below this line every image is this checkout's; tests/docker/check
# prunes them by the label, keeping the cached toolchain layer above.
LABEL org.warren.stage=build
WORKDIR /src
COPY . .
RUN ./autogen.sh >/dev/null 2>&1 && \
    ./configure -q --prefix=/usr --sysconfdir=/etc --localstatedir=/var && \
    make -j"$(nproc)" warrend warrenctl >/dev/null && \
    packaging/docker/rootfs /rootfs

# The runtime image: the two programs, the libraries they load, CA
# certificates, a warren user, and nothing else (no shell).
FROM scratch
COPY --from=build /rootfs/ /
USER warren:warren
WORKDIR /var/lib/warren
VOLUME /var/lib/warren
# AMQP, AMQPS, the management API, Prometheus.
EXPOSE 5672 5671 15672 15692
# compat: the official RabbitMQ image's settings: listen on every
# address, and guest may log in from outside (loopback_users none);
# packaging/docker/warrend.conf.
ENV WARREN_CONFIG_FILE=/etc/warren/warrend.conf
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/bin/warrenctl", "ping"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/sbin/warrend"]
