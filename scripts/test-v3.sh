#!/usr/bin/env bash
# The v3 real-server suite: tests/v3_batata.rs against Batata, a Rust
# Nacos-compatible server that speaks only the v2/v3 APIs (as Nacos 3.2+
# does). Builds Batata once per machine if it is not cached (about an hour
# on 2 cores; see scripts/install-batata.sh), and r-nacos for the mixed
# v1 + v3 test, then runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-rnacos.sh
BATATA_BIN=$(bash scripts/install-batata.sh)
export BATATA_BIN
export PATH="$HOME/.cargo/bin:$PATH"
cargo test --all-features --test v3_batata -- --ignored
