#!/usr/bin/env bash
# The whole test suite: installs the test server if needed, then runs every
# test (unit, integration against real r-nacos servers, doc tests, examples).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-rnacos.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo test --all-targets
cargo test --doc
