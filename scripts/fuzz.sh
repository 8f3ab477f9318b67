#!/usr/bin/env bash
# Run every libFuzzer target for a bounded time.
#   scripts/fuzz.sh BUILD_DIR [SECONDS_PER_TARGET]
# BUILD_DIR is a build configured with CC=clang -DTERN_FUZZ=ON. New inputs go to a
# scratch corpus (the checked-in seeds in fuzz/corpus/ are read, never written);
# a crash leaves its input in BUILD_DIR/fuzz-artifacts/ and fails the run.
set -euo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS]}
seconds=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
status=0
for bin in "$build"/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    case $bin in *_replay) continue ;; esac
    target=$(basename "$bin"); target=${target#fuzz_}
    scratch=$build/fuzz-corpus/$target
    mkdir -p "$scratch"
    echo "== fuzz $target for ${seconds}s"
    if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$artifacts/$target-" "$scratch" "$root/fuzz/corpus/$target" \
            >"$build/fuzz-$target.log" 2>&1; then
        echo "fuzz $target FAILED; see $build/fuzz-$target.log and $artifacts"
        tail -n 40 "$build/fuzz-$target.log"
        status=1
    else
        grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$build/fuzz-$target.log" | tail -n 2
    fi
done
exit $status
