/// An approximate index's search setting (`target_recall`): one number that trades speed for
/// recall without rebuilding anything, as the job's `index` object names it.
protocol TunableIndex: VectorIndex {
    /// The setting's key in the `index` object (`expansion_search`, `max_leaves`).
    var knobName: String { get }
    /// The values the `index` object accepts for it.
    var knobRange: ClosedRange<Int> { get }
    /// Values worth trying for k neighbours, cheapest first; the last is the most exact the index
    /// can be.
    func knobLadder(k: Int) -> [Int]
    /// The same built index searching with the setting at `value`, and its parameters.
    func withKnob(_ value: Int) -> (index: any VectorIndex, parameters: any IndexParameters)
}

extension HNSWIndex: TunableIndex {
    var knobName: String { "expansion_search" }
    var knobRange: ClosedRange<Int> { HNSWParameters.expansionSearchRange }

    /// From k (fewer candidates than k cannot give k neighbours) up, each step about 1.5×.
    func knobLadder(k: Int) -> [Int] {
        let steps = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048]
        return [max(k, 10)] + steps.filter { $0 > max(k, 10) }
    }

    func withKnob(_ value: Int) -> (index: any VectorIndex, parameters: any IndexParameters) {
        var tuned = parameters
        tuned.expansionSearch = value
        let index = HNSWIndex(data: data, metric: metric, parameters: tuned, kernel: kernel, navigation: navigation, codes: codes, points: points,
                              maxNorm: maxNorm, graph: graph, duplicates: duplicates)
        return (index, tuned)
    }
}

extension BinaryTree: TunableIndex {
    var knobName: String { "max_leaves" }
    var knobRange: ClosedRange<Int> { 1...Int.max }

    /// Leaves a query may scan, doubling up to all of them (then, with eps 0, exact).
    func knobLadder(k: Int) -> [Int] {
        let leaves = nodeCount - firstLeaf
        var ladder: [Int] = []
        var value = 1
        while value < leaves {
            ladder.append(value)
            value *= 2
        }
        return ladder + [leaves]
    }

    func withKnob(_ value: Int) -> (index: any VectorIndex, parameters: any IndexParameters) {
        var tuned = parameters
        tuned.maxLeaves = value
        let index = BinaryTree(metric: metric, parameters: tuned, dim: dim, count: count, points: points, ids: idBuffer,
                               nodeStart: nodeStartBuffer, nodeEnd: nodeEndBuffer, bounds: bounds)
        return (index, TreeIndexParameters<Bounds>(tree: tuned))
    }
}
