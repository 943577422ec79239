#!/usr/bin/env python3
"""Exact flat search: knnbatch against FAISS on the same files, threads and machine.

    python3 bench/flat_bench.py [--threads 2] [--repeats 5] [--cases l2-128,cosine-384,l2-3]
                                [--python ~/.knn-peers/bin/python] [--peak 290]

Builds knnbatch in release mode, makes each dataset once (seeded; cached in .bench-data/), then
alternates runs of the two tools and reports medians. Both do the same work from the same
files: load the base and query .fvecs, search the k nearest of every query, and write a
(queries, k) id + distance result as .npy. knnbatch's time is its report's "total"; FAISS's is
measured around the same steps inside Python (interpreter start-up and imports excluded).

FAISS runs at its best: IndexFlatL2 (l2) or IndexFlatIP on normalised vectors (cosine), with
the OpenBLAS core type this CPU supports (bench/cpu.py) and every thread knob set to --threads.
--as-avx2 runs both tools' AVX2 builds on an AVX-512 machine, a proxy for an AVX2-only CPU. It needs NumPy and faiss-cpu
in the interpreter given by --python; without FAISS only knnbatch's figures are printed.
GFLOP/s count 2·d flops per query-vector pair over the search phase; peak is the CPU's fp32 FMA
peak in GFLOP/s (2 cores × 2 FMA units × 16 lanes × 2 × 2.3 GHz ≈ 290 on the reference machine).
With int16 scoring (ip and cosine on AVX-512 VNNI; the "scoring" column) those are integer
multiply-adds, two to a float32 FMA's one, so the same count can exceed the float32 peak.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import cpu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, ".bench-data")

CASES = {
    # name: (n, queries, dim, metric, kind)
    "l2-128": (100_000, 10_000, 128, "l2", "clustered"),
    "cosine-384": (100_000, 10_000, 384, "cosine", "clustered"),
    "l2-3": (1_000_000, 10_000, 3, "l2", "uniform"),
}

FAISS_SCRIPT = r"""
import sys, time, json
import numpy as np
t0 = time.perf_counter()
import faiss
base_path, query_path, out_path, metric, k, threads = sys.argv[1:7]
k, threads = int(k), int(threads)
faiss.omp_set_num_threads(threads)
t_start = time.perf_counter()
def fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].view(np.float32).copy()
xb, xq = fvecs(base_path), fvecs(query_path)
if metric == "cosine":
    faiss.normalize_L2(xb); faiss.normalize_L2(xq)
    index = faiss.IndexFlatIP(xb.shape[1])
else:
    index = faiss.IndexFlatL2(xb.shape[1])
index.add(xb)
t_loaded = time.perf_counter()
D, I = index.search(xq, k)
t_searched = time.perf_counter()
out = np.empty(I.shape, dtype=[("id", "<i8"), ("distance", "<f4")])
out["id"] = I
out["distance"] = np.sqrt(np.maximum(D, 0)) if metric == "l2" else 1 - D
np.save(out_path, out)
t_end = time.perf_counter()
print(json.dumps({"load": t_loaded - t_start, "search": t_searched - t_loaded,
                  "write": t_end - t_searched, "total": t_end - t_start}))
