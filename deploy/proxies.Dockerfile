# HAProxy and PgBouncer from Debian's packages, as scripts/cluster.sh runs them.
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy pgbouncer \
    && rm -rf /var/lib/apt/lists/*
