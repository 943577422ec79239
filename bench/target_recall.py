#!/usr/bin/env python3
"""target_recall against the truth: does the tuned run meet its target on every query, and how
much costlier is its setting than the cheapest that does?

    python3 bench/target_recall.py [--binary .build/release/knnbatch] [--threads 2]

For each dataset (the clustered sets of bench/flat_bench.py, 100k vectors and 10k queries, and a
16-d one made here) the exact neighbours of every query come from a knnbatch flat run, written as
ivecs. For each index type `knnbatch eval` sweeps the setting's whole ladder against them (recall
on all queries), which gives the cheapest value meeting each target; then a job with
"target_recall" (tuned on the default 500-query sample of the same ivecs) runs, and its report gives the
value chosen and the recall on all queries. HNSW graphs are saved (index.path) so that each job
maps the same graph. Prints one row per (dataset, index, target) and the count that met it.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu  # noqa: E402
import flat_bench  # noqa: E402

HNSW_LADDER = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048]


def write_ivecs(path, ids):
    n, k = ids.shape
    out = np.empty((n, k + 1), dtype=np.int32)
    out[:, 0] = k
    out[:, 1:] = ids
    out.tofile(path)


def small_dataset(folder):
    os.makedirs(folder, exist_ok=True)
    if not os.path.exists(os.path.join(folder, "base.fvecs")):
        rng = np.random.default_rng(5)
        centres = rng.normal(size=(50, 16)).astype("float32") * 3
        rows = centres[rng.integers(0, 50, 110_000)] + rng.normal(size=(110_000, 16)).astype("float32")
        flat_bench.write_fvecs(os.path.join(folder, "base.fvecs"), rows[:100_000])
        flat_bench.write_fvecs(os.path.join(folder, "query.fvecs"), rows[100_000:])
    return folder


def run(binary, folder, name, spec, threads, extra=()):
    path = os.path.join(folder, f"job-{name}.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    subprocess.run([binary] + list(extra[:1]) + [path, "--quiet", "--threads", str(threads)] + list(extra[1:]), check=True)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(flat_bench.ROOT, ".build", "release", "knnbatch"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--targets", default="0.9,0.95,0.99")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    targets = [float(t) for t in args.targets.split(",")]
    print(f"CPU: {cpu.description()}; {args.threads} threads; k = 10")
    cases = [("cosine-384", flat_bench.make_dataset("cosine-384"), "cosine", ["hnsw"]),
             ("l2-128", flat_bench.make_dataset("l2-128"), "l2", ["hnsw", "kdtree"]),
             ("l2-16", small_dataset(os.path.join(flat_bench.DATA, "target-l2-16")), "l2", ["hnsw", "kdtree"])]
    print("| dataset | index | target | chosen | recall (all queries) | met | cheapest meeting it | steps over | tune s | total s |")
    print("|---|---|---:|---:|---:|---|---:|---:|---:|---:|")
    met = total = 0
    for name, folder, metric, indexes in cases:
        base = {"version": 1, "dataset": {"path": "base.fvecs"}, "queries": {"path": "query.fvecs"}, "k": 10, "metric": metric}
        truth = os.path.join(folder, "truth-10.ivecs")
        if not os.path.exists(truth):
            run(binary, folder, "truth", dict(base, index={"type": "flat"}, output={"path": "truth.npy"}), args.threads, ["run"])
            write_ivecs(truth, np.load(os.path.join(folder, "truth.npy"))["id"].astype(np.int32))
        for index in indexes:
            spec = {"type": "hnsw", "path": "target-hnsw.knnindex"} if index == "hnsw" else {"type": "kdtree"}
            if index == "hnsw":
                ladder = HNSW_LADDER
            else:
                leaves = 1
                while leaves * 32 < 100_000:
                    leaves *= 2
                ladder = [1 << i for i in range(leaves.bit_length())]
            out = f"sweep-{index}.npy"
            run(binary, folder, f"sweep-{index}", dict(base, index=spec, groundtruth={"path": "truth-10.ivecs"}, output={"path": out}),
                args.threads, ["eval", "--values", ",".join(map(str, ladder)), "--repeats", "1"])
            with open(os.path.join(folder, out + ".eval.json")) as f:
                sweep = [(p["value"], p["recall_at_k"]) for p in json.load(f)["indexes"][0]["points"]]
            for target in targets:
                job = run(binary, folder, f"target-{index}", dict(base, index=dict(spec, target_recall=target),
                          groundtruth={"path": "truth-10.ivecs"}, output={"path": f"target-{index}.npy"}), args.threads, ["run"])
                with open(os.path.join(folder, f"target-{index}.npy.report.json")) as f:
                    report = json.load(f)
                chosen = report["index"]["tuning"]["chosen"]
                recall = report["recall_at_k"]
                cheapest = next((v for v, r in sweep if r >= target), None)
                steps = ladder.index(chosen) - ladder.index(cheapest) if cheapest in ladder and chosen in ladder else None
                ok = recall >= target
                met += ok
                total += 1
                t = report["timings"]
                print(f"| {name} | {index} | {target} | {chosen} | {recall:.4f} | {'yes' if ok else 'NO'} | {cheapest} | {steps} | "
                      f"{t['tune']:.2f} | {t['total']:.2f} |")
                del job
    print(f"\nmet the target on all queries in {met} of {total} cases")


if __name__ == "__main__":
    main()
