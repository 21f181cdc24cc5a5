#!/usr/bin/env bash
# Installs the servers the tests start themselves: an S3-compatible store (moto's server,
# PyPI `moto[server]`) in a Python virtual environment under target/test-servers/, with
# Debian's python3-venv first if this machine lacks it (as root or through sudo).
#
#   ./scripts/install-test-servers.sh     install what is missing; prints the moto_server path
#
# scripts/test.sh runs this and exports EDDY_MOTO_SERVER for the tests (see
# crates/eddy-checkpoint/src/testing.rs). Fails, saying what to do, if it cannot install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="$PWD/target/test-servers/venv"
moto="$venv/bin/moto_server"
if [[ -x $moto ]] && "$venv/bin/python" -c 'import moto.server' 2>/dev/null; then
    echo "$moto"
    exit 0
fi

have() {
    command -v "$1" >/dev/null 2>&1
}
apt_install() {
    echo "install-test-servers: installing $* with apt-get" >&2
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && apt-get install -y -qq "$@" >&2
    elif have sudo; then
        sudo apt-get update -qq && sudo apt-get install -y -qq "$@" >&2
    else
        echo "install-test-servers: cannot install $*: not root and no sudo." >&2
        echo "Install them (Debian/Ubuntu: apt-get install $*) and run again." >&2
        exit 1
    fi
}

if ! have python3 || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python3 python3-venv
fi
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv" >&2
echo "install-test-servers: installing moto[server] into $venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5,<6' >&2
"$venv/bin/python" -c 'import moto.server' >&2
echo "$moto"
