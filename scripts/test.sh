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

# Every feature on (`aksk` signing included), so every test runs. The v3
# conformance suite (tests/v3_conformance.rs, against a fake written from
# the Java controllers) is part of it.
# tests/examples.rs runs the examples' `main` (cargo test builds them only
# in test mode).
cargo build --examples --all-features
cargo test --all-targets --all-features
cargo test --doc --all-features

# The v3 real-server suite (tests/v3_batata.rs, ignored above) needs Batata,
# whose build takes about an hour: it runs here whenever the binary is
# cached, and its own command, scripts/test-v3.sh, builds it first.
cache="${NACOS_BLOCKING_CACHE:-$HOME/.cache/nacos-blocking}/batata"
if [ -n "${BATATA_BIN:-}" ] || [ -x "$cache/batata-server" ]; then
  echo "== v3 real-server suite against Batata (${BATATA_BIN:-$cache/batata-server})"
  cargo test --all-features --test v3_batata -- --ignored
else
  cat >&2 <<'MSG'
########################################################################
##  NOT RUN: the v3 real-server suite (tests/v3_batata.rs).            ##
##  Batata is not installed on this machine. Run                       ##
##      bash scripts/test-v3.sh                                        ##
##  to build it once (about an hour on 2 cores) and run the suite.     ##
##  The v3 conformance suite against the fake server did run above.    ##
########################################################################
MSG
fi
