#!/usr/bin/env bash
# Makes sure what the tests need from Debian is there (run from `npm test`'s pretest; as root in
# CI). Idempotent and cheap: only what is missing is installed, and `apt-get update` runs only then.
set -euo pipefail

is_root() { [ "$(id -u)" = 0 ]; }

# --- Debian packages ---------------------------------------------------------------------------
PY=/usr/bin/python3
missing=()

# GStreamer's RTSP server (through python3-gi), the real RTSP peer of the probe tests, with Basic
# and Digest auth: test/fixtures/rtsp_server.py. (Debian 12 has neither live555's
# livemedia-utils nor sipp in main.)
gst_ok() {
  [ -x "$PY" ] && "$PY" - <<'PYEOF' >/dev/null 2>&1
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtsp, GstRtspServer
Gst.init(None)
for name in ('audiotestsrc', 'audioconvert', 'rtpL16pay'):
    assert Gst.ElementFactory.find(name), name
PYEOF
}
gst_ok || missing+=(python3 python3-gi gir1.2-gst-rtsp-server-1.0 gir1.2-gst-plugins-base-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good)
# kamailio, a real SIP server, plays the GB28181 device answering SIP OPTIONS: test/fixtures/kamailio.cfg
command -v kamailio >/dev/null 2>&1 || missing+=(kamailio)
# Headless Chromium for the dashboard tests (driven by playwright-core, never a downloaded browser).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# CJK glyphs, so the dashboard's Chinese screenshots show characters, not boxes.
{ command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi 'Noto Sans CJK'; } || missing+=(fonts-noto-cjk)

if [ ${#missing[@]} -gt 0 ]; then
  if ! is_root; then
    echo "install-test-deps: missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "install-test-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  gst_ok || { echo "install-test-deps: GStreamer RTSP server still not usable from $PY" >&2; exit 1; }
fi

# --- PostgreSQL on 127.0.0.1:5432, user postgres, trust auth ----------------------------------
# The tests create and drop their own databases in it.
pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

ensure_postgres() {
  pg_answers && return 0
  if ! is_root; then
    echo "install-test-deps: nothing answers on 127.0.0.1:5432 and I am not root, so I cannot install PostgreSQL;" >&2
    echo "install-test-deps: start one (user postgres, trust auth) or set DEVSTATUS_TEST_PG_URL, or the PostgreSQL tests fail" >&2
    return 0
  fi
  local fresh=no
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_lsclusters >/dev/null; then
    echo "install-test-deps: installing PostgreSQL from Debian" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fresh=yes
  fi
  local version cversion cname cport
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h | grep -q .; then
    pg_createcluster --port 5432 "$version" main >/dev/null
    fresh=yes
  fi
  read -r cversion cname cport _ < <(pg_lsclusters -h | head -n 1)
  if [ "$fresh" = yes ]; then
    # A cluster made just now, for the tests: trust on loopback only.
    local hba="/etc/postgresql/$cversion/$cname/pg_hba.conf"
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+$/\1trust/' "$hba"
    sed -i -E 's/^(local\s+all\s+postgres\s+)\S+$/\1trust/' "$hba"
    if [ "$cport" != 5432 ]; then
      sed -i -E "s/^#?port\s*=.*/port = 5432/" "/etc/postgresql/$cversion/$cname/postgresql.conf"
    fi
  fi
  pg_ctlcluster --skip-systemctl-redirect "$cversion" "$cname" restart >/dev/null 2>&1 ||
    pg_ctlcluster --skip-systemctl-redirect "$cversion" "$cname" start
  for _ in $(seq 1 30); do
    pg_answers && return 0
    sleep 1
  done
  echo "install-test-deps: PostgreSQL $cversion/$cname did not start answering on 127.0.0.1:5432" >&2
  return 1
}
ensure_postgres
