#!/usr/bin/env python3
"""forest against Annoy, lsh (bucket search and Hamming ranking) against FAISS IndexLSH (its
candidates re-ranked exactly), and ivf and hnsw beside them, on the same files, thread count and
queries, in one run.

    python3 bench/forest_lsh_bench.py [--threads 2] [--queries 2000] [--trees 32] [--repeats 1]
                                      [--cases cosine-384,glove-100] [--methods forest,lsh,ivf,hnsw]
                                      [--python ~/.knn-peers/bin/python]

Datasets: flat_bench.py's 100k x 384 clustered cosine set, and a GloVe-like 100-d set (100k
vectors around 1,000 directions with heavy-tailed norms, searched by cosine). Ground truth: exact
cosine neighbours from NumPy. knnbatch: the first run builds in memory (its report's build phase
is the build time), then `knnbatch build` saves the index the other runs map; queries/s is each
run's search phase. Annoy: add_item loop and
build(n_trees, n_jobs=threads) timed; get_nns_by_vector per query from a pool of `threads`
Python threads (Annoy releases the GIL), queries/s = queries / wall time. FAISS IndexLSH:
train + add timed; search for k' candidates by Hamming distance, then exact re-ranking of the k'
in NumPy, both timed, for several code lengths and k'. Prints every point, then for each
recall floor each method's best queries/s and the ratio.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import cpu  # noqa: E402
import flat_bench  # noqa: E402

PEER = r"""
import sys, time, json
import numpy as np
from concurrent.futures import ThreadPoolExecutor
folder, lib, threads, trees = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
xb = np.load(folder + "/base.npy"); xq = np.load(folder + "/queries.npy"); truth = np.load(folder + "/truth.npy")
k = truth.shape[1]
def recall(ids):
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, truth)]))
out = []
if lib == "annoy":
    from annoy import AnnoyIndex
    ix = AnnoyIndex(xb.shape[1], "angular"); ix.set_seed(1)
    t0 = time.perf_counter()
    for i in range(len(xb)): ix.add_item(i, xb[i])
    ix.build(trees, n_jobs=threads)
    build = time.perf_counter() - t0
    chunks = np.array_split(np.arange(len(xq)), threads * 8)
    pool = ThreadPoolExecutor(threads)
    for sk in [trees * 10 * f for f in (1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64)]:
        def run(c):
            return [ix.get_nns_by_vector(xq[i], k, search_k=sk) for i in c]
        t0 = time.perf_counter(); parts = list(pool.map(run, chunks)); s = time.perf_counter() - t0
        ids = [r for p in parts for r in p]
        out.append({"setting": f"search_k={sk}", "recall": recall(ids), "qps": len(xq) / s, "build": build})
elif lib == "faiss-lsh":
    import faiss
    faiss.omp_set_num_threads(threads)
    xbn = xb / np.linalg.norm(xb, axis=1, keepdims=True); xqn = xq / np.linalg.norm(xq, axis=1, keepdims=True)
    for nbits in (256, 512, 1024):
        ix = faiss.IndexLSH(xb.shape[1], nbits, True, False)
        t0 = time.perf_counter(); ix.train(xbn); ix.add(xbn); build = time.perf_counter() - t0
        for kp in (20, 50, 100, 200, 500, 1000):
            t0 = time.perf_counter()
            _, cand = ix.search(xqn, kp)
            ids = np.empty((len(xq), k), dtype=np.int64)
            for s in range(0, len(xq), 64):
                c = cand[s:s + 64]
                sims = np.einsum("qcd,qd->qc", xbn[c], xqn[s:s + 64])
                top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
                ids[s:s + 64] = np.take_along_axis(c, top, axis=1)
            sec = time.perf_counter() - t0
            out.append({"setting": f"nbits={nbits},k'={kp}", "recall": recall(ids), "qps": len(xq) / sec, "build": build})
