#!/usr/bin/env bash
# Install what the tests need on top of setup.sh (Debian tools, test and Ray extras, at the
# versions in constraints.txt), then run the test suite. `./test.sh --lint` runs ruff and mypy
# first, as CI does; other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || ./setup.sh

# exiftool: the metadata oracle; chromium: the browser tests; espeak-ng, sox: generated speech;
# npm: axe-core for the accessibility check
apt_packages=(libimage-exiftool-perl chromium espeak-ng sox)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
command -v npm >/dev/null 2>&1 || missing+=(npm)  # any npm will do; Node may not be Debian's
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test: please install with sudo: apt-get install ${missing[*]} (tests that need them skip)" >&2
  fi
fi
.venv/bin/python -m pip install -q -c constraints.txt -e '.[dev,ray,voice]'

lint=0
if [ "${1:-}" = "--lint" ]; then lint=1; shift; fi
if [ $lint = 1 ]; then
  .venv/bin/ruff check src tests bench
  .venv/bin/ruff format --check src tests bench
  .venv/bin/mypy src
fi
exec .venv/bin/python -m pytest -q "$@"
