#!/usr/bin/env python3
"""Kill a multi-block run with SIGKILL at random moments, rerun the same job after each kill, and
check that the final output is byte for byte the uninterrupted run's and that no rerun lost a
block an earlier run had finished: each rerun resumes from exactly the blocks the journal held
when the run before it was killed.

    python3 bench/resume_kills.py [--kills 50] [--seed 1] [--binary .build/release/knnbatch]

Uses .bench-data/flat-l2-128 (bench/flat_bench.py makes it): 100k x 128 l2, its 10,000 queries,
k = 10, blocks of 250 queries (40 blocks), written as .npy.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def job(folder, name, output):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump({"version": 1, "dataset": {"path": "base.fvecs"}, "queries": {"path": "query.fvecs"}, "k": 10, "metric": "l2",
                   "index": {"type": "flat"}, "output": {"path": output}, "planner": {"block_queries": 250}}, f)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "knnbatch"))
    args = parser.parse_args()
    folder = os.path.join(ROOT, ".bench-data", "flat-l2-128")
    if not os.path.exists(os.path.join(folder, "query.fvecs")):
        sys.path.insert(0, os.path.join(ROOT, "bench"))
        import flat_bench
        flat_bench.make_dataset("l2-128")
    whole_job, killed_job = job(folder, "job-whole.json", "resume-whole.npy"), job(folder, "job-killed.json", "resume-killed.npy")
    for name in ["resume-killed.npy", "resume-killed.npy.report.json"]:
        if os.path.exists(os.path.join(folder, name)):
            os.remove(os.path.join(folder, name))
    start = time.time()
    subprocess.run([args.binary, "run", whole_job, "--quiet", "--restart"], check=True)
    whole_seconds = time.time() - start
    rng = random.Random(args.seed)
    journal = os.path.join(folder, ".resume-killed.npy.knnbatch-journal")
    resumed, vouched, kills, finished_early, lost = [], 0, 0, 0, 0
    while kills < args.kills:
        process = subprocess.Popen([args.binary, "run", killed_job], stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.05, whole_seconds))
        killed = process.poll() is None
        if killed:
            process.kill()
            kills += 1
        _, err = process.communicate()
        match = re.search(r"resumed an interrupted run: (\d+) of (\d+)", err.decode())
        started_at = int(match.group(1)) if match else 0
        resumed.append(started_at)
        # A run killed before it reached the journal says nothing: nothing to check.
        if (match or not killed) and started_at != vouched:
            lost += 1
            print(f"run {len(resumed)}: started at block {started_at}, the journal held {vouched}")
        if killed:
            # Blocks the journal vouches for now: the next run must start after them.
            vouched = 0
            if os.path.exists(journal):
                with open(journal) as f:
                    vouched = max(0, sum(1 for line in f if line.endswith("\n")) - 1)
        else:
            finished_early += 1
            vouched = 0
            os.remove(os.path.join(folder, "resume-killed.npy"))
    subprocess.run([args.binary, "run", killed_job, "--quiet"], check=True)
    with open(os.path.join(folder, "resume-whole.npy"), "rb") as a, open(os.path.join(folder, "resume-killed.npy"), "rb") as b:
        identical = a.read() == b.read()
    monotone = lost == 0
    print(f"{kills} kills ({finished_early} runs finished before their kill), uninterrupted run {whole_seconds:.1f} s")
    print(f"blocks already written when each rerun started: {resumed}")
    print(f"final output identical to the uninterrupted run's: {identical}; no finished block lost: {monotone}")
    sys.exit(0 if identical and monotone else 1)


if __name__ == "__main__":
    main()
