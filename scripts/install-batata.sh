#!/usr/bin/env bash
# Installs the Nacos v3 test server, Batata (easynet-cn/batata, a Rust
# Nacos-compatible server), unless it is already there.
#
#   bash scripts/install-batata.sh [SOURCE_TREE]
#
# Prints the binary's path on stdout (everything else goes to stderr), so
#   bin=$(bash scripts/install-batata.sh)
# works. Batata reads conf/application.yml relative to its working
# directory: run it from a directory holding a copy of the cached conf/
# (printed below).
#
# Where the server comes from, first match wins:
#   BATATA_BIN=/path/to/batata-server   an existing binary; nothing is built.
#   the cache                           $CACHE/batata-server (+ $CACHE/conf/)
#                                       from an earlier run on this machine.
#   SOURCE_TREE argument or BATATA_SRC  a batata source tree (git clone of
#                                       github.com/easynet-cn/batata); built
#                                       in place, target dir in the cache.
#   the shared snapshot                 ../shared/servers/batata/ next to the
#                                       repo: batata-f896fd1.tar.gz and its
#                                       Cargo.lock, extracted into the cache.
# where CACHE=${NACOS_BLOCKING_CACHE:-$HOME/.cache/nacos-blocking}/batata.
#
# The build (cargo build -p batata-server, debug profile) takes about an
# hour on 2 cores and runs under nice -n 19. Its target dir lives in the
# cache ($CACHE/target), so an interrupted build resumes incrementally on
# the next run. Missing apt build deps (protobuf-compiler libclang-dev
# cmake pkg-config libssl-dev) are installed first.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache="${NACOS_BLOCKING_CACHE:-$HOME/.cache/nacos-blocking}/batata"
bin="$cache/batata-server"
snapshot_dir=$(cd "$repo/.." && pwd)/shared/servers/batata
snapshot_tar="$snapshot_dir/batata-f896fd1.tar.gz"
export PATH="$HOME/.cargo/bin:$PATH"

say() { echo "batata: $*" >&2; }

if [ -n "${BATATA_BIN:-}" ]; then
  [ -x "$BATATA_BIN" ] || { say "BATATA_BIN=$BATATA_BIN is not an executable"; exit 1; }
  say "using BATATA_BIN=$BATATA_BIN"
  echo "$BATATA_BIN"
  exit 0
fi

cached() { [ -x "$bin" ] && [ -f "$cache/conf/application.yml" ]; }

if cached; then
  say "using the cached binary $bin (conf: $cache/conf)"
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
# One build at a time per cache; a second caller waits, then reuses.
exec 9>"$cache/.lock"
if ! flock -n 9; then
  say "another install is running (lock $cache/.lock); waiting for it"
  flock 9
fi
if cached; then
  say "using the cached binary $bin (conf: $cache/conf)"
  echo "$bin"
  exit 0
fi

# Build deps, installed only when missing.
deps=(protobuf-compiler libclang-dev cmake pkg-config libssl-dev)
missing=()
for p in "${deps[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing build deps: ${missing[*]}"
  $sudo apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}" >&2
fi

# The source tree.
src="${1:-${BATATA_SRC:-}}"
if [ -n "$src" ]; then
  src=$(cd "$src" && pwd)
  say "building from the source tree $src"
else
  [ -f "$snapshot_tar" ] || {
    say "no source: pass a batata source tree (or set BATATA_SRC), or provide $snapshot_tar"
    exit 1
  }
  stamp="$(sha256sum "$snapshot_tar" | cut -d' ' -f1)"
  src="$cache/src/batata"
  if [ "$(cat "$cache/src/.stamp" 2>/dev/null)" != "$stamp" ]; then
    say "extracting $snapshot_tar into $cache/src"
    rm -rf "$cache/src" "$cache/src.tmp"
    mkdir -p "$cache/src.tmp"
    tar xzf "$snapshot_tar" -C "$cache/src.tmp"
    if [ -f "$snapshot_dir/Cargo.lock" ]; then
      cp "$snapshot_dir/Cargo.lock" "$cache/src.tmp/batata/Cargo.lock"
    fi
    echo "$stamp" >"$cache/src.tmp/.stamp"
    mv "$cache/src.tmp" "$cache/src"
  fi
  say "building from the snapshot extracted in $src"
fi
[ -f "$src/Cargo.toml" ] && [ -f "$src/conf/application.yml" ] || {
  say "$src does not look like a batata source tree (no Cargo.toml or conf/application.yml)"
  exit 1
}

export CARGO_TARGET_DIR="$cache/target"
say "cargo build -p batata-server (nice -n 19, target dir $CARGO_TARGET_DIR); about an hour on 2 cores"
(cd "$src" && nice -n 19 cargo build -p batata-server >&2)

built="$CARGO_TARGET_DIR/debug/batata-server"
[ -x "$built" ] || { say "the build did not produce $built"; exit 1; }
rm -rf "$cache/conf.tmp"
cp -r "$src/conf" "$cache/conf.tmp"
rm -rf "$cache/conf"
mv "$cache/conf.tmp" "$cache/conf"
cp "$built" "$bin.tmp"
mv "$bin.tmp" "$bin"
say "installed $bin (conf: $cache/conf)"
echo "$bin"
