#!/usr/bin/env bash
# The whole test suite: installs the test server if needed, then runs every
# test (unit, integration against real r-nacos servers, doc tests, examples).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-rnacos.sh
export PATH="$HOME/.cargo/bin:$PATH"

# The Python v1 client, the peer of tests/interop_python.rs.
venv=target/py-interop
if ! "$venv/bin/python" -c 'import nacos' 2>/dev/null; then
  echo "installing nacos-sdk-python==2.0.11 into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check nacos-sdk-python==2.0.11
fi
export NACOS_PYTHON="$PWD/$venv/bin/python"

# Every feature on (`aksk` signing included), so every test runs.
cargo test --all-targets --all-features
cargo test --doc --all-features
