#!/usr/bin/env bash
# The browser the Space's page tests drive: Debian's chromium, used through Playwright's
# executable_path (`playwright install` downloads browser builds, which cannot be reached
# here), and an emoji font, which the page uses. Idempotent: nothing to do when
# /usr/bin/chromium is there.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "install_browser.sh: /usr/bin/chromium is missing and cannot be installed here" \
       "(needs root and apt-get); the browser tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-noto-color-emoji
echo "installed $(/usr/bin/chromium --version)"
