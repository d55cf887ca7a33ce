#!/bin/sh
# The read-only role of Grafana's brands dashboard, created with the database (the postgres image runs the scripts of
# /docker-entrypoint-initdb.d once, on an empty data directory). It can log in and read; brandpulse grants it SELECT
# on the mentions and the spike alerts when it migrates (BRANDPULSE_DASHBOARD_DB_ROLE=grafana_reader), nothing more.
# On a database created before, run the same statements once with psql.
set -eu
password=$(cat /run/secrets/grafana_db_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v password="$password" <<'SQL'
CREATE ROLE grafana_reader LOGIN PASSWORD :'password' CONNECTION LIMIT 10;
ALTER ROLE grafana_reader SET default_transaction_read_only = on;
ALTER ROLE grafana_reader SET statement_timeout = '30s';
SQL
