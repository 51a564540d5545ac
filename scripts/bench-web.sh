#!/usr/bin/env bash
# Load benchmark of `assure serve` with wrk: the dashboard (HTML, session cookie) and
# /api/v1/controls (JSON, bearer token), on SQLite and then on the local PostgreSQL, in one run.
#
#   bash scripts/bench-web.sh [SECONDS] [CONNECTIONS]
#
# On SQLite it also runs the dashboard load beside SLOW (default 600) clients that hold connections
# open by sending headers a line at a time: the figure for a slow-connection attack.
#
# ASSURE_BIN=path/to/assure runs a binary you built (another build profile, an earlier commit)
# instead of building the release binary, so two versions can be measured in one session.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-15}"
CONNS="${2:-32}"
SLOW="${SLOW:-600}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if [ -n "${ASSURE_BIN:-}" ]; then
  BIN="$ASSURE_BIN"
  PROFILE_NOTE="binary $BIN"
else
  cargo build --release -q -p assure
  BIN="${CARGO_TARGET_DIR:-target}/release/assure"
  PROFILE_NOTE="release build"
fi
WORK="$(mktemp -d)"
PGDB="assure_bench_$$"
trap 'kill $SERVER 2>/dev/null || true; psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
"$BIN" demo "$WORK/demo" >/dev/null 2>&1
psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE $PGDB" >/dev/null
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB; wrk -t2 -c$CONNS -d${SECS}s; $PROFILE_NOTE"
for DB in sqlite "postgres://postgres@127.0.0.1:5432/$PGDB"; do
  PORT=$((20000 + RANDOM % 1000))
  BASE="http://127.0.0.1:$PORT"
  ARGS=(serve "$WORK/demo" --listen "127.0.0.1:$PORT")
  [ "$DB" = sqlite ] || ARGS+=(--database "$DB")
  rm -f "$WORK/demo/.assure/web.db"*
  ASSURE_ADMIN_EMAIL=bench@example.test ASSURE_ADMIN_PASSWORD=bench-password-123 "$BIN" "${ARGS[@]}" 2>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
  JAR="$WORK/jar"; rm -f "$JAR"
  curl -sf -c "$JAR" -o /dev/null -d "email=bench%40example.test&password=bench-password-123" "$BASE/login"
  COOKIE="assure_session=$(awk '$6=="assure_session"{print $7}' "$JAR")"
  CSRF="$(curl -sf -b "$JAR" "$BASE/tokens" | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"//')"
  TOKEN="$(curl -sf -b "$JAR" -d "csrf=$CSRF&name=bench" "$BASE/tokens" | grep -o 'assure_[0-9a-f]*' | head -1)"
  curl -sf -H "Cookie: $COOKIE" "$BASE/" >/dev/null
  NAME="${DB%%:*}"
  for ROUTE in "/" "/api/v1/controls"; do
    if [ "$ROUTE" = "/" ]; then H="Cookie: $COOKIE"; else H="Authorization: Bearer $TOKEN"; fi
    OUT="$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -H "$H" "$BASE$ROUTE")"
    RPS="$(echo "$OUT" | awk '/Requests\/sec/{print $2}')"
    P50="$(echo "$OUT" | awk '$1=="50%"{print $2}')"
    P99="$(echo "$OUT" | awk '$1=="99%"{print $2}')"
    NON2XX="$(echo "$OUT" | awk '/Non-2xx/{print $5}')"
    printf "%-9s %-18s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n" "$NAME" "$ROUTE" "$RPS" "$P50" "$P99" "${NON2XX:-0}"
  done
  if [ "$NAME" = sqlite ]; then
    # The same dashboard load while SLOW clients hold connections open by sending their headers a
    # line at a time (more clients than the server's connection limit).
    python3 scripts/slow_clients.py 127.0.0.1 "$PORT" "$SLOW" "$((SECS + 15))" 2 >"$WORK/slow.log" &
    ATTACK=$!
    sleep 3
    OUT="$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -H "Cookie: $COOKIE" "$BASE/")"
    RPS="$(echo "$OUT" | awk '/Requests\/sec/{print $2}')"
    P50="$(echo "$OUT" | awk '$1=="50%"{print $2}')"
    P99="$(echo "$OUT" | awk '$1=="99%"{print $2}')"
    ERRS="$(echo "$OUT" | awk '/Socket errors/{print $0}' | sed 's/^ *//')"
    printf "%-9s %-18s %10s req/s   p50 %8s   p99 %8s   %s\n" "$NAME" "/ + $SLOW slow" "$RPS" "$P50" "$P99" "${ERRS:-no socket errors}"
    wait "$ATTACK" || true
    cat "$WORK/slow.log"
  fi
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
done
