#!/usr/bin/env bash
# apt-ensure.sh COMMAND:PACKAGE ...: installs each Debian PACKAGE whose COMMAND is not on the PATH, when this is
# root on a machine with apt-get (CI, a fresh container); elsewhere says what to install and carries on, so what
# needs the command reports itself skipped.
set -uo pipefail
missing=()
for pair in "$@"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/dev/null 2>&1 ||
    echo "apt-ensure: could not install ${missing[*]}" >&2
else
  echo "apt-ensure: not installed: ${missing[*]} (apt-get install ${missing[*]})" >&2
fi
exit 0
