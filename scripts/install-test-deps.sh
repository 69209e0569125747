#!/usr/bin/env bash
# Installs the Debian packages the tests run real peers from (idempotent: installs only what
# is missing, runs `apt-get update` only when it has to install):
#   - GStreamer's RTSP server (through python3-gi) for the RTSP probe tests, with Basic and
#     Digest auth: test/fixtures/rtsp_server.py
#   - kamailio, a SIP server, as the GB28181 device answering SIP OPTIONS: test/fixtures/kamailio.cfg
# (Debian 12 has neither live555's livemedia-utils nor sipp.)
set -euo pipefail

PY=/usr/bin/python3
missing=()

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
command -v kamailio >/dev/null 2>&1 || missing+=(kamailio)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-test-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null 2>&1 || { echo "install-test-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

gst_ok || { echo "install-test-deps: GStreamer RTSP server still not usable from $PY" >&2; exit 1; }
command -v kamailio >/dev/null 2>&1 || { echo "install-test-deps: kamailio still missing" >&2; exit 1; }
