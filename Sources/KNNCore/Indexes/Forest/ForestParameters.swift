/// `forest`: Annoy's method — a forest of random-projection trees, searched best-first from one
/// queue shared by all trees until `search_budget` candidates are collected; those that may be
/// among the k nearest are then scored exactly.
struct ForestParameters: IndexParameters, Equatable {
    static let typeName = "forest"

    /// Trees: more raise recall at a given budget, and cost memory and build time.
    var trees = 32
    /// Vectors per leaf at most. Larger leaves mean fewer hyperplanes to test and to keep in
    /// cache; Annoy's leaves hold about as many vectors as the dimension.
    var leafSize = 128
    /// Ids gathered from leaves per query before exact scoring, an id reached by several trees
    /// counted each time (Annoy's search_k); nil: trees × k × 4.
    var searchBudget: Int? = nil
    var seed: UInt64 = 1

    static let budgetRange = 1...100_000_000

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> ForestParameters {
        var parameters = ForestParameters()
        parameters.trees = try object.int("trees", in: 1...4096) ?? parameters.trees
        parameters.leafSize = try object.int("leaf_size", in: 1...1_000_000) ?? parameters.leafSize
        parameters.searchBudget = try object.int("search_budget", in: budgetRange)
        parameters.seed = UInt64(try object.int("seed", in: 0...Int(Int32.max)) ?? 1)
        return parameters
    }

    /// The budget for k neighbours: at least k (fewer candidates cannot give k).
    func budget(k: Int) -> Int { max(k, searchBudget ?? trees * k * 4) }

    var json: [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = [("trees", .integer(trees)), ("leaf_size", .integer(leafSize))]
        if let searchBudget { members.append(("search_budget", .integer(searchBudget))) }
        members.append(("seed", .integer(Int(seed))))
        return members
    }

    var isExact: Bool { false }
    var buildKeys: [String] { ["trees", "leaf_size", "seed"] }

    /// Node references are 32-bit: the whole forest, about 2n/leaf_size nodes per tree, must fit.
    var maxCount: Int { min(Int(Int32.max), Int(Int32.max) / (2 * trees) * leafSize) }

    /// The vectors (prepared), and per tree about 2n/leaf_size nodes: a hyperplane each for the
    /// internal ones (held twice while the trees are joined into one set of arrays), a start
    /// per leaf, and every row once in the leaves (twice while building); the build holds a
    /// normalised copy for ip; the int16 codes of the prefilter and the int8 codes of the
    /// planes, where the forest keeps them; the vector of each row and the row of each vector
    /// (and, while the build reorders the rows, a mark per row).
    func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int) -> Int {
        let nodes = self.nodes(count: count)
        let codes = dim <= Forest.prefilterDimensions ? count * (NavigationCodes.rowWords(dim: dim) * 4 + 8) : 0
        let planeCodes = PlaneCodes.apply(metric: metric, dim: dim) ? nodes * (NavigationCodes.rowWords(dim: dim) * 2 + 4) : 0
        return count * dim * 4 * (metric == .ip ? 2 : 1) + nodes * (2 * (dim + 1) * 4 + 16) + trees * count * 4 * 2 + codes + planeCodes + count * 9
    }

    /// The candidate list per query of a block (at most the budget and one more leaf), and per
    /// worker a mark per vector (counted by `CandidateBlockSearch`), and per lane of walks the
    /// rows found (as many as the candidates), the queue and the query's plane code. A queue
    /// holds the roots and one node more per internal node opened: at most every internal node.
    func blockScratch(k: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch {
        let slots = candidateSlots(k: k, count: count)
        let buckets = Forest.bucketCount(count: count, dim: dim)
        var scratch = CandidateBlockSearch<ForestSearcher>.scratch(candidates: slots, dim: dim, count: count, metric: metric, buckets: buckets)
        let queue = max(1024, trees + nodes(count: count) / 2) * MemoryLayout<UInt64>.size
        // The prefilter's dots and keys per candidate slot, and the query's code; the counts
        // of the re-rank's buckets.
        scratch.perWorker += ForestSearcher.lanes * ((slots + 1) * 4 + queue + NavigationCodes.rowWords(dim: dim) * 4) + (buckets + 1) * 4
            + (dim <= Forest.prefilterDimensions ? (slots + 1) * 12 + dim * 8 : 0)
        return scratch
    }

    /// Nodes of the whole forest: about 2n/leaf_size per tree.
    func nodes(count: Int) -> Int { trees * max(1, 2 * count / max(1, leafSize)) }

    func candidateSlots(k: Int, count: Int) -> Int { min(count, budget(k: k) + leafSize) }

    func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex {
        Forest(data: data, metric: metric, parameters: self, threads: threads)
    }
}

extension Forest: TunableIndex {
    var knobName: String { "search_budget" }
    var knobRange: ClosedRange<Int> { ForestParameters.budgetRange }

    /// From k up, each step doubling, to every vector a full walk of all trees could give.
    func knobLadder(k: Int) -> [Int] {
        let most = min(count * parameters.trees, ForestParameters.budgetRange.upperBound)
        var ladder: [Int] = []
        var value = max(k, parameters.trees)
        while value < most {
            ladder.append(value)
            value *= 2
        }
        return ladder + [most]
    }

    func withKnob(_ value: Int) -> (index: any VectorIndex, parameters: any IndexParameters) {
        var tuned = parameters
        tuned.searchBudget = value
        return (Forest(sharing: self, parameters: tuned), tuned)
    }
}
