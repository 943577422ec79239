#!/usr/bin/env python3
"""Exact low-dimensional search: knnbatch's kdtree / balltree against SciPy cKDTree and
scikit-learn KDTree, and the dimension where a tree stops beating knnbatch's flat scan.

    python3 bench/tree_bench.py [--threads 2] [--repeats 3] [--python ~/.knn-peers/bin/python]
    python3 bench/tree_bench.py --crossover [--repeats 3]

Times are build + search (every tool loads the same .fvecs first, untimed), medians of
alternating runs, k = 10. knnbatch's come from its report (timings.build + timings.search).
SciPy runs cKDTree(leafsize=16).query(workers=--threads); scikit-learn runs KDTree(leaf_size=40)
with the queries split across --threads threads (its query releases the GIL).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, ".bench-data")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from flat_bench import synthesize  # noqa: E402

CASES = {
    "uniform-3": (1_000_000, 10_000, 3, "uniform"),
    "clustered-2": (1_000_000, 10_000, 2, "clustered"),
    "clustered-16": (200_000, 10_000, 16, "clustered"),
}

PEER_SCRIPT = r"""
import sys, time, json
import numpy as np
from concurrent.futures import ThreadPoolExecutor
base_path, query_path, lib, k, threads = sys.argv[1:6]
k, threads = int(k), int(threads)
def fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    return raw.reshape(-1, raw[0] + 1)[:, 1:].view(np.float32).copy()
xb, xq = fvecs(base_path), fvecs(query_path)
t0 = time.perf_counter()
if lib == "scipy":
    from scipy.spatial import cKDTree
    tree = cKDTree(xb, leafsize=16)
    t1 = time.perf_counter()
    d, i = tree.query(xq, k=k, workers=threads)
else:
    from sklearn.neighbors import KDTree
    tree = KDTree(xb, leaf_size=40)
    t1 = time.perf_counter()
    chunks = np.array_split(xq, threads * 8)
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(lambda c: tree.query(c, k=k), chunks))
    i = np.vstack([p[1] for p in parts])
t2 = time.perf_counter()
np.save("peer-ids.npy", i)
print(json.dumps({"build": t1 - t0, "search": t2 - t1}))
"""


def make_dataset(name, n, nq, dim, kind):
    # n/2000 centres spread over a 100-wide cube: well-separated clusters, as spatial data tends to be.
    return synthesize(os.path.join(DATA, f"tree-{name}"), n, nq, dim, kind, seed=7,
                      centres=lambda rng, d: rng.random((max(10, n // 2000), d), dtype="float32") * 100)


def knnbatch(binary, folder, index, threads, k=10):
    job = os.path.join(folder, f"job-{index}.json")
    with open(job, "w") as f:
        json.dump({"version": 1, "dataset": {"path": "base.fvecs"}, "queries": {"path": "query.fvecs"}, "k": k,
                   "metric": "l2", "index": {"type": index}, "output": {"path": f"out-{index}.npy"},
                   "threads": threads}, f)
    subprocess.run([binary, "run", job, "--quiet"], check=True)
    with open(os.path.join(folder, f"out-{index}.npy.report.json")) as f:
        t = json.load(f)["timings"]
    return t["build"] + t["search"]


def peer(python, folder, lib, threads, k=10):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([python, "-c", PEER_SCRIPT, os.path.join(folder, "base.fvecs"), os.path.join(folder, "query.fvecs"),
                          lib, str(k), str(threads)], cwd=folder, env=env, capture_output=True, text=True, check=True)
    t = json.loads(out.stdout.strip().splitlines()[-1])
    return t["build"] + t["search"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--python", default=os.path.expanduser("~/.knn-peers/bin/python"))
    parser.add_argument("--crossover", action="store_true")
    args = parser.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "knnbatch"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    binary = os.path.join(ROOT, ".build", "release", "knnbatch")

    if args.crossover:
        print("| data | dim | kdtree s | balltree s | flat s | fastest |")
        print("|---|---:|---:|---:|---:|---|")
        for kind in ("clustered", "uniform"):
            for dim in (2, 4, 8, 12, 16, 24, 32):
                folder = make_dataset(f"x-{kind}-{dim}", 100_000, 5_000, dim, kind)
                times = {index: statistics.median(knnbatch(binary, folder, index, args.threads) for _ in range(args.repeats))
                         for index in ("kdtree", "balltree", "flat")}
                print(f"| {kind} | {dim} | {times['kdtree']:.3f} | {times['balltree']:.3f} | {times['flat']:.3f} | "
                      f"{min(times, key=times.get)} |", flush=True)
        return

    print(f"threads {args.threads}, k 10, exact, build + search seconds, medians of {args.repeats}\n")
    print("| case | knnbatch kdtree | knnbatch balltree | SciPy cKDTree | sklearn KDTree | vs SciPy | vs sklearn |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (n, nq, dim, kind) in CASES.items():
        folder = make_dataset(name, n, nq, dim, kind)
        runs = {key: [] for key in ("kdtree", "balltree", "scipy", "sklearn")}
        for _ in range(args.repeats):
            runs["kdtree"].append(knnbatch(binary, folder, "kdtree", args.threads))
            runs["balltree"].append(knnbatch(binary, folder, "balltree", args.threads))
            runs["scipy"].append(peer(args.python, folder, "scipy", args.threads))
            runs["sklearn"].append(peer(args.python, folder, "sklearn", args.threads))
        m = {key: statistics.median(v) for key, v in runs.items()}
        best = min(m["kdtree"], m["balltree"])
        print(f"| {name} ({n}×{dim}, {nq} queries) | {m['kdtree']:.3f} | {m['balltree']:.3f} | {m['scipy']:.3f} | "
              f"{m['sklearn']:.3f} | {m['scipy'] / best:.1f}× | {m['sklearn'] / best:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
