#!/usr/bin/env bash
# Install what the tests need, then build and test every configuration:
#   1. fuzz:    clang + libFuzzer + ASan/UBSan, each target run for FUZZ_SECONDS (30)
#   2. asan:    the whole test suite under AddressSanitizer + UBSan
#   3. release: -Werror build, the whole test suite, install check
# Exits non-zero on the first failure. Build trees go to build-ci/ (or $BUILD_ROOT).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${BUILD_ROOT:-$root/build-ci}
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-30}

scripts/deps.sh test

step() { printf '\n==== %s\n' "$*"; }

if [ -x ../shared/checks/layers.sh ]; then
    step "rules of the house"
    ../shared/checks/layers.sh
fi

step "fuzz build (clang, libFuzzer)"
CC=clang cmake -S . -B "$out/fuzz" -DTERN_FUZZ=ON -DTERN_WERROR=ON \
    -DTERN_BUILD_TESTS=OFF -DTERN_BUILD_TOOLS=OFF >/dev/null
cmake --build "$out/fuzz" -j "$jobs"
step "fuzz run (${fuzz_seconds}s per target)"
scripts/fuzz.sh "$out/fuzz" "$fuzz_seconds"

step "asan+ubsan build and tests"
cmake -S . -B "$out/asan" -DTERN_SANITIZE=ON -DTERN_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$out/asan" -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$out/asan" --output-on-failure -j "$jobs"

step "release build and tests"
cmake -S . -B "$out/release" -DTERN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out/release" -j "$jobs"
ctest --test-dir "$out/release" --output-on-failure -j "$jobs"
