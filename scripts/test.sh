#!/usr/bin/env bash
# The whole test suite: every crate, every feature (the RocksDB state backend included).
#
#   ./scripts/test.sh [cargo test options for the first run]
#
# RocksDB is built from source by the `rocksdb` crate, which needs a C++ compiler and libclang;
# `install-build-deps.sh` installs them first if they are missing. The S3 tests need moto's
# S3-compatible server, which `install-test-servers.sh` installs (the tests start it).
#
# The suites whose operators keep state (windows, timers, joins, keyed state and rolling
# aggregations, broadcast state, the two-input process functions, checkpoints, recovery and
# savepoints, also in S3) run a second time with their jobs on the RocksDB backend and
# incremental checkpoints (EDDY_TEST_STATE_BACKEND=rocksdb, EDDY_TEST_INCREMENTAL_CHECKPOINTS=1;
# see crates/eddy-api/tests/integration/common/mod.rs), so both backends, and both kinds of
# checkpoint, pass the same tests. Both runs select the whole workspace: selecting one package
# would resolve other dependency features and rebuild much of the workspace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/install-build-deps.sh
# The S3 tests start a local S3-compatible server (moto) of their own.
EDDY_MOTO_SERVER="$(./scripts/install-test-servers.sh)"
export EDDY_MOTO_SERVER
cargo test --workspace --all-features "$@"

stateful_modules=()
for module in crates/eddy-api/tests/integration/{window_,timers,joins,keyed_,runtime_modes,broadcast_state,side_outputs_two_input,fault_tolerance,failover,checkpoints,savepoints,s3_checkpoints}*.rs; do
    stateful_modules+=("$(basename "$module" .rs)::")
done
printf '\n==> the stateful suites again, on the rocksdb state backend with incremental checkpoints\n'
EDDY_TEST_STATE_BACKEND=rocksdb EDDY_TEST_INCREMENTAL_CHECKPOINTS=1 cargo test --workspace --all-features \
    --test integration -- "${stateful_modules[@]}"
