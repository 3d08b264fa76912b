#!/usr/bin/env bash
# Starts (`start DIR PORT`) or stops (`stop DIR`) a throwaway PostgreSQL server from Debian's
# packages, run as the unprivileged `postgres` user on a data folder under DIR, listening on
# 127.0.0.1:PORT with trust authentication (loopback only), with a database `zkinfer`.
set -euo pipefail
action=$1
dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
case "$action" in
start)
    port=$3
    mkdir -p "$dir"
    chown postgres "$dir"
    runuser -u postgres -- "$bin/initdb" --pgdata="$dir/data" --auth=trust --username=postgres >/dev/null
    runuser -u postgres -- "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait \
        --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200" start >/dev/null
    runuser -u postgres -- "$bin/createdb" --host=127.0.0.1 --port="$port" --username=postgres zkinfer
    echo "postgres://postgres@127.0.0.1:$port/zkinfer"
    ;;
stop)
    runuser -u postgres -- "$bin/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null || true
    rm -rf "$dir"
    ;;
esac
