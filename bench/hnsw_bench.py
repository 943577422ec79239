#!/usr/bin/env python3
"""HNSW: knnbatch against hnswlib (and FAISS IndexHNSWFlat when installed) on the same files,
the same M and efConstruction, the same thread count, in one run.

    python3 bench/hnsw_bench.py [--threads 2] [--cases l2-128,cosine-384] [--m 16] [--ef-construction 128]
                                [--repeats 3] [--efs 10,16,...] [--python ~/.knn-peers/bin/python]
                                [--binary .build/release/knnbatch]

Uses the datasets of bench/flat_bench.py (run it once first, or this script makes them), and
knnbatch's exact flat output as ground truth. The libraries run in --repeats rounds, one after
another within each round, so that a busy spell of this shared machine falls on all of them
alike. In a round each library builds its index and, for each expansion_search / ef of the
sweep, searches all queries once (knnbatch: one run per ef, the search phase of its report, the
graph built by the first and mapped back from a saved index by the others;
the peers: one process that builds once, warms up on 200 queries and times knn_query / search
over all queries with the same thread count). Printed per ef: the median over rounds of recall@10
and of batch queries/s (the peers' recall varies between rounds, because their multi-threaded
builds differ; knnbatch builds the same graph every time); the median build time; each process's
peak resident memory (knnbatch: its report's peak_memory_bytes; peers: getrusage's maximum RSS),
the largest over rounds. Then, for recall ≥ 0.95 and ≥ 0.99, each library's best queries/s
and the ratio.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import cpu  # noqa: E402
import flat_bench  # noqa: E402

# Set from --as-avx2: both tools' AVX2 builds, a proxy for an AVX2-only CPU (bench/cpu.py).
AVX2_ONLY = False

EFS = [10, 16, 24, 32, 40, 48, 56, 64, 80, 96, 128, 192]

PEER = r"""
import sys, time, json
import numpy as np
base_path, query_path, truth_path, metric, m, efc, threads, efs, lib, repeats = sys.argv[1:11]
m, efc, threads, repeats = int(m), int(efc), int(threads), int(repeats)
efs = [int(e) for e in efs.split(",")]
def fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    return raw.reshape(-1, raw[0] + 1)[:, 1:].view(np.float32).copy()
xb, xq = fvecs(base_path), fvecs(query_path)
truth = np.load(truth_path)["id"]
if metric == "cosine":
    xb /= np.linalg.norm(xb, axis=1, keepdims=True); xq /= np.linalg.norm(xq, axis=1, keepdims=True)
