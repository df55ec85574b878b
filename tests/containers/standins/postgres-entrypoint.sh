#!/bin/sh
# The official postgres image's entrypoint, in the part compose.yaml relies on. As root: make the socket
# directory (often a fresh tmpfs) writable and PGDATA owned by postgres, then run again as postgres. On an
# empty PGDATA: make a cluster whose superuser is POSTGRES_USER with POSTGRES_PASSWORD, create POSTGRES_DB and
# accept password logins from the network. Then run the command (`postgres`).
set -eu

if [ "$(id -u)" = 0 ]; then
    mkdir -p /var/run/postgresql "$PGDATA"
    chmod 3777 /var/run/postgresql
    chown postgres:postgres "$PGDATA"
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password_file=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$password_file"
    initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$password_file" \
        --auth-local=trust --auth-host=scram-sha-256
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    # A first start on the socket only, so nothing connects over TCP before the database exists.
    pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait start
    createdb --username="$POSTGRES_USER" "$POSTGRES_DB"
    pg_ctl --pgdata="$PGDATA" --wait stop
fi

exec "$@"
