#!/usr/bin/env bash
# Installs what building every feature needs beyond Rust: a C++ compiler and libclang, which the
# `rocksdb` crate uses to build RocksDB from source and generate its bindings.
#
#   ./scripts/install-build-deps.sh            install what is missing
#   ./scripts/install-build-deps.sh --check    only say what is missing (exit 1 if anything)
#
# Does nothing when they are present. Otherwise installs them with apt-get (as root, or through
# sudo); where that is impossible it stops and says what to install.
#
# libclang is what bindgen loads: libclang.so or libclang-<version>.so[.N]. LLVM also ships
# libclang-cpp.so.<version>, a different library (the C++ interface) that does not satisfy
# bindgen, so it must never count. EDDY_LLVM_LIB_DIRS (a glob of directories) and
# EDDY_LDCONFIG_LISTING (a file standing in for `ldconfig -p`) exist so that
# scripts/test-install-build-deps.sh can check the detection on made-up machines.
set -euo pipefail

# Whether a file name is libclang itself (not libclang-cpp, not a static library).
is_libclang() {
    [[ $1 =~ ^libclang(-[0-9][0-9.]*)?\.so(\.[0-9.]+)?$ ]]
}

have_libclang() {
    [[ -n "${LIBCLANG_PATH:-}" ]] && return 0
    local name path listing
    if [[ -n "${EDDY_LDCONFIG_LISTING:-}" ]]; then
        listing=$(cat "$EDDY_LDCONFIG_LISTING")
    else
        listing=$(ldconfig -p 2>/dev/null || true)
    fi
    while read -r name _; do
        is_libclang "$name" && return 0
    done <<<"$listing"
    for path in ${EDDY_LLVM_LIB_DIRS:-/usr/lib/llvm-*/lib}/libclang*; do
        [[ -e $path ]] && is_libclang "$(basename "$path")" && return 0
    done
    return 1
}

missing=()
have_libclang || missing+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || missing+=(g++)

if [[ ${1:-} == --check ]]; then
    if ((${#missing[@]})); then
        echo "install-build-deps: missing ${missing[*]}"
        exit 1
    fi
    echo "install-build-deps: nothing missing"
    exit 0
fi
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
