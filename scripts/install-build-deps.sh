#!/usr/bin/env bash
# Installs what building every feature needs beyond Rust: a C++ compiler and libclang, which the
# `rocksdb` crate uses to build RocksDB from source and generate its bindings.
#
#   ./scripts/install-build-deps.sh
#
# Does nothing when they are present. Otherwise installs them with apt-get (as root, or through
# sudo); where that is impossible it stops and says what to install.
set -euo pipefail

have_libclang() {
    [[ -n "${LIBCLANG_PATH:-}" ]] && return 0
    ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so' && return 0
    compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null
}

missing=()
have_libclang || missing+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
((${#missing[@]})) || exit 0

echo "install-build-deps: installing ${missing[*]} (needed to build RocksDB)" >&2
if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}"
else
    echo "install-build-deps: cannot install ${missing[*]}: not root and no sudo." >&2
    echo "Install them (Debian/Ubuntu: apt-get install ${missing[*]}) and run again." >&2
    exit 1
fi
