#!/usr/bin/env bash
# Debian's headless Chromium for the debug page test (tests/debug_page.rs), installed
# only when missing. The test runs this itself; .ci/run runs it up front.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
echo "installing chromium (Debian package) for the debug page test" >&2
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null
