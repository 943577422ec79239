#!/usr/bin/env python3
"""Two knnbatch binaries on the same HNSW jobs, runs alternating, to compare a change with the
version before it on this noisy machine.

    python3 bench/hnsw_ab.py --old OLD_BINARY [--new .build/release/knnbatch] [--repeats 5] [--ef 48]

Uses the datasets of bench/flat_bench.py (.bench-data/flat-l2-128 and flat-cosine-384): l2 and
cosine with their 10,000 queries, and a cosine self-join. For each job prints the median search
time (each binary's report), every run's time, the median build time, the largest peak memory,
and whether the two outputs are byte for byte the same. Build the old version in a separate
worktree, e.g. `git worktree add /tmp/old <commit> && (cd /tmp/old && swift build -c release)`.
"""
import argparse
import json
import os
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JOBS = [("l2-128", "l2", {"path": "query.fvecs"}), ("cosine-384", "cosine", {"path": "query.fvecs"}), ("cosine-384", "cosine", "self")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True)
    parser.add_argument("--new", default=os.path.join(ROOT, ".build", "release", "knnbatch"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ef", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    binaries = {"old": args.old, "new": args.new}
    for case, metric, queries in JOBS:
        folder = os.path.join(ROOT, ".bench-data", f"flat-{case}")
        searches = {name: [] for name in binaries}
        peaks = {name: [] for name in binaries}
        builds = {name: [] for name in binaries}
        for _ in range(args.repeats):
            for name, binary in binaries.items():
                job = os.path.join(folder, f"job-ab-{name}.json")
                with open(job, "w") as f:
                    json.dump({"version": 1, "dataset": {"path": "base.fvecs"}, "queries": queries, "k": 10, "metric": metric,
                               "index": {"type": "hnsw", "connectivity": 16, "expansion_add": 128, "expansion_search": args.ef},
                               "output": {"path": f"ab-{name}.npy"}, "threads": args.threads}, f)
                subprocess.run([binary, "run", job, "--quiet"], check=True)
                with open(os.path.join(folder, f"ab-{name}.npy.report.json")) as f:
                    report = json.load(f)
                searches[name].append(report["timings"]["search"])
                peaks[name].append(report["peak_memory_bytes"])
                builds[name].append(report["timings"]["build"])
        with open(os.path.join(folder, "ab-old.npy"), "rb") as f_old, open(os.path.join(folder, "ab-new.npy"), "rb") as f_new:
            same = f_old.read() == f_new.read()
        print(f"{case} {'self-join' if queries == 'self' else 'queries'}, ef {args.ef}: " + "; ".join(
            f"{name} search median {statistics.median(times):.3f} s (runs {', '.join(f'{t:.3f}' for t in sorted(times))}), "
            f"build median {statistics.median(builds[name]):.2f} s, peak {max(peaks[name]) / 1e6:,.0f} MB" for name, times in searches.items())
            + ("; outputs identical" if same else "; OUTPUTS DIFFER"), flush=True)


if __name__ == "__main__":
    main()
