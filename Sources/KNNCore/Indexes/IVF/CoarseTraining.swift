/// The coarse partition `ivf` and `ivfpq` share: a seeded sample of the dataset (`train_size`
/// rows in file order, prepared for the metric) and the k-means centroids trained on it.
struct CoarseTraining {
    let lists: Int
    /// `lists × dim`, row-major.
    let centroids: FloatBuffer
    /// The training rows, prepared (unit length under cosine), and the buffer holding them
    /// (`ivfpq` turns them into residuals in place).
    let sample: VectorMatrix
    let sampleBuffer: FloatBuffer
    /// Seconds the sampling and k-means took.
    let seconds: Double

    init(data: VectorMatrix, metric: Metric, parameters: IVFParameters, threads: Int) {
        let start = Clock.now()
        let n = data.rows, dim = data.dim
        lists = parameters.resolvedLists(count: n)
        let trainSize = parameters.resolvedTrainSize(count: n, lists: lists, dim: dim)
        let rows = KMeans.sample(trainSize, of: n, seed: parameters.seed)
        let buffer = FloatBuffer(count: trainSize * dim, zeroed: false)
        let chunk = 4096
        // Read with `copyRow` (pread for a mapped file): sampled rows lie all over the file, and
        // faulting their pages in through the map would make most of a large file resident.
        Parallel.forEach((trainSize + chunk - 1) / chunk, threads: threads) { c in
            let raw = FloatBuffer(count: dim)
            for i in (c * chunk)..<min((c + 1) * chunk, trainSize) {
                data.copyRow(rows[i], into: raw.pointer)
                metric.prepare(raw.pointer, into: buffer.pointer + i * dim, dim: dim)
            }
        }
        sampleBuffer = buffer
        sample = VectorMatrix(rows: trainSize, dim: dim, stride: dim, base: UnsafePointer(buffer.pointer), owner: buffer)
        centroids = KMeans.train(sample: sample, lists: lists, iterations: parameters.iterations, seed: parameters.seed, threads: threads)
        seconds = Clock.now() - start
    }

    /// A flat index over the centroids by squared l2: the nearest centroid of a vector is its cell.
    func assigner(threads: Int) -> FlatIndex {
        FlatIndex(data: VectorMatrix(rows: lists, dim: sample.dim, stride: sample.dim, base: UnsafePointer(centroids.pointer), owner: centroids),
                  metric: .sqeuclidean, threads: threads)
    }
}
