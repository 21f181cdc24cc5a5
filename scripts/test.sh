#!/usr/bin/env bash
# Runs the whole test suite, with every optional feature (the RocksDB state backend included).
#
#   ./scripts/test.sh [extra cargo test arguments]
#
# RocksDB is built from source by the `rocksdb` crate, which needs a C++ compiler and libclang;
# `install-build-deps.sh` installs them first if they are missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/install-build-deps.sh
exec cargo test --workspace --all-features "$@"
