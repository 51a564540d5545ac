#!/usr/bin/env bash
# Renders the readiness report of each init template as HTML and captures it in headless Chromium,
# so a person can look at the page as a browser draws it. Output: out/screenshots/gap-<template>.png
# Needs Debian's chromium (installed here if missing; run as root or with sudo rights).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
cargo build -q --bin assure
bin="${CARGO_TARGET_DIR:-target}/debug/assure"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p out/screenshots
for t in saas payroll fintech; do
  "$bin" init --template "$t" "$work/$t" >/dev/null
  "$bin" gap "$work/$t" --as-of 2026-11-22 --format html -o "out/screenshots/gap-$t.html"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/chrome" --hide-scrollbars --window-size=1360,2400 \
    --screenshot="$PWD/out/screenshots/gap-$t.png" "file://$PWD/out/screenshots/gap-$t.html" 2>/dev/null
  echo "out/screenshots/gap-$t.png"
done