"""


def write_fvecs(path, x):
    import numpy as np
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.float32)
    rows[:, 0] = np.array([x.shape[1]], dtype=np.int32).view(np.float32)[0]
    rows[:, 1:] = x
    rows.tofile(path)


def synthesize(folder, n, nq, dim, kind, seed, centres):
    """Writes base.fvecs and query.fvecs into `folder` (unless there already), seeded.
    uniform: points in [0, 1)^dim. clustered: unit Gaussian noise around centres drawn by
    `centres(rng, dim)`, one centre per point chosen at random."""
    import numpy as np
    if os.path.exists(os.path.join(folder, "query.fvecs")):
        return folder
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    if kind == "clustered":
        centre_points = centres(rng, dim)
        def sample(count):
            return centre_points[rng.integers(0, len(centre_points), count)] + rng.normal(size=(count, dim)).astype(np.float32)
        base, queries = sample(n), sample(nq)
    else:
        base, queries = rng.random((n, dim), dtype=np.float32), rng.random((nq, dim), dtype=np.float32)
    write_fvecs(os.path.join(folder, "base.fvecs"), base)
    write_fvecs(os.path.join(folder, "query.fvecs"), queries)
    return folder


def make_dataset(name):
    n, nq, dim, metric, kind = CASES[name]
    # n/1000 Gaussian centres with spread 3: overlapping clusters, as embeddings tend to be.
    return synthesize(os.path.join(DATA, f"flat-{name}"), n, nq, dim, kind, seed=1,
                      centres=lambda rng, d: rng.normal(size=(max(10, n // 1000), d)).astype("float32") * 3)


def knnbatch_run(binary, folder, metric, k, threads, avx2_only=False):
    job = os.path.join(folder, f"job-{metric}.json")
    with open(job, "w") as f:
        json.dump({"version": 1, "dataset": {"path": "base.fvecs"}, "queries": {"path": "query.fvecs"},
                   "k": k, "metric": metric, "index": {"type": "flat"},
                   "output": {"path": "knnbatch-out.npy"}, "threads": threads}, f)
    subprocess.run([binary, "run", job, "--quiet"], check=True, env=cpu.knnbatch_environment(avx2_only))
    with open(os.path.join(folder, "knnbatch-out.npy.report.json")) as f:
        report = json.load(f)
    return report["timings"], report["peak_memory_bytes"], report["index"].get("scoring", "float32")


def faiss_run(python, folder, metric, k, threads, avx2_only=False):
    env = cpu.peer_environment(threads, avx2_only)
    out = subprocess.run([python, "-c", FAISS_SCRIPT, os.path.join(folder, "base.fvecs"),
                          os.path.join(folder, "query.fvecs"), os.path.join(folder, "faiss-out.npy"),
                          metric, str(k), str(threads)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--python", default=os.path.expanduser("~/.knn-peers/bin/python"))
    parser.add_argument("--peak", type=float, default=290.0)
    parser.add_argument("--as-avx2", action="store_true", help="run both tools' AVX2 builds (a proxy for an AVX2-only CPU)")
    args = parser.parse_args()
    print(f"CPU: {cpu.description(args.as_avx2)}")

    subprocess.run(["swift", "build", "-c", "release", "--product", "knnbatch"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    binary = os.path.join(ROOT, ".build", "release", "knnbatch")
    has_faiss = subprocess.run([args.python, "-c", "import faiss"], capture_output=True).returncode == 0

    rows = []
    for name in args.cases.split(","):
        n, nq, dim, metric, _ = CASES[name]
        folder = make_dataset(name)
        ours, peers, memory = [], [], []
        for _ in range(args.repeats):
            timings, peak, scoring = knnbatch_run(binary, folder, metric, args.k, args.threads, args.as_avx2)
            ours.append(timings)
            memory.append(peak)
            if has_faiss:
                result = faiss_run(args.python, folder, metric, args.k, args.threads, args.as_avx2)
                if result:
                    peers.append(result)
        med = lambda runs, key: statistics.median(r[key] for r in runs)
        flops = 2.0 * dim * n * nq
        row = {"case": f"{name} ({n}×{dim}, {nq} queries, {metric})",
               "ours_total": med(ours, "total"), "ours_search": med(ours, "search"),
               "ours_gflops": flops / med(ours, "search") / 1e9, "memory_mb": statistics.median(memory) / 2**20,
               "dataset_mb": n * dim * 4 / 2**20, "scoring": scoring}
        if peers:
            row.update(faiss_total=med(peers, "total"), faiss_search=med(peers, "search"),
                       faiss_gflops=flops / med(peers, "search") / 1e9)
            same = identical_ids(folder)
            row["same_ids"] = same
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)

    print(f"\nthreads {args.threads}, k {args.k}, medians of {args.repeats} alternating runs; "
          f"peak {args.peak:.0f} GFLOP/s; end to end = load + search + write .npy\n")
    print("| case | scoring | knnbatch q/s end to end | FAISS q/s end to end | ratio | knnbatch GFLOP/s (search) | % of peak | FAISS GFLOP/s | peak memory MB (dataset MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        nq = CASES[r["case"].split(" ")[0]][1]
        ours_qps = nq / r["ours_total"]
        if "faiss_total" in r:
            peer_qps = nq / r["faiss_total"]
            print(f"| {r['case']} | {r['scoring']} | {ours_qps:,.0f} | {peer_qps:,.0f} | {ours_qps / peer_qps:.2f}× | "
                  f"{r['ours_gflops']:.0f} | {100 * r['ours_gflops'] / args.peak:.0f}% | {r['faiss_gflops']:.0f} | "
                  f"{r['memory_mb']:.0f} ({r['dataset_mb']:.0f}) |")
        else:
            print(f"| {r['case']} | {r['scoring']} | {ours_qps:,.0f} | - | - | {r['ours_gflops']:.0f} | "
                  f"{100 * r['ours_gflops'] / args.peak:.0f}% | - | {r['memory_mb']:.0f} ({r['dataset_mb']:.0f}) |")


def identical_ids(folder):
    """Fraction of result ids the two tools agree on (FAISS breaks ties its own way)."""
    try:
        import numpy as np
        a = np.load(os.path.join(folder, "knnbatch-out.npy"))["id"]
        b = np.load(os.path.join(folder, "faiss-out.npy"))["id"]
        return float((a == b).mean())
    except Exception:
        return None


if __name__ == "__main__":
    main()
