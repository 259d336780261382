#!/usr/bin/env bash
# A soak against a three-node r-nacos cluster on loopback: random kills,
# freezes and empty-data-dir restarts every 30-90 s while 200 instances
# heartbeat, 100 services are subscribed to and 100 configs are watched.
# Not part of CI. Usage: scripts/soak.sh [minutes]   (default 30)
# SOAK_SEED=<n> repeats a fault schedule; SOAK_LOG=warn|debug shows the
# client's log.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-rnacos.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo run --release --example soak -- "${1:-30}"
