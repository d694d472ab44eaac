#!/usr/bin/env bash
# make dist: dist/aloft-VERSION-linux-ARCH.tar.gz for machines without Swift. The binary is built in release mode with the
# Swift runtime and Foundation linked in (--static-swift-stdlib: it needs only the C library, glibc 2.35 or later when
# built on Debian 12) and stripped; beside it the README, the systemd unit, an example config, and the licenses of what
# is linked into it (the Swift runtime's and every package the build resolved, with their NOTICE files). VERSION is
# `aloft --version`, the agent's VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product aloft ${SWIFT_BUILD_FLAGS:-}
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/aloft"
name="aloft-$("$bin" --version)-linux-$(uname -m)"
rm -rf "dist/$name" "dist/$name.tar.gz"
mkdir -p "dist/$name"
install -m 0755 -s "$bin" "dist/$name/aloft"
install -m 0644 README.md packaging/aloft.service packaging/aloft.conf "dist/$name/"
for own in LICENSE*; do [ -f "$own" ] && install -m 0644 "$own" "dist/$name/"; done

# Third-party licenses: the text of each, as Apache 2.0 and MIT ask of a binary distribution.
notices="dist/$name/THIRD-PARTY-LICENSES.txt"
runtime="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/share/swift/LICENSE.txt"
{
  echo "aloft links the following software statically. Each section is that project's license (and NOTICE), as shipped."
  if [ -f "$runtime" ]; then printf '\n===== Swift runtime and Foundation (swift.org) =====\n\n'; cat "$runtime"; fi
  for package in .build/checkouts/*/; do
    printf '\n===== %s =====\n\n' "$(basename "$package")"
    for file in "$package"LICENSE* "$package"NOTICE*; do [ -f "$file" ] && { cat "$file"; echo; }; done
  done
} >"$notices"

tar -C dist -czf "dist/$name.tar.gz" "$name"
rm -rf "dist/$name"
echo "dist/$name.tar.gz"
