# The self-hosted relay as a small image: a static (musl) binary, CA
# certificates for S3 over HTTPS, and nothing else.
#
#   docker build -t tessera-relay .
#   docker run -d -p 8787:8787 -v tessera-data:/data tessera-relay
#
# The first start prints the generated secret's location and the first
# tokens on stdout (`docker logs`).

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN scripts/release.sh \
 && mkdir -p /rootfs/etc/ssl/certs /data \
 && cp dist/tessera-relay-x86_64-linux-musl /rootfs/tessera-relay \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/

FROM scratch
COPY --from=build /rootfs/ /
# COPY creates files as root unless told otherwise: the volume's mount point
# must belong to the relay's user, or a fresh named volume is not writable.
COPY --from=build --chown=10001:10001 /data /data
# Not root: a fixed unprivileged uid that owns /data.
USER 10001:10001
ENV TESSERA_DATA=/data \
    TESSERA_LISTEN=0.0.0.0:8787 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
VOLUME ["/data"]
EXPOSE 8787
ENTRYPOINT ["/tessera-relay"]
CMD ["serve"]