print(json.dumps(out))
"""


def glove_like(folder, n=100_000, nq=10_000, dim=100, seed=3):
    path = os.path.join(folder, "base.fvecs")
    if os.path.exists(path):
        return folder
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((1000, dim)).astype(np.float32)
    # Word vectors: a few frequent directions, heavy-tailed norms, much spread within a topic.
    weights = 1 / np.arange(1, 1001) ** 0.8
    weights /= weights.sum()

    def sample(count):
        topic = rng.choice(1000, size=count, p=weights)
        vectors = directions[topic] + 1.2 * rng.standard_normal((count, dim)).astype(np.float32)
        return vectors * rng.lognormal(0, 0.4, size=(count, 1)).astype(np.float32)
    flat_bench.write_fvecs(path, sample(n))
    flat_bench.write_fvecs(os.path.join(folder, "query.fvecs"), sample(nq))
    return folder


def fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    return raw.reshape(-1, raw[0] + 1)[:, 1:].view(np.float32).copy()


def knnbatch_sweep(binary, folder, index, key, values, threads, truth, metric="cosine"):
    """One run per value. The first builds in memory (its report's build phase is the build
    time, as the peers' exclude saving); `knnbatch build` then saves the index that the other
    runs map. Returns the points and the first run's report."""
    job = {"version": 1, "dataset": {"path": "base.npy"}, "queries": {"path": "queries.npy"}, "k": truth.shape[1], "metric": metric,
           "index": dict(index), "output": {"path": "out.npy"}, "threads": threads}
    name = "-".join(str(v) for v in index.values())
    path = os.path.join(folder, f"job-{name}.json")
    env = cpu.knnbatch_environment(False)
    points, first = [], None
    for i, value in enumerate(values):
        job["index"][key] = value
        if i == 1:
            job["index"]["path"] = f"{name}.knnindex"
            with open(path, "w") as f:
                json.dump(job, f)
            subprocess.run([binary, "build", path, "--quiet"], check=True, env=env)
        with open(path, "w") as f:
            json.dump(job, f)
        subprocess.run([binary, "run", path, "--quiet"], check=True, env=env)
        with open(os.path.join(folder, "out.npy.report.json")) as f:
            report = json.load(f)
        first = first or report
        ids = np.load(os.path.join(folder, "out.npy"))["id"]
        recall = float(np.mean([len(set(a) & set(b)) / truth.shape[1] for a, b in zip(ids, truth)]))
        points.append({"setting": f"{key}={value}", "recall": recall, "qps": report["queries_per_second"],
                       "build": first["timings"]["build"]})
    return points, first

def best(points, floor):
    ok = [p for p in points if p["recall"] >= floor]
    return max(ok, key=lambda p: p["qps"]) if ok else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--trees", type=int, default=32)
    parser.add_argument("--cases", default="cosine-384,glove-100")
    parser.add_argument("--repeats", type=int, default=1, help="runs of every sweep; each point's queries/s is their median")
    parser.add_argument("--methods", default="forest,lsh,ivf,hnsw", help="knnbatch's types to sweep; their peers run with them")
    parser.add_argument("--python", default=os.path.expanduser("~/.knn-peers/bin/python"))
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/knnbatch"))
    args = parser.parse_args()
    print(f"CPU: {cpu.description()}; {args.threads} threads; k = 10; {args.queries} queries; medians of {args.repeats} run(s)")
    for case in args.cases.split(","):
        source = flat_bench.make_dataset("cosine-384") if case == "cosine-384" else glove_like(os.path.join(flat_bench.DATA, "glove-100"))
        with tempfile.TemporaryDirectory() as folder:
            xb = fvecs(os.path.join(source, "base.fvecs"))
            xq = fvecs(os.path.join(source, "query.fvecs"))[: args.queries]
            np.save(os.path.join(folder, "base.npy"), xb)
            np.save(os.path.join(folder, "queries.npy"), xq)
            xbn = xb / np.linalg.norm(xb, axis=1, keepdims=True)
            xqn = xq / np.linalg.norm(xq, axis=1, keepdims=True)
            truth = np.argsort(-(xqn @ xbn.T), axis=1, kind="stable")[:, :10]
            np.save(os.path.join(folder, "truth.npy"), truth)
            methods = args.methods.split(",")
            sweeps = {
                "knnbatch forest": lambda: knnbatch_sweep(args.binary, folder, {"type": "forest", "trees": args.trees}, "search_budget",
                                                          [args.trees * 10 * f for f in (1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32)], args.threads, truth)[0],
                # Bucket search, then Hamming ranking with 256- and 512-bit codes.
                "knnbatch lsh": lambda: knnbatch_sweep(args.binary, folder, {"type": "lsh"}, "probes", [1, 2, 4, 8, 16, 32, 64, 128, 256],
                                                       args.threads, truth)[0]
                + [dict(p, setting=f"hamming {tables}x64 bits, {p['setting']}") for tables in (4, 8)
                   for p in knnbatch_sweep(args.binary, folder, {"type": "lsh", "search": "hamming", "tables": tables}, "rerank",
                                           [1, 2, 5, 10, 20, 50], args.threads, truth)[0]],
                "knnbatch ivf": lambda: knnbatch_sweep(args.binary, folder, {"type": "ivf"}, "probe", [1, 2, 4, 8, 16, 32], args.threads, truth)[0],
                "knnbatch hnsw": lambda: knnbatch_sweep(args.binary, folder, {"type": "hnsw"}, "expansion_search", [10, 16, 24, 32, 48, 64, 96, 128],
                                                        args.threads, truth)[0],
            }
            peers = {"annoy": "forest", "faiss-lsh": "lsh"}

            def measure():
                runs = {name: sweep() if name.split()[1] in methods else [] for name, sweep in sweeps.items()}
                for lib in [lib for lib, method in peers.items() if method in methods]:
                    out = subprocess.run([args.python, "-c", PEER, folder, lib, str(args.threads), str(args.trees)],
                                         env=cpu.peer_environment(args.threads, False), capture_output=True, text=True)
                    runs[lib] = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else []
                    if out.returncode != 0:
                        print(f"{lib} failed: {out.stderr[-400:]}")
                return runs
            # Every side measured in turn, `repeats` times; each point's queries/s and build time
            # are the medians (recall does not change between runs).
            rounds = [measure() for _ in range(args.repeats)]
            runs = {name: [dict(p, qps=float(np.median([r[name][i]["qps"] for r in rounds])),
                                build=float(np.median([r[name][i]["build"] for r in rounds])))
                           for i, p in enumerate(points)] if all(len(r[name]) == len(points) for r in rounds) else points
                    for name, points in rounds[0].items()}
            print(f"\n## {case}: {len(xb)} x {xb.shape[1]}, cosine ({args.trees} trees for forest and Annoy)")
            print("| method | setting | recall@10 | queries/s | build s |")
            print("|---|---|---:|---:|---:|")
            runs = {name: points for name, points in runs.items() if points or name in peers}
            for name, points in runs.items():
                for p in points:
                    print(f"| {name} | {p['setting']} | {p['recall']:.3f} | {p['qps']:,.0f} | {p['build']:.1f} |")
            print("\n| recall floor | comparison | knnbatch q/s | peer q/s | ratio |")
            print("|---|---|---:|---:|---:|")
            for floor, ours, peer in [(0.90, "knnbatch forest", "annoy"), (0.95, "knnbatch forest", "annoy"),
                                      (0.80, "knnbatch lsh", "faiss-lsh"), (0.90, "knnbatch lsh", "faiss-lsh")]:
                if ours not in runs or peer not in runs:
                    continue
                a, b = best(runs[ours], floor), best(runs[peer], floor)
                ratio = f"{a['qps'] / b['qps']:.1f}x" if a and b else "-"
                print(f"| {floor} | {ours} vs {peer} | {a['qps'] if a else 0:,.0f} ({a['setting'] if a else 'not reached'}) | "
                      f"{b['qps'] if b else 0:,.0f} ({b['setting'] if b else 'not reached'}) | {ratio} |")


if __name__ == "__main__":
    main()
