#!/usr/bin/env python3
"""Reading a Parquet file of embeddings into a float32 matrix: knnbatch against pyarrow.

    python3 bench/parquet_read.py [--rows 700000] [--dim 384] [--threads 2] [--repeats 5]
                                  [--codecs snappy,zstd] [--folder .bench-data/parquet]

Writes (once, kept in --folder) a file of `rows` random-normal float32 vectors as a
`list<float>` column beside an int64 id column, with pyarrow's defaults (dictionary pages that
fall back to plain, 1 MiB pages, row groups of 1M rows... capped by --row-group) for each codec:
about 1 GiB of floats. Then, each repeated, alternating:

- pyarrow: `pq.read_table(path, columns=["embedding"])` with `threads` CPU threads
  (pa.set_cpu_count), then the conversion to one C-contiguous float32 matrix
  (`combine_chunks().flatten().to_numpy().reshape(-1, dim)`), timed together in-process (the
  interpreter's start is not counted);
- knnbatch: a run of a flat job over the file with 16 queries and `threads`, whose report's
  `timings.load` is the reading (opening, decompressing, decoding and checking every row).

Prints the medians and the ratio pyarrow / knnbatch (above 1: knnbatch faster), with the CPU.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import cpu  # noqa: E402

PYARROW = r"""
import sys, time
import pyarrow as pa, pyarrow.parquet as pq
path, threads, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pa.set_cpu_count(threads)
start = time.perf_counter()
table = pq.read_table(path, columns=["embedding"], use_threads=True)
matrix = table.column("embedding").combine_chunks().flatten().to_numpy().reshape(-1, dim)
assert matrix.dtype.name == "float32" and matrix.flags.c_contiguous
print(time.perf_counter() - start)
"""


def write_files(folder, rows, dim, codecs, row_group):
    import pyarrow as pa
    import pyarrow.parquet as pq
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for codec in codecs:
        path = os.path.join(folder, f"emb-{rows}x{dim}-{codec}.parquet")
        paths[codec] = path
        if os.path.exists(path):
            continue
        rng = np.random.default_rng(1)
        writer = None
        for start in range(0, rows, row_group):
            n = min(row_group, rows - start)
            x = rng.normal(size=(n, dim)).astype(np.float32)
            vectors = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), dim).cast(pa.list_(pa.float32()))
            table = pa.table({"id": np.arange(start, start + n, dtype=np.int64), "embedding": vectors})
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression=codec)
            writer.write_table(table)
        writer.close()
        np.save(os.path.join(folder, "queries.npy"), np.random.default_rng(2).normal(size=(16, dim)).astype(np.float32))
    return paths


def knnbatch_load(binary, folder, path, threads):
    job = {"version": 1, "dataset": {"path": path, "column": "embedding"}, "queries": {"path": os.path.join(folder, "queries.npy")},
           "k": 1, "metric": "l2", "index": {"type": "flat"}, "threads": threads,
           "output": {"path": os.path.join(folder, "out.npy")}}
    job_path = os.path.join(folder, "job.json")
    with open(job_path, "w") as f:
        json.dump(job, f)
    subprocess.run([binary, "run", job_path, "--quiet"], check=True)
    with open(os.path.join(folder, "out.npy.report.json")) as f:
        return json.load(f)["timings"]["load"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=700_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--row-group", type=int, default=100_000)
    parser.add_argument("--codecs", default="snappy,zstd")
    parser.add_argument("--folder", default=os.path.join(ROOT, ".bench-data", "parquet"))
    args = parser.parse_args()
    codecs = args.codecs.split(",")
    subprocess.run(["swift", "build", "-c", "release", "--product", "knnbatch"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    binary = os.path.join(ROOT, ".build", "release", "knnbatch")
    paths = write_files(args.folder, args.rows, args.dim, codecs, args.row_group)
    print(f"{cpu.description()}; {args.threads} threads; {args.rows} x {args.dim} float32 ({args.rows * args.dim * 4 / 2**30:.2f} GiB), row groups of {args.row_group}")
    for codec in codecs:
        path = paths[codec]
        ours, theirs = [], []
        for _ in range(args.repeats):
            theirs.append(float(subprocess.run([sys.executable, "-c", PYARROW, path, str(args.threads), str(args.dim)],
                                               check=True, capture_output=True, text=True).stdout))
            ours.append(knnbatch_load(binary, args.folder, path, args.threads))
        a, b = statistics.median(theirs), statistics.median(ours)
        size = os.path.getsize(path) / 2**20
        print(f"{codec:7s} file {size:7.0f} MiB   pyarrow read+convert {a:6.3f} s   knnbatch load {b:6.3f} s   ratio {a / b:4.2f}x"
              f"   (runs: pyarrow {', '.join(f'{t:.3f}' for t in theirs)}; knnbatch {', '.join(f'{t:.3f}' for t in ours)})")


if __name__ == "__main__":
    main()
