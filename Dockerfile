# The consumer image: builds cdcctl from this source tree (the same tree is carried
# inside the cdcctl binary, so `cdcctl up` can build this image anywhere).
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential pkg-config libcurl4-openssl-dev libmariadb-dev librdkafka-dev \
      libyaml-dev libjansson-dev libmicrohttpd-dev libarchive-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" build/cdcctl

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libcurl4 libmariadb3 librdkafka1 libyaml-0-2 libjansson4 \
      libmicrohttpd12 libarchive13 libssl3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/cdcctl /usr/local/bin/cdcctl
USER nobody
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/cdcctl"]
CMD ["consume"]
