#!/bin/sh
# Install every Debian package that building and testing ftplimit needs;
# with --packaging, also what building and checking its Debian packages
# needs (tests/debian/packages.sh). Idempotent: packages already present
# are not downloaded again.
set -eu

PACKAGES="
  build-essential autoconf automake libtool pkg-config
  libmaxminddb-dev uthash-dev libjansson-dev libpcre2-dev libnftables-dev nftables check
  libhiredis-dev redis-server
  mmdb-bin libmaxmind-db-writer-perl
  proftpd-core proftpd-dev lftp python3
  proftpd-mod-crypto python3-paramiko openssh-client python3-prometheus-client
  valgrind clang libclang-rt-14-dev
"
if [ "${1:-}" = --packaging ]; then
    PACKAGES="$PACKAGES debhelper devscripts lintian fakeroot logrotate"
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# proftpd-core's maintainer scripts try to start a system service; a policy-rc.d
# that forbids it keeps the install from touching the machine's port 21.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
