import Dispatch

/// An inverted file: the dataset partitioned into `lists` cells by seeded k-means, each cell's
/// vectors packed together for the flat index's tile kernel.
///
/// Layout:
/// - `centroids`: `lists × dim`, row-major; `coarse`, a flat index over them that ranks a
///   query's cells (squared l2, or the inner product under ip);
/// - `panels`, `bias`: the vectors prepared for the metric (unit length under cosine) in
///   `PanelMatrix`'s layout, cell after cell: cell `c` holds panels `cellStarts[c] ..<
///   cellStarts[c + 1]`, an even number (the tile takes two), its vectors in id order and the
///   rest padding (bias +∞, never reported);
/// - `ids[p]`: the id at position `p` (−1 for padding).
/// The exact re-rank reads the dataset's rows (`data`), prepared again as they were packed.
///
/// Vectors are assigned to the cell of the nearest centroid by squared l2 (under ip too: the
/// cells partition space; the probe then ranks them by inner product, as FAISS does).
final class IVFIndex: SliceSearchIndex, @unchecked Sendable {
    let metric: Metric
    let parameters: IVFParameters
    /// The dataset as loaded: the exact re-rank reads its rows.
    let data: VectorMatrix
    let dim: Int
    let count: Int
    let lists: Int
    let centroids: FloatBuffer
    let cellStarts: AlignedBuffer<Int>
    let panels: FloatBuffer
    let bias: FloatBuffer
    let ids: AlignedBuffer<Int32>
    let maxNorm: Double
    let kernel: KernelVariant
    let coarse: FlatIndex
    /// Seconds k-means took, when this process built the index.
    let trainingSeconds: Double?
    let trainSize: Int

    init(metric: Metric, parameters: IVFParameters, data: VectorMatrix, centroids: FloatBuffer, cellStarts: AlignedBuffer<Int>,
         panels: FloatBuffer, bias: FloatBuffer, ids: AlignedBuffer<Int32>, maxNorm: Double,
         trainSize: Int, trainingSeconds: Double?, coarse: FlatIndex? = nil, kernel: KernelVariant = .selected) {
        (self.metric, self.parameters, self.data, self.dim, self.count, self.lists) = (metric, parameters, data, data.dim, data.rows, cellStarts.count - 1)
        let dim = data.dim
        (self.centroids, self.cellStarts, self.panels, self.bias, self.ids) = (centroids, cellStarts, panels, bias, ids)
        (self.maxNorm, self.trainSize, self.trainingSeconds, self.kernel) = (maxNorm, trainSize, trainingSeconds, kernel)
        let lists = cellStarts.count - 1
        // Float32 scoring ranks the cells: over a few thousand centroids the int16 codes' query
        // encoding and wider filter bound cost more than they save (8% of the search at 128-d).
        self.coarse = coarse ?? FlatIndex(data: VectorMatrix(rows: lists, dim: dim, stride: dim, base: UnsafePointer(centroids.pointer), owner: centroids),
                                          metric: metric == .ip ? .ip : .sqeuclidean, kernel: kernel, scoring: .float32)
    }

    /// The same index searched with other search parameters (`TunableIndex`).
    convenience init(sharing other: IVFIndex, parameters: IVFParameters) {
        self.init(metric: other.metric, parameters: parameters, data: other.data, centroids: other.centroids,
                  cellStarts: other.cellStarts, panels: other.panels, bias: other.bias, ids: other.ids,
                  maxNorm: other.maxNorm, trainSize: other.trainSize, trainingSeconds: other.trainingSeconds, coarse: other.coarse, kernel: other.kernel)
    }

