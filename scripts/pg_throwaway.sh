#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the storage tests: a temp folder, a free loopback port,
# trust authentication on 127.0.0.1 only, no fsync (its data is worth nothing). Nothing is
# installed and no system cluster is touched.
#
#   eval "$(scripts/pg_throwaway.sh start)"     # exports KEFUGUARD_TEST_PG_URL and KEFUGUARD_PG_THROWAWAY_DIR
#   scripts/pg_throwaway.sh stop [DIR]          # stops the cluster and deletes its folder (DIR: default $KEFUGUARD_PG_THROWAWAY_DIR)
#   scripts/pg_throwaway.sh run CMD [ARGS...]   # start, run CMD with the URL exported, always clean up
#
# PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` user (created,
# as a system user, if missing). Binaries: initdb/pg_ctl on PATH, else the newest
# /usr/lib/postgresql/*/bin (Debian's postgresql package).
set -euo pipefail

die() { echo "pg_throwaway: $*" >&2; exit 1; }

find_bin() {
  local dir
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return
    fi
  done
  return 1
}

# run a command as the cluster's owner
as_owner() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start() {
  local bin dir port tries
  bin="$(find_bin)" || die "no PostgreSQL binaries (initdb, pg_ctl) found; install Debian's postgresql package"
  PG_USER="$(id -un)"
  if [ "$(id -u)" = "0" ]; then
    PG_USER=postgres
    if ! id -u "$PG_USER" >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER" >/dev/null 2>&1 \
        || die "cannot create the $PG_USER user to run PostgreSQL as (it refuses to run as root)"
    fi
  fi
  dir="$(mktemp -d "${TMPDIR:-/tmp}/kefuguard-pg.XXXXXX")"
  chmod 700 "$dir"
  [ "$(id -u)" = "0" ] && chown "$PG_USER" "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
  # local (socket) and 127.0.0.1 only; nothing else may connect
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | as_owner tee "$dir/data/pg_hba.conf" >/dev/null
  for tries in 1 2 3 4 5; do
    port="$(free_port)"
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o \
        "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null 2>&1; then
      local url="postgresql://postgres@127.0.0.1:$port/postgres"
      echo "$bin" >"$dir/bin"
      echo "export KEFUGUARD_TEST_PG_URL='$url'"
      echo "export KEFUGUARD_PG_THROWAWAY_DIR='$dir'"
      echo "pg_throwaway: PostgreSQL running at $url (folder $dir)" >&2
      return 0
    fi
  done
  cat "$dir/server.log" >&2 2>/dev/null || true
  rm -rf "$dir"
  die "the server did not start"
}

stop() {
  local dir="${1:-${KEFUGUARD_PG_THROWAWAY_DIR:-}}" bin
  [ -n "$dir" ] || die "stop: which cluster? pass its folder or set KEFUGUARD_PG_THROWAWAY_DIR"
  case "$(basename "$dir")" in kefuguard-pg.*) ;; *) die "stop: $dir is not a throwaway cluster folder";; esac
  [ -d "$dir" ] || return 0
  bin="$(cat "$dir/bin" 2>/dev/null || find_bin || true)"
  if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
    PG_USER="$(stat -c %U "$dir/data")"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  echo "pg_throwaway: removed $dir" >&2
}

case "${1:-}" in
  start) start ;;
  stop) shift; stop "${1:-}" ;;
  run)
    shift
    [ $# -gt 0 ] || die "run: give a command"
    eval "$(start)"
    trap 'stop "$KEFUGUARD_PG_THROWAWAY_DIR"' EXIT
    "$@"
    ;;
  *) echo "usage: $0 start | stop [DIR] | run CMD [ARGS...]" >&2; exit 2 ;;
esac
