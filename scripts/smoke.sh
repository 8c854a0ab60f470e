#!/usr/bin/env bash
# Smoke test of a built llmproxy: `--version`, `--help`, then start it and ask /health.
#   scripts/smoke.sh ./dist/llmproxy-linux-x64
#   scripts/smoke.sh deno run -A src/main.ts          (the same checks through deno run)
set -euo pipefail
cmd=("$@")
[ ${#cmd[@]} -gt 0 ] || { echo "usage: scripts/smoke.sh COMMAND…"; exit 2; }
want=$(sed -nE 's/^export const VERSION = "([^"]+)";/\1/p' "$(dirname "$0")/../src/core/version.ts")
got=$("${cmd[@]}" --version)
[ "$got" = "llmproxy $want" ] || { echo "smoke: --version said '$got', expected 'llmproxy $want'"; exit 1; }
"${cmd[@]}" --help | grep -q -- '--disable-auth' || { echo "smoke: --help lacks --disable-auth"; exit 1; }
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"${cmd[@]}" --disable-auth --port 0 --kv :memory: --data-dir "$dir" >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$dir/out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -oE 'http://[^ ]+/v1' "$dir/out" | head -1)
[ -n "$url" ] || { echo "smoke: no start-up line"; cat "$dir/out" "$dir/err"; exit 1; }
health=$(curl -fsS "${url%/v1}/health")
echo "$health" | grep -q '"status":"ok"' || { echo "smoke: /health said $health"; exit 1; }
kill -TERM "$pid"; wait "$pid" || true
echo "smoke: ok ($got, $url)"
