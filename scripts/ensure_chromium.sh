#!/usr/bin/env bash
# `make test`'s browser: Debian's Chromium at CHROMIUM_PATH (default /usr/bin/chromium),
# installed with apt when missing and this runs as root. Otherwise it says why the browser
# tests will be skipped; under CI=true they fail instead (tests/e2e/browser.py).
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ] || command -v "$CHROMIUM" >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  if [ -x "$CHROMIUM" ]; then exit 0; fi
  echo "chromium could not be installed with apt-get" >&2
else
  echo "No Chromium at $CHROMIUM and no root apt-get to install it: the browser tests will be" \
       "skipped (install Debian's chromium, or set CHROMIUM_PATH)." >&2
fi
if [ "${CI:-}" = "true" ]; then exit 1; fi
exit 0
