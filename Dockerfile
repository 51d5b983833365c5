# Dockerfile - one image for every Genetika+ program (producer, db_consumer,
# ack_consumer, datagen, ack_delay, broker, kafka_admin), built from Debian
# bookworm with the same Debian packages as the native build. ca-certificates:
# librdkafka verifies a managed cluster's TLS certificate against them.

# ---- build stage: compilers and -dev packages, never shipped ----
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake make gcc pkg-config librdkafka-dev libsqlite3-dev libpq-dev liblmdb-dev check \
      libsubunit-dev libzip-dev libxml2-dev libjansson-dev libxlsxwriter-dev libmicrohttpd-dev \
      libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN rm -rf build* \
 && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" --target producer db_consumer ack_consumer datagen ack_delay broker kafka_admin

# ---- runtime stage: shared libraries only, a non-root user ----
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 libsqlite3-0 libpq5 liblmdb0 libzip4 libxml2 libjansson4 libxlsxwriter4 libmicrohttpd12 libcurl4 \
      sqlite3 postgresql-client gnuplot-nox ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/genetika --create-home genetika \
 && mkdir -p /var/lib/genetika/db /var/lib/genetika/cache /var/lib/genetika/out \
 && chown -R genetika:genetika /var/lib/genetika
COPY --from=build /src/build/bin/ /usr/local/bin/
COPY data/*.xlsx /app/data/
USER genetika
WORKDIR /var/lib/genetika
# Each service's command is set in docker-compose.yaml.
CMD ["producer", "--help"]
