#!/usr/bin/env python3
"""ivf against FAISS IndexIVFFlat, and ivfpq against FAISS's fast-scan IVF-PQ with exact refine
(`IVF{lists},PQ{m}x4fs,RFlat`), with the same number of lists and bytes per vector, sweeping the
probes on both, on the same files, thread count and queries, in one run.

    python3 bench/ivf_bench.py [--threads 2] [--queries 10000] [--cases cosine-384,l2-128,glove-100]
                               [--types ivf,ivfpq] [--rerank 10] [--python ~/.knn-peers/bin/python]

Datasets: flat_bench.py's 100k x 384 clustered cosine and 100k x 128 clustered l2 sets, and
forest_lsh_bench.py's GloVe-like 100-d set (cosine), harder to partition. Ground truth: exact
neighbours from NumPy. knnbatch: the first run builds in memory (its report's build phase is
the build time: k-means and adding), then `knnbatch build` saves the index the other runs map;
queries/s is each run's search phase. FAISS: IndexIVFFlat over IndexFlatL2 (IndexFlatIP on unit
vectors for cosine), nlist = knnbatch's lists, train + add timed, then one search call per
nprobe for all queries (its batch API, OpenMP on `threads`). Prints every point, then for each
recall floor each tool's best queries/s and the ratio.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import cpu  # noqa: E402
import flat_bench  # noqa: E402
import forest_lsh_bench  # noqa: E402

# The probes swept, on both sides alike: dense where the recall floors of 0.90 and 0.95 fall.
PROBES = [1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128]

PEER = r"""
import sys, time, json
import numpy as np
import faiss
folder, metric, threads, nlist, kind_name, rerank = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
PROBES = json.loads(sys.argv[7])
faiss.omp_set_num_threads(threads)
xb = np.load(folder + "/base.npy"); xq = np.load(folder + "/queries.npy"); truth = np.load(folder + "/truth.npy")
k = truth.shape[1]
if metric == "cosine":
    xb = xb / np.linalg.norm(xb, axis=1, keepdims=True); xq = xq / np.linalg.norm(xq, axis=1, keepdims=True)
    quantizer = faiss.IndexFlatIP(xb.shape[1]); kind = faiss.METRIC_INNER_PRODUCT
else:
    quantizer = faiss.IndexFlatL2(xb.shape[1]); kind = faiss.METRIC_L2
if kind_name == "ivf":
    ix = faiss.IndexIVFFlat(quantizer, xb.shape[1], nlist, kind)
else:
    # Cosine as l2 on unit vectors: FAISS fast scan ranks poorly by inner product (recall stalls near 0.36 here).
    ix = faiss.index_factory(xb.shape[1], f"IVF{nlist},PQ{xb.shape[1] // 2}x4fs,RFlat", faiss.METRIC_L2)
t0 = time.perf_counter(); ix.train(xb); ix.add(xb); build = time.perf_counter() - t0
if kind_name == "ivfpq":
    ix.k_factor = rerank
    inner = faiss.extract_index_ivf(ix)
out = []
if kind_name == "scann":
    import scann
    xb_ = xb if metric != "cosine" else xb / np.linalg.norm(xb, axis=1, keepdims=True)
    b = scann.scann_ops_pybind.builder(xb_, k, "squared_l2" if metric == "l2" else "dot_product")
    b = b.tree(num_leaves=nlist, num_leaves_to_search=10, training_sample_size=min(len(xb), 250000))
    b = b.score_ah(2, anisotropic_quantization_threshold=0.2 if metric != "l2" else float("nan")).reorder(rerank * k)
    b = b.set_n_training_threads(threads)
    t0 = time.perf_counter(); s = b.build(); build = time.perf_counter() - t0
    s.set_num_threads(threads)
    for leaves in PROBES:
        t0 = time.perf_counter()
        ids = np.asarray(s.search_batched_parallel(xq, final_num_neighbors=k, leaves_to_search=leaves, pre_reorder_num_neighbors=rerank * k)[0])
        sec = time.perf_counter() - t0
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, truth)]))
        out.append({"setting": f"leaves_to_search={leaves}", "recall": recall, "qps": len(xq) / sec, "build": build})
    print(json.dumps(out))
    sys.exit(0)
for nprobe in PROBES:
    if nprobe > nlist: break
    if kind_name == "ivf":
        ix.nprobe = nprobe
    else:
        inner.nprobe = nprobe
    t0 = time.perf_counter(); _, ids = ix.search(xq, k); sec = time.perf_counter() - t0
    recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, truth)]))
    out.append({"setting": f"nprobe={nprobe}", "recall": recall, "qps": len(xq) / sec, "build": build})
