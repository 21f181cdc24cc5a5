#!/usr/bin/env bash
# Runs the whole test suite, with every optional feature (the RocksDB state backend included).
#
#   ./scripts/test.sh [extra cargo test arguments]
#
# RocksDB is built from source by the `rocksdb` crate, which needs a C++ compiler and libclang
# (for its bindings). On a machine without them this script installs them with apt-get (as root,
# or through sudo); where that is impossible it stops and says what to install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

have_libclang() {
    [[ -n "${LIBCLANG_PATH:-}" ]] && return 0
    ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so' && return 0
    compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null
}

missing=()
have_libclang || missing+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || missing+=(g++)

if ((${#missing[@]})); then
    echo "scripts/test.sh: installing ${missing[*]} (needed to build RocksDB)" >&2
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}"
    elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}"
    else
        echo "scripts/test.sh: cannot install ${missing[*]}: not root and no sudo." >&2
        echo "Install them (Debian/Ubuntu: apt-get install ${missing[*]}) and run again." >&2
        exit 1
    fi
fi

exec cargo test --workspace --all-features "$@"
