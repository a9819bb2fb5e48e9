#!/usr/bin/env bash
# Installs everything voxsmith needs on a fresh Debian machine (apt + pip), offline-sane:
# torch is pinned to the CPU wheel through constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    $(grep -v '^\s*#' requirements-apt.txt | tr '\n' ' ') >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