    /// Trains the partition on a seeded sample, assigns every vector, and packs the cells.
    convenience init(data: VectorMatrix, metric: Metric, parameters: IVFParameters, threads: Int) {
        let n = data.rows, dim = data.dim
        let training = CoarseTraining(data: data, metric: metric, parameters: parameters, threads: threads)
        let (lists, centroids, trainSize) = (training.lists, training.centroids, training.sample.rows)
        let chunk = 4096

        // Every vector's cell, reading the dataset once in order.
        let cells = KMeans.nearest(of: data, index: training.assigner(threads: threads), threads: threads, prepare: metric, releasingPages: true)

        // Cells in panels: an even number of panels each, ids in increasing order within.
        let lanes = PanelMatrix.lanes
        var sizes = [Int](repeating: 0, count: lists)
        for i in 0..<n { sizes[Int(cells.pointer[i])] += 1 }
        let cellStarts = AlignedBuffer<Int>(count: lists + 1)
        for c in 0..<lists { cellStarts.pointer[c + 1] = cellStarts.pointer[c] + (sizes[c] + 2 * lanes - 1) / (2 * lanes) * 2 }
        let panelCount = max(2, cellStarts.pointer[lists])
        let ids = AlignedBuffer<Int32>(repeating: -1, count: panelCount * lanes)
        let positions = AlignedBuffer<Int32>(count: n, zeroed: false)
        var cursor = (0..<lists).map { cellStarts.pointer[$0] * lanes }
        for i in 0..<n {
            let c = Int(cells.pointer[i])
            ids.pointer[cursor[c]] = Int32(i)
            positions.pointer[i] = Int32(cursor[c])
            cursor[c] += 1
        }
        // The vectors, read a second time in order, each written at its position.
        let panels = FloatBuffer(count: panelCount * dim * lanes)
        let bias = FloatBuffer(repeating: .infinity, count: panelCount * lanes)
        let chunks = (n + chunk - 1) / chunk
        let norms = ChunkSlots(count: chunks, initial: 0.0)
        Parallel.forEach(chunks, threads: threads) { c in
            let prepared = FloatBuffer(count: dim)
            var largest = 0.0
            for i in (c * chunk)..<min((c + 1) * chunk, n) {
                metric.prepare(data.row(i), into: prepared.pointer, dim: dim)
                let (panel, lane) = Int(positions.pointer[i]).quotientAndRemainder(dividingBy: lanes)
                let base = panels.pointer + panel * dim * lanes + lane
                for j in 0..<dim { base[j * lanes] = prepared.pointer[j] }
                let normSquared = Kernels.dot(prepared.pointer, prepared.pointer, count: dim)
                bias.pointer[panel * lanes + lane] = metric == .l2 || metric == .sqeuclidean ? normSquared : 0
                largest = max(largest, Double(normSquared))
            }
            data.releasePages(rows: (c * chunk)..<min((c + 1) * chunk, n))
            norms.values[c] = largest
        }
        let maxNorm = UnsafeBufferPointer(start: norms.values, count: chunks).max()!.squareRoot()
        self.init(metric: metric, parameters: parameters, data: data, centroids: centroids, cellStarts: cellStarts, panels: panels,
                  bias: bias, ids: ids, maxNorm: maxNorm, trainSize: trainSize, trainingSeconds: training.seconds)
    }

    var probe: Int { parameters.resolvedProbe(lists: lists) }

    func makeSearcher(k: Int) -> any NeighborSearcher { IVFSearcher(index: self, k: k) }

    func blockScratch(k: Int) -> BlockScratch { parameters.blockScratch(k: k, dim: dim, count: count, metric: metric) }

    /// Vectors in cell `c`.
    func size(ofCell c: Int) -> Int {
        let lanes = PanelMatrix.lanes
        var last = cellStarts.pointer[c + 1] * lanes
        while last > cellStarts.pointer[c] * lanes && ids.pointer[last - 1] < 0 { last -= 1 }
        return last - cellStarts.pointer[c] * lanes
    }

    var reportMembers: [(key: String, value: JSONValue)] {
        let sizes = (0..<lists).map(size(ofCell:)).sorted()
        var members: [(key: String, value: JSONValue)] = [
            ("lists", .integer(lists)), ("probe", .integer(probe)), ("train_size", .integer(trainSize)),
            ("cell_sizes", .object([("min", .integer(sizes.first ?? 0)), ("median", .integer(sizes.isEmpty ? 0 : sizes[sizes.count / 2])),
                                    ("max", .integer(sizes.last ?? 0))])),
        ]
        if let trainingSeconds { members.append(("training_seconds", .double(trainingSeconds))) }
        return members
    }
}
