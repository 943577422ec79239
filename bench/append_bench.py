#!/usr/bin/env python3
"""Appending rows to a self-join: the "update": "append" run against a full run of the same job.

For each case, the dataset is written without its last 1% of rows and an appending job is run on
it (a full run that leaves the record); then the whole dataset is written and the appending job
runs again (the update, timed), and a plain job with the same output format runs in full (timed;
its output already exists, as a nightly run's does). Both outputs must be byte-identical. Each
pair is repeated and the medians are printed.

    python3 bench/append_bench.py [--binary .build/release/knnbatch] [--repeats 3] [--threads 2]
"""
import argparse
import filecmp
import json
import os
import statistics
import subprocess
import tempfile

import numpy as np


def datasets(seed=7):
    rng = np.random.default_rng(seed)
    # 100k sentence-embedding-like vectors: 200 clusters in 384-d.
    centres = rng.standard_normal((200, 384)).astype(np.float32)
    emb = centres[rng.integers(0, 200, 100_000)] + 0.6 * rng.standard_normal((100_000, 384)).astype(np.float32)
    points = rng.random((1_000_000, 3), dtype=np.float32)
    return {"flat-384": (emb, "cosine", "flat"), "kdtree-3": (points, "l2", "kdtree")}


def run(binary, job, threads):
    subprocess.run([binary, "run", job, "--quiet", "--threads", str(threads)], check=True)


def total(report):
    with open(report) as f:
        return json.load(f)["timings"]["total"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/knnbatch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")
    print(f"CPU: {model}; threads {args.threads}; k = 10; 1% of rows appended; medians of {args.repeats}")
    print("| case | output | full run s | append s | ratio | identical |")
    print("|---|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, (data, metric, index) in datasets().items():
            base = data[: len(data) * 100 // 101]
            for fmt in ["npy", "csv"]:
                jobs = {}
                for kind in ["append", "full"]:
                    spec = {"version": 1, "dataset": {"path": f"{name}.npy"}, "queries": "self", "k": 10, "metric": metric,
                            "index": {"type": index}, "output": {"path": f"out/{name}-{kind}.{fmt}"}}
                    if kind == "append":
                        spec["update"] = "append"
                    jobs[kind] = os.path.join(folder, f"{name}-{fmt}-{kind}.json")
                    with open(jobs[kind], "w") as f:
                        json.dump(spec, f)
                full, append, identical = [], [], True
                for _ in range(args.repeats):
                    np.save(os.path.join(folder, f"{name}.npy"), base)
                    run(binary, jobs["append"], args.threads)
                    np.save(os.path.join(folder, f"{name}.npy"), data)
                    run(binary, jobs["append"], args.threads)
                    append.append(total(os.path.join(folder, f"out/{name}-append.{fmt}.report.json")))
                    run(binary, jobs["full"], args.threads)
                    full.append(total(os.path.join(folder, f"out/{name}-full.{fmt}.report.json")))
                    identical &= filecmp.cmp(os.path.join(folder, f"out/{name}-append.{fmt}"),
                                             os.path.join(folder, f"out/{name}-full.{fmt}"), shallow=False)
                f, a = statistics.median(full), statistics.median(append)
                print(f"| {len(data)} × {data.shape[1]} {metric}, {index} | {fmt} | {f:.2f} | {a:.2f} | {100 * a / f:.1f}% | {identical} |")


if __name__ == "__main__":
    main()
