/// The text of `knnbatch --help` and `knnbatch help COMMAND`.
enum Help {
    static let overview = """
    knnbatch \(Version.current): batch k-nearest-neighbour search

    USAGE
      knnbatch run JOB.json [--threads N] [--quiet] [--restart] [--shard I/N | --shards N]
      knnbatch merge JOB.json [--shards N] [--keep-parts] [--quiet]
      knnbatch slurm JOB.json --shards N [--partition P] [--time T] [--mem M] [--cpus C]
                     [--submit | --resubmit]
      knnbatch build JOB.json [--threads N] [--quiet]
      knnbatch validate JOB.json [--threads N]
      knnbatch eval JOB.json [--values V1,V2,...] [--repeats N] [--threads N] [--quiet]
      knnbatch help [run | build | validate | eval | merge | slurm | job]
      knnbatch --version

    COMMANDS
      run        Run a job: load the inputs, build the index, search every query, write the
                 neighbours and a JSON report beside them. With --shard, one part of it.
      merge      Make a sharded job's output from its parts.
      slurm      Write (and submit) sbatch scripts: an array of shards, then the merge.
      build      Build the job's index and save it at its index.path, for later runs to map.
      validate   Check a job spec and the headers of its input files without searching, and
                 print the plan and the memory it expects to need.
      eval       Sweep the job's index over its search setting: recall@k against exact
                 neighbours and queries per second for each value, as a table and a plot.

    JOB.json is the job spec; `knnbatch help job` lists its fields, and `-` reads it from
    standard input (its paths then resolve against the current folder). Exit status: 0 success,
    3 the run wrote its output but recall@k fell below the job's min_recall, 64 bad usage or
    invalid job spec, 65 bad input data, 74 input/output failure, 75 not enough memory or the
    output busy with another run, 1 other.
    """

    static let run = """
    USAGE: knnbatch run JOB.json [--threads N] [--quiet] [--restart] [--shard I/N | --shards N]

    Runs the job described by JOB.json. Paths inside the job resolve against the folder of
    JOB.json. The output is written to a temporary file beside it and renamed into place when
    complete, so the output path never holds a partial file; the report follows.

    OPTIONS
      --threads N   Worker threads (overrides the job's "threads"; 0 = all cores).
      --quiet       No progress and no summary on stderr; errors are still printed.
      --restart     Start over, ignoring what an interrupted run of this job finished.
      --shard I/N   Do part I (from 0) of N: by queries (the job's "shard_by", the default) its
                    range of the queries against the whole index; by dataset, every query
                    against an index of its range of the dataset. Writes <output>.part-I-of-N
                    and its report; `knnbatch merge` makes the output.
      --shards N    The shard count, the shard taken from SLURM_ARRAY_TASK_ID or Kubernetes'
                    JOB_COMPLETION_INDEX. A job with "shard_by" needs neither option in a Slurm
                    array task: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT select the shard.
      -h, --help    Show this help.

    A run that is stopped or killed (kill -9 included) keeps the blocks it finished in
    .<output>.knnbatch-partial with a journal beside it; the next run of the same job continues
    from there and writes the same bytes an uninterrupted run writes.

    Progress goes to stderr: a live line on a terminal, a log line every few seconds otherwise.
    """

    static let build = """
    USAGE: knnbatch build JOB.json [--threads N] [--quiet]

    Builds the index JOB.json describes over its dataset and saves it at the job's index.path
    (written atomically), replacing what is there. A later `run` of a job with that index.path
    maps the saved index instead of building, when it fits: same index type and build
    parameters, metric, dimension and dataset (size and content hash). Search parameters
    (expansion_search, eps, max_leaves) may differ.

    OPTIONS
      --threads N   Worker threads (overrides the job's "threads"; 0 = all cores).
      --quiet       No summary on stderr; errors are still printed.
      -h, --help    Show this help.
    """

    static let merge = """
    USAGE: knnbatch merge JOB.json [--shards N] [--keep-parts] [--quiet]

    Makes the job's output from the parts its shards wrote (`knnbatch run JOB.json --shard I/N`):
    query shards are concatenated; dataset shards' neighbours are merged into each query's k
    nearest, ties by id. For exact indexes the output is byte for byte a one-machine run's. A
    missing, incomplete or mismatched part (another job, changed inputs, another shard count)
    is an error naming it; nothing is written. Recall and min_recall are measured here. The
    report gives each shard's times, the totals and the slowest shard.

    OPTIONS
      --shards N    The shard count (needed only when parts of several counts are present).
      --keep-parts  Keep the parts and their reports (removed after a merge otherwise).
      --quiet       No summary on stderr.
      -h, --help    Show this help.
    """

    static let slurm = """
    USAGE: knnbatch slurm JOB.json --shards N [--partition P] [--time T] [--mem M] [--cpus C]
                         [--submit | --resubmit]

    Writes sbatch scripts in <output>.slurm/: shards.sbatch (an array task per shard),
    merge.sbatch, build.sbatch (with index.path and query shards: the index built once and
    mapped by every shard) and submit.sh, which submits them chained by afterok. If a task
    fails, Slurm cancels the merge; --resubmit then submits only the shards whose part is
    missing, and a merge waiting for them.

    OPTIONS
      --shards N     Shards (array tasks).
      --partition P, --time T, --mem M
                     Passed to sbatch as #SBATCH lines.
      --cpus C       CPUs per task (default 1); each task runs that many threads.
      --submit       Submit with sbatch after writing the scripts.
      --resubmit     Submit the shards without a fit part, and a new merge.
      -h, --help     Show this help.
    """

