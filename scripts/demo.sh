#!/usr/bin/env bash
# The demo: runs examples/quickstart.rs against a Nacos server on
# 127.0.0.1:8848, starting a local r-nacos there first if none is listening.
set -euo pipefail
cd "$(dirname "$0")/.."
ADDR_PORT=8848

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if listening "$ADDR_PORT"; then
  echo "demo: using the server already listening on 127.0.0.1:$ADDR_PORT"
else
  bash scripts/install-rnacos.sh
  bin="${RNACOS_BIN:-$(command -v rnacos || echo "$HOME/.cargo/bin/rnacos")}"
  work=$(mktemp -d)
  echo "demo: starting r-nacos on 127.0.0.1:$ADDR_PORT (data in $work)"
  (cd "$work" && RNACOS_HTTP_PORT=$ADDR_PORT RNACOS_GRPC_PORT=$((ADDR_PORT + 1000)) \
     RNACOS_HTTP_CONSOLE_PORT=0 RNACOS_SDK_HOST=127.0.0.1 RNACOS_DATA_DIR="$work/data" \
     RUST_LOG=warn exec "$bin" >"$work/rnacos.log" 2>&1) &
  server=$!
  trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 1 200); do
    if listening "$ADDR_PORT"; then break; fi
    sleep 0.1
  done
  listening "$ADDR_PORT" || { echo "demo: r-nacos did not start; log:" >&2; cat "$work/rnacos.log" >&2; exit 1; }
  sleep 0.5
fi

cargo run --quiet --example quickstart -- "127.0.0.1:$ADDR_PORT"
