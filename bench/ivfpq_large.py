#!/usr/bin/env python3
"""ivfpq on a dataset larger than the memory it may use: 10M x 128 float32 (5 GB), generated
here, built and searched with a peak resident memory to report.

    python3 bench/ivfpq_large.py [--rows 10000000] [--dim 128] [--queries 10000] [--threads 2]
                                 [--folder .bench-data/ivfpq-10m] [--probe 16]

The dataset is written once as .npy through a memory map, chunk by chunk (Gaussian clusters
around 10,000 centres, seeded), so generating it needs little memory either. knnbatch runs the
job under /usr/bin/time -v: its maximum resident set size is the peak of the whole process, the
mapped dataset's pages included (knnbatch releases them as it goes). Recall@10 is measured on the
first 1,000 queries against exact neighbours computed here with NumPy, a chunk of the dataset
at a time (kept in truth.npy).
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import cpu  # noqa: E402


def generate(path, rows, dim, seed, centres):
    if os.path.exists(path) and np.load(path, mmap_mode="r").shape == (rows, dim):
        return
    rng = np.random.default_rng(seed)
    middles = rng.normal(size=(centres, dim)).astype(np.float32) * 3
    out = np.lib.format.open_memmap(path + ".tmp", mode="w+", dtype=np.float32, shape=(rows, dim))
    chunk = 500_000
    for start in range(0, rows, chunk):
        count = min(chunk, rows - start)
        out[start:start + count] = middles[rng.integers(0, centres, size=count)] + rng.normal(size=(count, dim)).astype(np.float32)
        out.flush()
    del out
    os.replace(path + ".tmp", path)


def exact(folder, count):
    path = os.path.join(folder, "truth.npy")
    if os.path.exists(path):
        return np.load(path)
    base = np.load(os.path.join(folder, "base.npy"), mmap_mode="r")
    queries = np.load(os.path.join(folder, "queries.npy"))[:count]
    best_d = np.full((count, 10), np.inf, dtype=np.float32)
    best_i = np.zeros((count, 10), dtype=np.int64)
    chunk = 500_000
    for start in range(0, len(base), chunk):
        x = np.asarray(base[start:start + chunk])
        d = (x * x).sum(axis=1)[None, :] - 2 * queries @ x.T
        top = np.argpartition(d, 10, axis=1)[:, :10]
        d_all = np.concatenate([best_d, np.take_along_axis(d, top, axis=1)], axis=1)
        i_all = np.concatenate([best_i, top + start], axis=1)
        order = np.argsort(d_all, axis=1, kind="stable")[:, :10]
        best_d, best_i = np.take_along_axis(d_all, order, axis=1), np.take_along_axis(i_all, order, axis=1)
    np.save(path, best_i)
    return best_i


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--probe", type=int, default=16)
    parser.add_argument("--folder", default=os.path.join(ROOT, ".bench-data", "ivfpq-10m"))
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/knnbatch"))
    args = parser.parse_args()
    os.makedirs(args.folder, exist_ok=True)
    print(f"CPU: {cpu.description()}; {args.threads} threads; {args.rows:,} x {args.dim} float32 "
          f"({args.rows * args.dim * 4 / 2**30:.1f} GiB), k = 10", flush=True)
    generate(os.path.join(args.folder, "base.npy"), args.rows, args.dim, 1, 10_000)
    generate(os.path.join(args.folder, "queries.npy"), args.queries, args.dim, 2, 10_000)
    job = {"version": 1, "dataset": {"path": "base.npy"}, "queries": {"path": "queries.npy"}, "k": 10, "metric": "l2",
           "index": {"type": "ivfpq", "probe": args.probe, "path": "ivfpq.knnindex"}, "output": {"path": "out.npy"},
           "threads": args.threads}
    path = os.path.join(args.folder, "job.json")
    with open(path, "w") as f:
        json.dump(job, f)
    for step in (["build", path], ["run", path]):
        out = subprocess.run(["/usr/bin/time", "-v", args.binary, *step, "--quiet"], capture_output=True, text=True,
                             env=cpu.knnbatch_environment(False))
        if out.returncode != 0:
            print(out.stderr[-2000:])
            sys.exit(1)
        peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) * 1024
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", out.stderr).group(1)
        print(f"knnbatch {step[0]}: wall {wall}, peak resident {peak / 2**30:.2f} GiB", flush=True)
    with open(os.path.join(args.folder, "out.npy.report.json")) as f:
        report = json.load(f)
    truth = exact(args.folder, 1000)
    found = np.load(os.path.join(args.folder, "out.npy"))["id"][:1000]
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
    index = report["index"]
    print(f"index: {index['lists']} lists, probe {index['probe']}, {index['code_bytes']}-byte codes, "
          f"file {os.path.getsize(os.path.join(args.folder, 'ivfpq.knnindex')) / 2**20:.0f} MiB; "
          f"search {report['timings']['search']:.1f} s, {report['queries_per_second']:,.0f} queries/s, "
          f"recall@10 {recall:.3f} (first 1,000 queries)")


if __name__ == "__main__":
    main()
