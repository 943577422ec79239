/// The text of `knnbatch --help` and `knnbatch help COMMAND`.
enum Help {
    static let overview = """
    knnbatch \(Version.current): batch k-nearest-neighbour search

    USAGE
      knnbatch run JOB.json [--threads N] [--quiet] [--restart]
      knnbatch build JOB.json [--threads N] [--quiet]
      knnbatch validate JOB.json [--threads N]
      knnbatch eval JOB.json [--values V1,V2,...] [--repeats N] [--threads N] [--quiet]
      knnbatch help [run | build | validate | eval]
      knnbatch --version

    COMMANDS
      run        Run a job: load the inputs, build the index, search every query, write the
                 neighbours and a JSON report beside them.
      build      Build the job's index and save it at its index.path, for later runs to map.
      validate   Check a job spec and the headers of its input files without searching, and
                 print the plan and the memory it expects to need.
      eval       Sweep the job's index over its search setting: recall@k against exact
                 neighbours and queries per second for each value, as a table and a plot.

    The job spec is a JSON file; README.md documents every field. Exit status: 0 success,
    3 the run wrote its output but recall@k fell below the job's min_recall, 64 bad usage or
    invalid job spec, 65 bad input data, 74 input/output failure, 75 not enough memory or the
    output busy with another run, 1 other.
    """

    static let run = """
    USAGE: knnbatch run JOB.json [--threads N] [--quiet] [--restart]

    Runs the job described by JOB.json. Paths inside the job resolve against the folder of
    JOB.json. The output is written to a temporary file beside it and renamed into place when
    complete, so the output path never holds a partial file; the report follows.

    OPTIONS
      --threads N   Worker threads (overrides the job's "threads"; 0 = all cores).
      --quiet       No progress and no summary on stderr; errors are still printed.
      --restart     Start over, ignoring what an interrupted run of this job finished.
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
}
