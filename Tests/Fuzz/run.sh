#!/usr/bin/env bash
# Fuzzes every parser of user input with libFuzzer (Swift's -sanitize=fuzzer, with the address
# sanitizer), each for SECONDS (default 60), starting from the seeds in corpus/ (the fixtures'
# shapes). New inputs go to a working corpus under .build-fuzz/, not into the repository. A crash
# stops the run with status 1 and leaves its input as .build-fuzz/crash-<target>-*; replay it with
#   swift run knnbatch-fuzz TARGET FILE
# and keep it as a regression test. Prints executions per second and coverage per target.
#
#   Tests/Fuzz/run.sh [SECONDS] [TARGET...]      targets: job npy npz fvecs bvecs ivecs csv text parquet
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(job npy npz fvecs bvecs ivecs csv text parquet)

swift build --product knnbatch-fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -E "error|warning: unable|Compiling knnbatch_fuzz|Build complete" || true
binary=.build-fuzz/debug/knnbatch-fuzz
[ -x "$binary" ] || { echo "fuzz: the fuzz build failed" >&2; exit 1; }

status=0
for target in "${targets[@]}"; do
    work=.build-fuzz/corpus/$target
    mkdir -p "$work"
    log=.build-fuzz/$target.log
    if KNNBATCH_FUZZ_TARGET=$target "$binary" "$work" "Tests/Fuzz/corpus/$target" \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix=".build-fuzz/crash-$target-" -print_final_stats=1 >"$log" 2>&1; then
        runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
        rate=$(grep -m1 'stat::average_exec_per_sec' "$log" | awk '{print $2}')
        cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || echo "cov: ?")
        echo "fuzz $target: ${seconds}s, $runs runs, $rate exec/s, $cov, no crash"
    else
        echo "fuzz $target: FAILED (see $log)"
        grep -E "ERROR|Fatal error|SUMMARY|Test unit written" "$log" | head -5
        status=1
    fi
done
exit $status
