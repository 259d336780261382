#!/usr/bin/env bash
# Installs the test server, r-nacos 0.8.x, unless it is already there.
# The binary lands in ~/.cargo/bin and is reused by later runs on the same
# machine (the first build takes about 10-20 minutes on 2 cores).
set -euo pipefail

if [ -n "${RNACOS_BIN:-}" ]; then
  [ -x "$RNACOS_BIN" ] || { echo "RNACOS_BIN=$RNACOS_BIN is not an executable" >&2; exit 1; }
  echo "r-nacos: using RNACOS_BIN=$RNACOS_BIN"
  exit 0
fi

if cargo install --list 2>/dev/null | grep -q '^rnacos v0\.8\.' && [ -x "$HOME/.cargo/bin/rnacos" ]; then
  echo "r-nacos: $(cargo install --list | grep '^rnacos v') already installed"
  exit 0
fi

echo "r-nacos: installing (cargo install --locked rnacos --version '~0.8')..."
# --force: cargo's own records may list it while the binary is gone.
cargo install --locked --force rnacos --version '~0.8'