print(json.dumps(out))
"""


def exact_neighbours(xb, xq, metric, k=10):
    """The exact k nearest, 1,000 queries at a time (a full sort of all scores needs far more memory)."""
    if metric == "cosine":
        xb = xb / np.linalg.norm(xb, axis=1, keepdims=True)
        xq = xq / np.linalg.norm(xq, axis=1, keepdims=True)
    norms = (xb * xb).sum(axis=1)[None, :]
    out = np.empty((len(xq), k), dtype=np.int64)
    for start in range(0, len(xq), 1000):
        part = xq[start:start + 1000]
        scores = -(part @ xb.T) if metric == "cosine" else norms - 2 * (part @ xb.T)
        top = np.argpartition(scores, k, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        out[start:start + 1000] = np.take_along_axis(top, order, axis=1)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=10000)
    parser.add_argument("--cases", default="cosine-384,l2-128,glove-100")
    parser.add_argument("--types", default="ivf,ivfpq")
    parser.add_argument("--rerank", type=int, default=10)
    parser.add_argument("--no-scann", dest="scann", action="store_false", help="skip ScaNN (tree-AH-reorder) beside ivfpq")
    parser.add_argument("--python", default=os.path.expanduser("~/.knn-peers/bin/python"))
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/knnbatch"))
    args = parser.parse_args()
    print(f"CPU: {cpu.description()}; {args.threads} threads; k = 10; {args.queries} queries")
    for case in args.cases.split(","):
        if case == "glove-100":
            source, metric = forest_lsh_bench.glove_like(os.path.join(flat_bench.DATA, "glove-100")), "cosine"
        else:
            source, metric = flat_bench.make_dataset(case), flat_bench.CASES[case][3]
        with tempfile.TemporaryDirectory() as folder:
            xb = forest_lsh_bench.fvecs(os.path.join(source, "base.fvecs"))
            xq = forest_lsh_bench.fvecs(os.path.join(source, "query.fvecs"))[: args.queries]
            np.save(os.path.join(folder, "base.npy"), xb)
            np.save(os.path.join(folder, "queries.npy"), xq)
            truth = exact_neighbours(xb, xq, metric)
            np.save(os.path.join(folder, "truth.npy"), truth)
            for kind in args.types.split(","):
                index = {"type": kind} if kind == "ivf" else {"type": kind, "pq_bits": 4, "pq_subspaces": xb.shape[1] // 2, "rerank": args.rerank}
                ours, first = forest_lsh_bench.knnbatch_sweep(args.binary, folder, index, "probe", PROBES,
                                                              args.threads, truth, metric=metric)
                lists = first["index"]["lists"]
                peer = "faiss IVFFlat" if kind == "ivf" else f"faiss IVF,PQ{xb.shape[1] // 2}x4fs,RFlat"
                runs = {f"knnbatch {kind}": ours}
                out = subprocess.run([args.python, "-c", PEER, folder, metric, str(args.threads), str(lists), kind, str(args.rerank), json.dumps(PROBES)],
                                     env=cpu.peer_environment(args.threads, False), capture_output=True, text=True)
                runs[peer] = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else []
                if out.returncode != 0:
                    print(f"faiss failed: {out.stderr[-400:]}")
                if kind == "ivfpq" and args.scann:
                    out = subprocess.run([args.python, "-c", PEER, folder, metric, str(args.threads), str(lists), "scann", str(args.rerank), json.dumps(PROBES)],
                                         env=cpu.peer_environment(args.threads, False), capture_output=True, text=True)
                    runs["scann tree-AH-reorder"] = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else []
                    if out.returncode != 0:
                        print(f"scann failed: {out.stderr[-400:]}")
                print(f"\n## {case}, {kind}: {len(xb)} x {xb.shape[1]}, {metric}, {lists} lists")
                print("| method | setting | recall@10 | queries/s | build s |")
                print("|---|---|---:|---:|---:|")
                for name, points in runs.items():
                    for p in points:
                        print(f"| {name} | {p['setting']} | {p['recall']:.3f} | {p['qps']:,.0f} | {p['build']:.2f} |")
                print(f"\n| recall floor | knnbatch {kind} q/s | peer q/s | ratio |")
                print("|---|---:|---:|---:|")
                for other in [name for name in runs if name != f"knnbatch {kind}"]:
                    for floor in (0.90, 0.95, 0.99):
                        a, b = forest_lsh_bench.best(runs[f"knnbatch {kind}"], floor), forest_lsh_bench.best(runs[other], floor)
                        ratio = f"{a['qps'] / b['qps']:.1f}x" if a and b else "-"
                        print(f"| {floor} | {a['qps'] if a else 0:,.0f} ({a['setting'] if a else 'not reached'}) | "
                              f"{other}: {b['qps'] if b else 0:,.0f} ({b['setting'] if b else 'not reached'}) | {ratio} |", flush=True)

if __name__ == "__main__":
    main()
