#!/usr/bin/env bash
# Run a command with the services the test suite needs: a throwaway PostgreSQL on loopback
# (HUBTREE_TEST_PG_URL) and headless Chromium for the report and browser tests (HUBTREE_CHROMIUM; Playwright's
# bundled node driver needs libatomic1, which minimal Debian lacks).
# Installs what is missing with apt-get when run as root; tests that need a missing service skip with a reason.
set -euo pipefail
# runuser (below) lives in sbin, which a minimal PATH (cron's /usr/bin:/bin, env -i) leaves out
export PATH="$PATH:/usr/sbin:/sbin"

need_apt=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_bin" ] || need_apt+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
ls /usr/lib/*/libatomic.so.1 /lib/*/libatomic.so.1 >/dev/null 2>&1 || need_apt+=(libatomic1)
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "with-test-services: installing ${need_apt[*]}" >&2
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null 2>&1 \
    || echo "with-test-services: could not install ${need_apt[*]}" >&2
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi

pg_dir=""
cleanup() {
  if [ -n "$pg_dir" ] && [ -d "$pg_dir" ]; then
    run_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
}
trap cleanup EXIT

run_pg() {  # PostgreSQL refuses to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -n "$pg_bin" ] && [ -z "${HUBTREE_TEST_PG_URL:-}" ]; then
  pg_dir=$(mktemp -d /tmp/hubtree-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$pg_dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # UTF8 whatever the caller's locale: without LANG initdb picks SQL_ASCII, whose text psycopg returns as bytes
  if run_pg "$pg_bin/initdb" -D "$pg_dir/data" -U hubtree --auth=trust --encoding=UTF8 --no-locale >/dev/null 2>&1 \
     && run_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -w -l "$pg_dir/log" \
          -o "-c listen_addresses=127.0.0.1 -p $port -k $pg_dir -c fsync=off" start >/dev/null 2>&1; then
    run_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U hubtree hubtree_test
    export HUBTREE_TEST_PG_URL="postgresql://hubtree@127.0.0.1:$port/hubtree_test"
    echo "with-test-services: PostgreSQL on 127.0.0.1:$port" >&2
  else
    echo "with-test-services: PostgreSQL did not start; its tests will skip" >&2
  fi
fi
if command -v chromium >/dev/null 2>&1; then export HUBTREE_CHROMIUM=${HUBTREE_CHROMIUM:-$(command -v chromium)}; fi

"$@"
