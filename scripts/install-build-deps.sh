#!/usr/bin/env bash
# Installs what building every feature needs beyond Rust: a C++ compiler and libclang, which the
# `rocksdb` crate uses to build RocksDB from source and generate its bindings.
#
#   ./scripts/install-build-deps.sh            install what is missing
#   ./scripts/install-build-deps.sh --check    only report what is missing (exit 1 if anything)
#
# Installs Debian's `clang` (clang++ compiles RocksDB about 1.8 times as fast as g++, see
# scripts/cxx) and `libclang-dev` with apt-get, as root or through sudo. Does nothing when they are present. Without root or sudo it goes on
# with the system's c++ if it has one and libclang, else stops and says what to install.
#
# libclang is what bindgen's clang-sys links: libclang.so or libclang-<version>.so, unversioned
# (libclang-dev's names; the runtime package's libclang-14.so.1 alone does not do). LLVM also
# ships libclang-cpp.so.<version>, a different library (the C++ interface) that does not
# satisfy bindgen, so it must never count. EDDY_LLVM_LIB_DIRS (a glob of directories) and
# EDDY_LDCONFIG_LISTING (a file standing in for `ldconfig -p`) exist so that
# scripts/test-install-build-deps.sh can check the detection on made-up machines.
set -euo pipefail

# Whether a file name is a libclang that clang-sys accepts (not libclang-cpp, not a static or a
# versioned-only library).
is_libclang() {
    [[ $1 =~ ^libclang(-[0-9][0-9.]*)?\.so$ ]]
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

have() {
    command -v "$1" >/dev/null 2>&1
}

if [[ ${1:-} == --check ]]; then
    status=0
    if have_libclang; then echo "libclang: present"; else echo "libclang: missing"; status=1; fi
    if have clang++; then echo "clang++: present"; else echo "clang++: missing"; status=1; fi
    exit $status
fi

missing=()
have clang++ || missing+=(clang)
have_libclang || missing+=(libclang-dev)
((${#missing[@]})) || exit 0

echo "install-build-deps: installing ${missing[*]} (needed to build RocksDB)" >&2
if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
elif have sudo; then
    sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}"
elif have_libclang && have c++; then
    echo "install-build-deps: cannot install clang (not root, no sudo); RocksDB will be built" \
        "with $(command -v c++), more slowly." >&2
    exit 0
else
    echo "install-build-deps: cannot install ${missing[*]}: not root and no sudo." >&2
    echo "Install them (Debian/Ubuntu: apt-get install ${missing[*]}) and run again." >&2
    exit 1
fi
if ! have_libclang; then
    echo "install-build-deps: libclang is still missing after installing ${missing[*]}." >&2
    exit 1
fi
