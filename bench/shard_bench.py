#!/usr/bin/env python3
"""Sharded runs against the one-machine run of the same job.

1. Cost of query shards: an hnsw job with a saved index (100k x 128, l2, 100k queries, k = 10)
   runs whole (mapping the saved index), then as N query shards one after another (as N
   machines would, each with the same thread count) and a merge, in turn, --repeats times.
   Prints the medians of the shards' phases summed against the whole run's, and checks the
   merged output is byte for byte the whole run's.
2. The merge of 10M result rows (10M queries, k = 10, npy), by queries and by dataset, for two
   shard counts each: the merge's time (median of --repeats) and peak memory, and the output
   compared with the one-machine output.

    python3 bench/shard_bench.py [--binary .build/release/knnbatch] [--threads 2] [--repeats 3]
"""
import argparse
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu  # noqa: E402


def knnbatch(binary, *arguments):
    subprocess.run([binary, *arguments, "--quiet"], check=True)


def report(path):
    with open(path) as f:
        return json.load(f)


def write_job(folder, name, spec):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def query_shard_cost(binary, folder, threads, counts, repeats):
    rng = np.random.default_rng(11)
    centres = rng.standard_normal((100, 128)).astype(np.float32) * 4
    data = centres[rng.integers(0, 100, 100_000)] + rng.standard_normal((100_000, 128)).astype(np.float32)
    queries = centres[rng.integers(0, 100, 100_000)] + rng.standard_normal((100_000, 128)).astype(np.float32)
    np.save(os.path.join(folder, "a-base.npy"), data)
    np.save(os.path.join(folder, "a-queries.npy"), queries)
    common = {"version": 1, "dataset": {"path": "a-base.npy"}, "queries": {"path": "a-queries.npy"}, "k": 10, "metric": "l2",
              "index": {"type": "hnsw", "path": "a.knnindex"}, "threads": threads}
    whole = write_job(folder, "a-whole.json", {**common, "output": {"path": "out/a-whole.npy"}})
    knnbatch(binary, "build", whole)
    rows = {"one machine": []}
    same = {}
    for _ in range(repeats):
        knnbatch(binary, "run", whole)
        w = report(os.path.join(folder, "out/a-whole.npy.report.json"))["timings"]
        rows["one machine"].append([w["load"], w["build"], w["search"], w["write"], w["total"], 0])
        for n in counts:
            sharded = write_job(folder, f"a-{n}.json", {**common, "output": {"path": f"out/a-{n}.npy"}, "shard_by": "queries"})
            for i in range(n):
                knnbatch(binary, "run", sharded, "--shard", f"{i}/{n}")
            knnbatch(binary, "merge", sharded)
            t = report(os.path.join(folder, f"out/a-{n}.npy.report.json"))["timings"]
            rows.setdefault(f"{n} query shards", []).append(
                [t["shards_load"], t["shards_build"], t["shards_search"], t["shards_write"], t["shards_total"], t["merge"]])
            same[n] = filecmp.cmp(os.path.join(folder, "out/a-whole.npy"), os.path.join(folder, f"out/a-{n}.npy"), shallow=False)
    print(f"\n1. Query shards, hnsw with a saved index, 100k x 128 l2, 100k queries, k = 10, {threads} threads per shard, medians of {repeats}")
    print("| run | load s | index load s | search s | write s | total s (summed over shards) | merge s | identical |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, values in rows.items():
        m = [statistics.median(column) for column in zip(*values)]
        n = int(name.split()[0]) if name[0].isdigit() else None
        print(f"| {name} | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.2f} | {m[3]:.2f} | {m[4]:.2f} | {m[5]:.2f} | {same.get(n, '')} |")


def merge_scaling(binary, folder, threads, repeats):
    rng = np.random.default_rng(12)
    np.save(os.path.join(folder, "b-base.npy"), rng.random((256, 4), dtype=np.float32))
    np.save(os.path.join(folder, "b-queries.npy"), rng.random((10_000_000, 4), dtype=np.float32))
    common = {"version": 1, "dataset": {"path": "b-base.npy"}, "queries": {"path": "b-queries.npy"}, "k": 10, "metric": "l2",
              "index": {"type": "flat"}, "threads": threads}
    whole = write_job(folder, "b-whole.json", {**common, "output": {"path": "out/b-whole.npy"}})
    knnbatch(binary, "run", whole)
    print(f"\n2. Merging 10M result rows (10M queries x 256 rows, 4-d, k = 10, npy: 1.2 GB), median of {repeats}")
    print("| shards | merge s | merge peak memory MB | identical |")
    print("|---|---:|---:|---|")
    for by, counts in [("queries", [2, 8]), ("dataset", [2, 4])]:
        for n in counts:
            sharded = write_job(folder, f"b-{by}-{n}.json", {**common, "output": {"path": f"out/b-{by}-{n}.npy"}, "shard_by": by})
            for i in range(n):
                knnbatch(binary, "run", sharded, "--shard", f"{i}/{n}")
            times, memory = [], []
            for _ in range(repeats):
                knnbatch(binary, "merge", sharded, "--keep-parts")
                m = report(os.path.join(folder, f"out/b-{by}-{n}.npy.report.json"))
                times.append(m["timings"]["merge"])
                memory.append(m["peak_memory_bytes"] / 1e6)
            same = filecmp.cmp(os.path.join(folder, "out/b-whole.npy"), os.path.join(folder, f"out/b-{by}-{n}.npy"), shallow=False)
            print(f"| {n} by {by} | {statistics.median(times):.2f} | {statistics.median(memory):.0f} | {same} |")
            for i in range(n):
                for suffix in ["", ".report.json"]:
                    os.remove(os.path.join(folder, f"out/b-{by}-{n}.npy.part-{i}-of-{n}{suffix}"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/knnbatch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    print(f"CPU: {cpu.description()}; {args.threads} threads")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as folder:
        os.chdir(folder)
        query_shard_cost(binary, folder, args.threads, [2, 4], args.repeats)
        merge_scaling(binary, folder, args.threads, args.repeats)


if __name__ == "__main__":
    main()
