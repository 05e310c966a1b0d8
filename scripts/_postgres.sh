# Sourced by scripts/test --postgres: a throwaway PostgreSQL cluster for the test run.
# Installs Debian's postgresql package when no server is found (apt-get: needs root), creates a
# cluster in a temporary directory owned by an unprivileged user (the caller, or "nobody" when
# the caller is root: PostgreSQL refuses to run as root), starts it on a free port of 127.0.0.1
# (no Unix socket outside that directory, trust authentication on loopback only), exports
# SCOREBRIDGE_TEST_POSTGRES, and stops and deletes it when the script exits.
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "--postgres needs the postgresql package: sudo apt-get install postgresql" >&2
    exit 2
  fi
  echo "Installing PostgreSQL (apt-get install postgresql) ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql; } \
       >"$venv/apt.log" 2>&1; then
    tail -n 30 "$venv/apt.log" >&2
    exit 1
  fi
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
pg_dir="$(mktemp -d /tmp/scorebridge-pg.XXXXXX)"
chmod 0755 "$pg_dir"
if [ "$(id -u)" = 0 ]; then
  pg_user=nobody
  chown "$pg_user" "$pg_dir"
  as_pg=(runuser -u "$pg_user" --)
else
  pg_user="$(id -un)"
  as_pg=()
fi
pg_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
stop_postgres() {
  (cd / && "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1) || true
  rm -rf "$pg_dir"
}
trap stop_postgres EXIT
(cd / && "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust \
   --encoding=UTF8 --no-locale >"$pg_dir/initdb.log" 2>&1) \
  || { cat "$pg_dir/initdb.log" >&2; exit 1; }
(cd / && "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
   -o "-h 127.0.0.1 -p $pg_port -k $pg_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
   start >/dev/null) || { cat "$pg_dir/server.log" >&2; exit 1; }
export SCOREBRIDGE_TEST_POSTGRES="postgresql+psycopg://postgres@127.0.0.1:$pg_port"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $NF}') on 127.0.0.1:$pg_port (cluster in $pg_dir, run as $pg_user)" >&2
