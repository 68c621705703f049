#!/bin/sh
# Parley's container entrypoint: make sure the server has a SECRET_KEY, then run the command.
#
# Production configuration refuses to start without SECRET_KEY, and tokens are stored as
# HMACs keyed by it, so the key must outlive a restart. When SECRET_KEY is not given, this
# generates one on first start into $PARLEY_DATA_DIR/secret_key (mode 0600, default
# /data/secret_key: the image's volume) and reuses it on every later start.
#
# A SECRET_KEY given in the environment always wins and nothing is written.
#
# Shared deployment: with DATABASE_URL (PostgreSQL) and REDIS_URL, several containers serve
# the same users. Each container's /data is its own, so each would generate a different key
# and reject the tokens the others issued: pass the SAME SECRET_KEY to every instance
# (docker run -e SECRET_KEY=..., or an orchestrator's secret).
set -eu

data_dir="${PARLEY_DATA_DIR:-/data}"
key_file="$data_dir/secret_key"

if [ -z "${SECRET_KEY:-}" ]; then
    if [ ! -s "$key_file" ]; then
        if ! mkdir -p "$data_dir" 2>/dev/null || [ ! -w "$data_dir" ]; then
            echo "parley: $data_dir is not writable by uid $(id -u): mount a volume this user" \
                "can write, or set SECRET_KEY" >&2
            exit 1
        fi
        case "${DATABASE_URL:-sqlite:}" in
            sqlite:*) shared="${REDIS_URL:-}" ;;
            *) shared="yes" ;;
        esac
        if [ -n "$shared" ]; then
            echo "parley: warning: DATABASE_URL/REDIS_URL point at shared services but SECRET_KEY" \
                "is not set; generating a key for this instance only. Every instance of a shared" \
                "deployment must be given the same SECRET_KEY." >&2
        fi
        tmp="$(mktemp "$data_dir/.secret_key.XXXXXX")" # mode 0600
        python -c 'import secrets; print(secrets.token_urlsafe(48))' >"$tmp"
        # ln refuses to replace an existing file: if another start got there first, its key wins.
        ln "$tmp" "$key_file" 2>/dev/null || [ -s "$key_file" ] || mv "$tmp" "$key_file"
        rm -f "$tmp"
        echo "parley: generated a SECRET_KEY in $key_file" >&2
    fi
    SECRET_KEY="$(cat "$key_file")"
    export SECRET_KEY
fi

exec "$@"
