#!/usr/bin/env bash
# Set up unseen on a fresh Debian machine: system tools the tests use, a venv, the package.
# Everything comes from Debian's packages and PyPI; no model is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")"

# exiftool: the tests' independent metadata oracle; chromium: the review page's browser tests
apt_packages=(libimage-exiftool-perl chromium)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install with sudo: apt-get install ${missing[*]} (tests that need it will skip)" >&2
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev,ray]'
echo "setup: done. Try: .venv/bin/unseen demo"
