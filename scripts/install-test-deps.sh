#!/usr/bin/env bash
# Makes sure what the tests need from Debian is there; installs only what is missing, so it
# is cheap to run before every `npm test` (npm's pretest). Today: PostgreSQL answering on
# 127.0.0.1:5432 for user postgres with trust auth (the tests create and drop their own databases).
set -euo pipefail

pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if pg_answers; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: nothing answers on 127.0.0.1:5432 and I am not root, so I cannot install PostgreSQL;" >&2
  echo "install-test-deps: start one (user postgres, trust auth) or set DEVSTATUS_TEST_PG_URL, or the PostgreSQL tests fail" >&2
  exit 0
fi

fresh=no
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_lsclusters >/dev/null; then
  echo "install-test-deps: installing PostgreSQL from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fresh=yes
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | grep -q .; then
  pg_createcluster --port 5432 "$version" main >/dev/null
  fresh=yes
fi
read -r cversion cname cport _ < <(pg_lsclusters -h | head -n 1)

if [ "$fresh" = yes ]; then
  # A cluster made just now, for the tests: trust on loopback only.
  hba="/etc/postgresql/$cversion/$cname/pg_hba.conf"
  sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+$/\1trust/' "$hba"
  sed -i -E 's/^(local\s+all\s+postgres\s+)\S+$/\1trust/' "$hba"
  if [ "$cport" != 5432 ]; then
    sed -i -E "s/^#?port\s*=.*/port = 5432/" "/etc/postgresql/$cversion/$cname/postgresql.conf"
  fi
fi

pg_ctlcluster "$cversion" "$cname" restart >/dev/null 2>&1 || pg_ctlcluster "$cversion" "$cname" start
for _ in $(seq 1 30); do
  pg_answers && exit 0
  sleep 1
done
echo "install-test-deps: PostgreSQL $cversion/$cname did not start answering on 127.0.0.1:5432" >&2
exit 1
