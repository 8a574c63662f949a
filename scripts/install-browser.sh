#!/usr/bin/env bash
# Installs Debian's chromium + chromium-driver for the browser tests, if missing.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "chromium/chromedriver missing and not root: browser tests will be skipped" >&2; exit 0; fi
fi
echo "installing chromium + chromium-driver (apt-get)…" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
