# invest-crm in a container: built in one stage, run in another that holds no build tools.
#   docker build -t invest-crm .
#   docker run -p 8080:8080 -v invest-crm:/var/lib/invest-crm invest-crm
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin invest-crm

FROM debian:bookworm-slim
# postgresql-client: pg_dump and pg_restore for backups of a PostgreSQL database; ca-certificates for SMTP and S3.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/invest-crm --create-home --shell /usr/sbin/nologin invest-crm
COPY --from=build /src/target/release/invest-crm /usr/bin/invest-crm
USER invest-crm
WORKDIR /var/lib/invest-crm
ENV INVEST_CRM_DATA_DIR=/var/lib/invest-crm \
    INVEST_CRM_MAIL__OUTBOX_DIR=/var/lib/invest-crm/outbox \
    INVEST_CRM_LISTEN=0.0.0.0:8080 \
    INVEST_CRM_LOG_FORMAT=json
VOLUME /var/lib/invest-crm
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/invest-crm"]
CMD ["serve"]
