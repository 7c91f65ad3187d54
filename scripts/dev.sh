#!/usr/bin/env bash
# Runs Tessera locally: builds everything, starts the edge with `wrangler dev`, loads demo data
# through the real ingestion route, and serves until Ctrl-C.
# Environment: PORT (default 8787), DEMO_EVENTS (default 20000; 0 skips the demo data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh

PORT="${PORT:-8787}"
DEMO_EVENTS="${DEMO_EVENTS:-20000}"
URL="http://127.0.0.1:$PORT"
read -r WRITE_KEY SECRET_KEY < <(node scripts/load-demo.mjs --keys)

bash scripts/build.sh wasm www worker

step "start the edge on $URL"
wrangler_pid=
stop() {
  if [ -n "$wrangler_pid" ] && kill -0 "$wrangler_pid" 2>/dev/null; then
    kill -TERM "$wrangler_pid" 2>/dev/null || true
    wait "$wrangler_pid" 2>/dev/null || true
  fi
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT
# State persists in .wrangler/state across restarts (delete it to start empty).
node node_modules/wrangler/bin/wrangler.js dev --ip 127.0.0.1 --port "$PORT" \
  --show-interactive-dev-session=false --persist-to .wrangler/state </dev/null &
wrangler_pid=$!

for _ in $(seq 1 300); do
  if curl -fsS "$URL/v1/health" >/dev/null 2>&1; then break; fi
  kill -0 "$wrangler_pid" 2>/dev/null || { echo "wrangler dev exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$URL/v1/health" >/dev/null || { echo "the edge did not become healthy" >&2; exit 1; }

stored=$(curl -fsS -H "Authorization: Bearer $SECRET_KEY" "$URL/v1/admin/stats" | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).events))')
if [ "$DEMO_EVENTS" -gt 0 ] && [ "$stored" -eq 0 ]; then
  step "load $DEMO_EVENTS demo events (tessera gen --seed 1) through POST /v1/batch"
  cargo run --quiet --locked --bin tessera -- gen --events "$DEMO_EVENTS" --seed 1 \
    | node scripts/load-demo.mjs "$URL" "$WRITE_KEY"
else
  echo "the workspace already holds $stored events: demo data not loaded again"
fi

cat <<MSG

Tessera is running at $URL  (Ctrl-C stops it)
  page:        $URL/
  write key:   $WRITE_KEY   (send events: see docs/getting-started.md)
  secret key:  $SECRET_KEY   (curl -H 'Authorization: Bearer $SECRET_KEY' $URL/v1/admin/stats)

MSG
wait "$wrangler_pid"
