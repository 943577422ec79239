"""What the benchmarks need to know about the CPU they run on, read from /proc/cpuinfo.

Peers must run on instructions the CPU has: OpenBLAS's SkylakeX kernels on a CPU without
AVX-512 crash or misreport, so the core type is chosen from the flags, never forced. With
`avx2_only` (the benchmarks' --as-avx2) an AVX-512 machine stands in for an AVX2-only one:
knnbatch runs its AVX2 build (KNNBATCH_KERNEL=avx2), FAISS its AVX2 build (FAISS_OPT_LEVEL=avx2)
and OpenBLAS its Haswell kernels. That is a proxy — the core, caches and clocks stay this
machine's — and the printed CPU line says so.
"""
import os


def flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def description(avx2_only=False):
    f = flags()
    isa = "AVX-512" + (" VNNI" if "avx512_vnni" in f else "") if "avx512f" in f else "AVX2" if "avx2" in f else "SSE2"
    text = f"{model()} ({isa})"
    return text + ", running AVX2 builds only (a proxy for an AVX2-only CPU)" if avx2_only else text


def openblas_core_type(avx2_only=False):
    f = flags()
    if "avx512f" in f and "avx512bw" in f and not avx2_only:
        return "SkylakeX"
    if "avx2" in f and "fma" in f:
        return "Haswell"
    return None


def peer_environment(threads, avx2_only=False):
    """The environment for a peer's process: thread counts, and the kernels the CPU supports."""
    env = dict(os.environ)
    for var in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]:
        env[var] = str(threads)
    core = openblas_core_type(avx2_only)
    if core:
        env["OPENBLAS_CORETYPE"] = core
    else:
        env.pop("OPENBLAS_CORETYPE", None)
    if avx2_only:
        env["FAISS_OPT_LEVEL"] = "avx2"
    return env


def knnbatch_environment(avx2_only=False):
    env = dict(os.environ)
    if avx2_only:
        env["KNNBATCH_KERNEL"] = "avx2"
    return env
