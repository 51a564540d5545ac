#!/usr/bin/env bash
# Property-based check of the JSON API against its own OpenAPI description with schemathesis
# (PyPI). Starts `assure serve` on a fresh demo project, creates an API token through the web
# forms the way a person would, and runs every check schemathesis has.
#
#   bash scripts/api-check.sh [path/to/assure]
set -euo pipefail
BIN="${1:-target/debug/assure}"
WORK="$(mktemp -d)"
PORT=$((19000 + RANDOM % 500))
BASE="http://127.0.0.1:$PORT"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$BIN" demo "$WORK/demo" --people 40 >/dev/null 2>&1
ASSURE_ADMIN_EMAIL=admin@example.test ASSURE_ADMIN_PASSWORD=api-check-password \
  "$BIN" serve "$WORK/demo" --listen "127.0.0.1:$PORT" 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done

JAR="$WORK/cookies"
curl -sf -c "$JAR" -b "$JAR" -o /dev/null -d "email=admin%40example.test&password=api-check-password" "$BASE/login"
CSRF="$(curl -sf -b "$JAR" "$BASE/tokens" | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"//')"
TOKEN="$(curl -sf -b "$JAR" -d "csrf=$CSRF&name=schemathesis" "$BASE/tokens" | grep -o 'assure_[0-9a-f]*' | head -1)"
test -n "$TOKEN" || { echo "could not create an API token"; cat "$WORK/server.log"; exit 1; }

schemathesis run "$BASE/api/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks all \
  --max-examples 40 \
  --workers 1 \
  --suppress-health-check all \
  --warnings off
grep -q "failed:" "$WORK/server.log" && { echo "server errors during the run:"; cat "$WORK/server.log"; exit 1; } || true
echo "API check passed"
