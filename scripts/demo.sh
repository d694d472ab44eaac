#!/usr/bin/env bash
# The whole system on one machine: server on embedded SQLite, signed releases, three simulated devices
# updating to v1, to v2, then to a new agent; then a fleet of twelve and a staged rollout: a bad release
# halted at its canaries, a good one through every phase.
set -euo pipefail
cd "$(dirname "$0")/.."
ALOFT="$(swift build --show-bin-path)/aloft"
DATA=demo-data
rm -rf "$DATA" && mkdir -p "$DATA"
export ALOFT_ADMIN_TOKEN="demo-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "start the server (embedded SQLite in $DATA/server)"
"$ALOFT" serve --data "$DATA/server" --host 127.0.0.1 --port 0 --admin-token "$ALOFT_ADMIN_TOKEN" >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 200); do
  URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$DATA/server.log" | head -1 || true)
  [ -n "$URL" ] && break
  kill -0 $SERVER_PID 2>/dev/null || { cat "$DATA/server.log"; exit 1; }
  sleep 0.1
done
[ -n "${URL:-}" ] || { echo "server did not start"; cat "$DATA/server.log"; exit 1; }
export ALOFT_SERVER="$URL"
echo "server at $URL"

step "generate the release signing key (stays here, never on the server)"
"$ALOFT" keys generate --out "$DATA/keys"

step "publish greenhouse 1.0.0"
"$ALOFT" release publish examples/greenhouse/v1 --version 1.0.0 --key "$DATA/keys/release.key"

step "provision three simulated devices (2 MiB LittleFS flash images)"
for n in 1 2 3; do
  "$ALOFT" device provision --id "greenhouse-$n" --pubkey "$DATA/keys/release.pub" --out "$DATA/greenhouse-$n"
done

boot_all() {
  for n in 1 2 3; do
    echo "-- greenhouse-$n"
    "$ALOFT" sim run "$DATA/greenhouse-$n" --until-idle --timeout 120 2>&1 | sed 's/^/   /'
  done
}

step "boot the devices: each checks in, verifies, installs 1.0.0, resets and runs it"
boot_all
"$ALOFT" devices list

step "publish greenhouse 2.0.0 (main.py changed, the package lib/climate/ added, lib/units.py removed)"
echo "first a dry run: what would be published, and what is left out"
"$ALOFT" release publish examples/greenhouse/v2 --version 2.0.0 --key "$DATA/keys/release.key" --dry-run
"$ALOFT" release publish examples/greenhouse/v2 --version 2.0.0 --key "$DATA/keys/release.key"

step "boot again: only the changed and added files travel"
boot_all

step "publish greenhouse 2.1.0 with a new agent: the devices update the agent itself"
# A stand-in for the next version of Aloft's agent: this build's agent with another VERSION.
mkdir -p "$DATA/next-agent" && cp -r device/aloft "$DATA/next-agent/"
sed -i 's/^VERSION = ".*"/VERSION = "0.3.1-demo"/' "$DATA/next-agent/aloft/__init__.py"
ALOFT_DEVICE_DIR="$DATA/next-agent" "$ALOFT" release publish examples/greenhouse/v2 --version 2.1.0 \
  --key "$DATA/keys/release.key" --include-agent

step "boot again: the new agent runs on trial under the old one, checks in and is confirmed"
boot_all

step "a fleet of 12 more devices on channel orchard, for a staged rollout (aloft sim fleet)"
FLEET=(--count 12 --parallel 4 --channel orchard --prefix orchard --pubkey "$DATA/keys/release.pub")
"$ALOFT" release publish examples/greenhouse/v1 --version 1.0.0 --channel orchard --key "$DATA/keys/release.key" >/dev/null
"$ALOFT" sim fleet "$DATA/orchard" "${FLEET[@]}" | tail -1

step "a bad release, 1.1.0 (its main.py raises), held, then rolled out in phases 10%, 50%, 100%, halting at the first failure"
mkdir -p "$DATA/bad" && cp -r examples/greenhouse/v2/. "$DATA/bad/"
printf 'raise RuntimeError("sensor bus not found")\n' > "$DATA/bad/main.py"
"$ALOFT" release publish "$DATA/bad" --version 1.1.0 --channel orchard --key "$DATA/keys/release.key" --held | head -1
"$ALOFT" rollout start --channel orchard --version 1.1.0 --phases 10,50,100 --max-failures 0
"$ALOFT" sim fleet "$DATA/orchard" "${FLEET[@]}"
"$ALOFT" rollout status
echo "only the canaries tried it, and rolled back; the rest were never offered it"

step "a good release, 1.2.0, through the same phases"
"$ALOFT" release publish examples/greenhouse/v2 --version 1.2.0 --channel orchard --key "$DATA/keys/release.key" --held | head -1
"$ALOFT" rollout start --channel orchard --version 1.2.0 --phases 10,50,100 --max-failures 0
for round in 1 2 3 4; do
  echo "-- round $round"
  "$ALOFT" sim fleet "$DATA/orchard" "${FLEET[@]}" | tail -1
done
"$ALOFT" rollout status

step "what the server knows"
"$ALOFT" devices list
echo
echo "files on greenhouse-1 (the agent's own lib/aloft/ left out):"
"$ALOFT" sim ls "$DATA/greenhouse-1" | grep -v ' /lib/aloft/'
echo
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROMIUM" ]; then
  mkdir -p "$DATA/screenshots"
  for page in dashboard dashboard/devices dashboard/devices/greenhouse-1; do
    name=$(basename "$page")
    "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --hide-scrollbars \
      --user-data-dir="$DATA/chromium" --window-size=1280,1400 --screenshot="$DATA/screenshots/$name.png" \
      "${URL/:\/\//://admin:$ALOFT_ADMIN_TOKEN@}/$page" >/dev/null 2>&1 || true
  done
  echo "screenshots of the console: $(ls "$DATA"/screenshots/*.png 2>/dev/null | tr '\n' ' ')"
fi
echo
echo "done. server log: $DATA/server.log"
if [ -t 0 ] && [ -t 1 ]; then
  echo
  echo "the fleet console: $URL/dashboard (any user name; password: $ALOFT_ADMIN_TOKEN)"
  read -r -p "press Enter to stop the server " _ || true
fi