    static let validate = """
    USAGE: knnbatch validate JOB.json [--threads N]

    Checks the job spec and the headers of every input file (formats, shapes, dimensions)
    without building an index or searching, then prints the plan: dataset and query shapes,
    index, k, metric, output, and the memory the run expects to need. Text inputs (csv, txt)
    have no header and are parsed in full. Exits with the same status a run would for the
    problems it finds.

    OPTIONS
      --threads N   Plan for N worker threads (0 = all cores).
      -h, --help    Show this help.
    """

    static let eval = """
    USAGE: knnbatch eval JOB.json [--values V1,V2,...] [--repeats N] [--threads N] [--quiet]

    Builds (or maps) the job's index once — and each index of the job's "sweep": {"indexes":
    [...]} beside it — then for each value of its search setting
    (expansion_search for hnsw, max_leaves for the trees) searches the queries, measures
    recall@k against exact neighbours and batch queries per second, and writes beside the
    job's output path: <output>.eval.csv and <output>.eval.json (a table: index, setting,
    recall, queries/s with the fastest and slowest round, build seconds, peak memory, Pareto
    front) and <output>.eval.svg (recall against queries/s, log scale, the front marked).

    Ground truth: the job's groundtruth (an ivecs file, or "sample": N queries), else every
    query's exact neighbours from flat, kept in .<job>.knnbatch-truth beside the job for the
    next eval of the same inputs.

    OPTIONS
      --values LIST  The setting's values (default: the job's "sweep": {"values": [...]}, else
                     ten values of the index's own ladder).
      --repeats N    Timed rounds, the values taken in turn within each (default 3).
      --threads N    Worker threads (overrides the job's "threads"; 0 = all cores).
      --quiet        No progress on stderr.
      -h, --help     Show this help.
    """

    static let job = """
    THE JOB SPEC: a JSON object; unknown keys are errors. Paths resolve against the job file's folder.

      version              1 (required)
      dataset              {"path": a file, a folder or a glob of files read in name order,
                            "format"?: npy|npz|fvecs|bvecs|ivecs|parquet|csv|text, "labels"?: file,
                            "header"?: bool (csv), "label_column"?: name or index (csv), name
                            (parquet), "column"?: vector column (parquet), "array"?: name (npz),
                            "label_spaces"?: bool (text)}  (required)
      queries              "self" (every dataset vector, excluding its own id) or an object like
                           dataset  (required)
      k                    neighbours per query, 1 to 1048576 (required)
      metric               l2 | sqeuclidean | cosine | ip (required)
      index                {"type": flat|kdtree|balltree|hnsw|forest|lsh|ivf|ivfpq|auto, ...}
                           (required)
        kdtree, balltree     leaf_size (32), eps (0), max_leaves (all)
        hnsw                 connectivity (16), expansion_add (128), expansion_search (64),
                             seed (1), navigation: int16|float32
        forest               trees (32), leaf_size (128), search_budget (trees × k × 4), seed (1)
        lsh                  tables (16), bits (log2(n) − 3), probes (16), bucket_width
                             (l2, sqeuclidean; from the data), seed (1), search: buckets|hamming
                             (cosine, ip: rank every code; tables 4, bits 64, rerank 10)
        ivf                  lists (4√n), probe (lists / 32, at least 8), train_size
                             (256 × lists, ≤ 512 MiB), iterations (10), seed (1)
        ivfpq                as ivf, and pq_subspaces (dim / 2 under 4 bits, dim / 4 under 8),
                             pq_bits: 4|8 (4), rerank (10: rerank × k candidates scored exactly),
                             pq_residual (true: codes of residuals from the cell's centroid)
        path, reuse          save the built index there and map it back: if_valid | require
        target_recall        tune the search setting to this recall@k on a sample of the queries
      output               {"path", "format"?: csv|npy, "report"?: path, "previous"?: path}
                           (required)
      threads              worker threads, 0 = all cores (0)
      groundtruth          {"path": ivecs or npy, "format"?} and/or {"sample": N, "seed"?}:
                           recall@k in the report
      min_recall           with groundtruth: below it the run exits 3 (its output is written)
      update               full | append: merge rows appended to the dataset into the previous
                           result instead of searching everything again
      max_memory           bytes, or "8GiB": refuse a job whose estimate exceeds it
      planner              {"block_queries", "slice_queries"}
      shard_by             queries | dataset: how `run --shard I/N` splits the job (queries)
      sweep                for knnbatch eval: {"values": [...]} or {"from", "to", "step" or
                           "factor"}, and "indexes": [index objects] to measure beside the job's

    Example:
      {"version": 1, "dataset": {"path": "base.npy"}, "queries": "self", "k": 10,
       "metric": "cosine", "index": {"type": "hnsw"}, "output": {"path": "graph.npy"}}
    """
}
