#!/usr/bin/env bash
# Checks install-build-deps.sh's libclang detection on made-up machines: LLVM's libclang-cpp
# alone (a fresh Debian machine with LLVM 14) or the versioned runtime library alone must count
# as missing; libclang.so or libclang-<version>.so, found by ldconfig or in an LLVM lib
# directory, must count as present (what clang-sys accepts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# expect <present|missing> <description> <ldconfig listing lines...> -- <files in the LLVM dir...>
expect() {
    local want=$1 what=$2
    shift 2
    local case_dir="$work/$RANDOM$RANDOM"
    mkdir -p "$case_dir/lib"
    : >"$case_dir/ldconfig"
    while (($#)) && [[ $1 != -- ]]; do
        printf '\t%s (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/%s\n' "$1" "$1" >>"$case_dir/ldconfig"
        shift
    done
    (($#)) && shift
    local file
    for file in "$@"; do
        : >"$case_dir/lib/$file"
    done
    local got=present report
    report=$(env -u LIBCLANG_PATH EDDY_LDCONFIG_LISTING="$case_dir/ldconfig" \
        EDDY_LLVM_LIB_DIRS="$case_dir/lib" ./scripts/install-build-deps.sh --check || true)
    [[ $report == *"libclang: missing"* ]] && got=missing
    if [[ $got == "$want" ]]; then
        echo "ok: $what: libclang $got"
    else
        echo "FAILED: $what: libclang detected as $got, expected $want" >&2
        failures=$((failures + 1))
    fi
}

expect missing "nothing at all" --
expect missing "only libclang-cpp (ldconfig)" libclang-cpp.so.14 --
expect missing "only libclang-cpp (LLVM dir)" -- libclang-cpp.so.14 libclang-cpp.so
expect missing "static clang libraries only" -- libclangAST.a libclangBasic.a
expect missing "the runtime library only (ldconfig)" libclang-cpp.so.14 libclang-14.so.1 --
expect missing "the runtime library only (LLVM dir)" -- libclang-14.so.1 libclang-14.so.14.0.6
expect present "libclang.so (ldconfig)" libclang.so.1 libclang.so --
expect present "libclang.so (LLVM dir)" -- libclang-cpp.so.14 libclang.so.1 libclang.so
expect present "libclang-14.so (LLVM dir)" -- libclang-14.so.1 libclang-14.so

if ((failures)); then
    echo "test-install-build-deps: $failures case(s) failed" >&2
    exit 1
fi
echo "test-install-build-deps: all cases passed"
