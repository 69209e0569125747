#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (run as root, e.g. in CI, from `npm test`'s
# pretest). Idempotent: only what is missing is installed, and `apt-get update` runs only then.
set -euo pipefail

missing=()
# Headless Chromium for the dashboard tests (driven by playwright-core, never a downloaded browser).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "install-test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