out = []
if lib == "hnswlib":
    import hnswlib
    index = hnswlib.Index(space="l2" if metric == "l2" else "ip", dim=xb.shape[1])
    t0 = time.perf_counter()
    index.init_index(max_elements=xb.shape[0], M=m, ef_construction=efc, random_seed=1)
    index.add_items(xb, num_threads=threads)
    build = time.perf_counter() - t0
    for ef in efs:
        index.set_ef(max(ef, 10))
        index.knn_query(xq[:200], k=10, num_threads=threads)
        times = []
        for _ in range(repeats):
            t = time.perf_counter(); ids, _ = index.knn_query(xq, k=10, num_threads=threads); times.append(time.perf_counter() - t)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth)])
        out.append({"ef": ef, "recall": float(recall), "qps": len(xq) / sorted(times)[len(times) // 2]})
else:
    import faiss
    faiss.omp_set_num_threads(threads)
    index = faiss.IndexHNSWFlat(xb.shape[1], m, faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = efc
    t0 = time.perf_counter(); index.add(xb); build = time.perf_counter() - t0
    for ef in efs:
        index.hnsw.efSearch = max(ef, 10)
        index.search(xq[:200], 10)
        times = []
        for _ in range(repeats):
            t = time.perf_counter(); _, ids = index.search(xq, 10); times.append(time.perf_counter() - t)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth)])
        out.append({"ef": ef, "recall": float(recall), "qps": len(xq) / sorted(times)[len(times) // 2]})
import resource
print(json.dumps({"build": build, "sweep": out, "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def knnbatch_sweep(binary, folder, metric, m, efc, threads, efs, repeats):
    import numpy as np
    truth = np.load(os.path.join(folder, "knnbatch-out.npy"))["id"]
    builds, sweep, peaks = [], [], []
    # The graph is built by the round's first run and saved; the other efs map it back (a search
    # parameter may change), as a nightly job with a saved index does.
    saved = os.path.join(folder, "hnsw-bench.knnindex")
    if os.path.exists(saved):
        os.remove(saved)
    for ef in efs:
        job = os.path.join(folder, "job-hnsw-sweep.json")
        with open(job, "w") as f:
            json.dump({"version": 1, "dataset": {"path": "base.fvecs"}, "queries": {"path": "query.fvecs"}, "k": 10,
                       "metric": metric, "index": {"type": "hnsw", "connectivity": m, "expansion_add": efc,
                                                   "expansion_search": ef, "path": saved},
                       "output": {"path": "hnsw-sweep.npy"}, "threads": threads}, f)
        searches = []
        for _ in range(repeats):
            subprocess.run([binary, "run", job, "--quiet"], check=True, env=cpu.knnbatch_environment(AVX2_ONLY))
            with open(os.path.join(folder, "hnsw-sweep.npy.report.json")) as f:
                report = json.load(f)
            if report["index"].get("file", {}).get("action") != "loaded":
                builds.append(report["timings"]["build"])
            peaks.append(report["peak_memory_bytes"])
            searches.append(report["timings"]["search"])
        ids = np.load(os.path.join(folder, "hnsw-sweep.npy"))["id"]
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth)]))
        sweep.append({"ef": ef, "recall": recall, "qps": len(ids) / statistics.median(searches)})
    return statistics.median(builds), sweep, max(peaks)


def combine(runs):
    """One library's rounds: the median build time, per ef the median recall and queries/s, and
    the largest peak memory."""
    sweep = [{"ef": points[0]["ef"], "recall": statistics.median(p["recall"] for p in points),
              "qps": statistics.median(p["qps"] for p in points)} for points in zip(*(run[1] for run in runs))]
    return statistics.median(run[0] for run in runs), sweep, max(run[2] for run in runs)


def best(sweep, floor):
    ok = [p for p in sweep if p["recall"] >= floor]
    return max(ok, key=lambda p: p["qps"]) if ok else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", default="l2-128,cosine-384")
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=128)
    parser.add_argument("--python", default=os.path.expanduser("~/.knn-peers/bin/python"))
    parser.add_argument("--libs", default="hnswlib,faiss")
    parser.add_argument("--repeats", type=int, default=3, help="rounds")
    parser.add_argument("--as-avx2", action="store_true", help="run both tools' AVX2 builds (a proxy for an AVX2-only CPU)")
    parser.add_argument("--efs", default=",".join(map(str, EFS)))
    parser.add_argument("--binary", help="a knnbatch binary to measure instead of building this checkout's")
    args = parser.parse_args()
    global AVX2_ONLY
    AVX2_ONLY = args.as_avx2
    print(f"CPU: {cpu.description(args.as_avx2)}")
    efs = [int(e) for e in args.efs.split(",")]
    binary = args.binary
    if binary is None:
        subprocess.run(["swift", "build", "-c", "release", "--product", "knnbatch"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        binary = os.path.join(ROOT, ".build", "release", "knnbatch")
    for name in args.cases.split(","):
        n, nq, dim, metric, _ = flat_bench.CASES[name]
        folder = flat_bench.make_dataset(name)
        if not os.path.exists(os.path.join(folder, "knnbatch-out.npy")):
            flat_bench.knnbatch_run(binary, folder, metric, 10, args.threads)  # exact ground truth
        rounds = {}
        for _ in range(args.repeats):
            rounds.setdefault("knnbatch", []).append(
                knnbatch_sweep(binary, folder, metric, args.m, args.ef_construction, args.threads, efs, 1))
            for lib in args.libs.split(","):
                out = subprocess.run([args.python, "-c", PEER, os.path.join(folder, "base.fvecs"), os.path.join(folder, "query.fvecs"),
                                      os.path.join(folder, "knnbatch-out.npy"), metric, str(args.m), str(args.ef_construction),
                                      str(args.threads), ",".join(map(str, efs)), lib, "1"],
                                     capture_output=True, text=True,
                                     env=cpu.peer_environment(args.threads, args.as_avx2))
                if out.returncode == 0:
                    data = json.loads(out.stdout.strip().splitlines()[-1])
                    rounds.setdefault(lib, []).append((data["build"], data["sweep"], data["peak_bytes"]))
                else:
                    print(f"{lib}: failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        results = {lib: combine(runs) for lib, runs in rounds.items()}
        print(f"\n### {name}: {n}×{dim}, {nq} queries, {metric}, k 10, M {args.m}, efConstruction {args.ef_construction}, "
              f"{args.threads} threads\n")
        print("| library | build s | peak MB | " + " | ".join(f"ef {e}" for e in efs) + " |")
        print("|---|---:|---:|" + "---:|" * len(efs))
        for lib, (build, sweep, peak) in results.items():
            print(f"| {lib} | {build:.1f} | {peak / 1e6:,.0f} | " + " | ".join(f"{p['recall']:.3f} @ {p['qps']:,.0f}" for p in sweep) + " |")
        print(f"\nvectors {n * dim * 4 / 1e6:,.0f} MB + layer-0 links {n * 2 * args.m * 4 / 1e6:,.0f} MB; peak MB is the whole "
              "process's peak resident memory (for the peers, the Python process holding its input arrays and the index)")
        for floor in (0.95, 0.99):
            ours = best(results["knnbatch"][1], floor)
            line = f"recall ≥ {floor}: knnbatch " + (f"{ours['qps']:,.0f} q/s (ef {ours['ef']})" if ours else "not reached")
            for lib in results:
                if lib == "knnbatch":
                    continue
                theirs = best(results[lib][1], floor)
                if theirs and ours:
                    line += f"; {lib} {theirs['qps']:,.0f} q/s (ef {theirs['ef']}), ratio {ours['qps'] / theirs['qps']:.2f}×"
                else:
                    line += f"; {lib} " + (f"{theirs['qps']:,.0f}" if theirs else "not reached")
            print(line)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
