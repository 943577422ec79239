import Foundation

/// `target_recall`: before the run, the cheapest search setting whose recall@k on a seeded
/// sample of the queries reaches the target, by a margin for the sample's size.
///
/// The setting's values (`TunableIndex.knobLadder`) are probed cheapest first in growing steps,
/// then by bisection — recall grows with the setting — each probe searching the sample with the
/// built index. A value is accepted when
/// a one-sided 95% lower bound on the mean recall (mean − 1.645 · sd / √n over the sampled
/// queries' recalls) reaches the target, so that the recall of all the queries, of which the
/// sample is a part, meets it too with high probability. When no value does, the most exact one
/// is used and the report says so.
struct RecallTuning {
    /// Queries sampled when the job's ground truth names no sample size.
    static let defaultSample = 500

    struct Probe {
        var value: Int
        var recall: Double
        var lowerBound: Double
    }

    let target: Double
    let knob: String
    let chosen: Probe
    let reached: Bool
    /// In the order probed.
    let probes: [Probe]
    let sampleQueries: Int
    let seconds: Double

    static func lowerBound(of recalls: [Double]) -> (mean: Double, lower: Double) {
        guard !recalls.isEmpty else { return (0, 0) }
        let n = Double(recalls.count)
        let mean = recalls.reduce(0, +) / n
        let variance = recalls.count > 1 ? recalls.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
        return (mean, mean - 1.645 * (variance / n).squareRoot())
    }

    /// Tunes `index` against `truth`; returns the tuning and the index and parameters to run with.
    static func tune(_ index: any TunableIndex, target: Double, truth: SampledGroundTruth, queries: VectorMatrix, k: Int,
                     selfJoin: Bool, threads: Int) -> (tuning: RecallTuning, index: any VectorIndex, parameters: any IndexParameters) {
        let start = Clock.now()
        let ladder = index.knobLadder(k: k)
        var probes: [Probe] = []
        func probe(_ i: Int) -> Probe {
            if let known = probes.first(where: { $0.value == ladder[i] }) { return known }
            let found = truth.sample.search(index.withKnob(ladder[i]).index, queries: queries, k: k, selfJoin: selfJoin, threads: threads)
            let (mean, lower) = lowerBound(of: truth.recalls(of: found))
            let result = Probe(value: ladder[i], recall: mean, lowerBound: lower)
            probes.append(result)
            return result
        }
        // The smallest index into the ladder whose lower bound reaches the target, if any: steps
        // of 1, 2, 4, … from the cheapest (the expensive end is probed only when needed), then
        // bisection between the last value that fell short and the first that reached.
        var low = 0, high = 0, step = 1
        var reached = probe(0).lowerBound >= target
        while !reached && high < ladder.count - 1 {
            low = high + 1
            high = min(ladder.count - 1, high + step)
            step *= 2
            reached = probe(high).lowerBound >= target
        }
        if reached {
            while low < high {
                let mid = (low + high) / 2
                if probe(mid).lowerBound >= target { high = mid } else { low = mid + 1 }
            }
        }
        let chosen = probe(reached ? high : ladder.count - 1)
        let tuned = index.withKnob(chosen.value)
        let tuning = RecallTuning(target: target, knob: index.knobName, chosen: chosen, reached: reached, probes: probes,
                                  sampleQueries: truth.sample.count, seconds: Clock.now() - start)
        return (tuning, tuned.index, tuned.parameters)
    }

    /// The report's `index.tuning`.
    var json: JSONValue {
        .object([
            ("target_recall", .decimal(target)), ("knob", .string(knob)), ("chosen", .integer(chosen.value)),
            ("reached", .bool(reached)), ("sample_queries", .integer(sampleQueries)),
            ("sample_recall", .decimal(chosen.recall)), ("lower_bound", .decimal(max(0, chosen.lowerBound))),
            ("probes", .array(probes.sorted { $0.value < $1.value }.map {
                .object([("value", .integer($0.value)), ("recall", .decimal($0.recall)), ("lower_bound", .decimal(max(0, $0.lowerBound)))])
            })),
            ("seconds", .decimal(seconds)),
        ])
    }

    /// A line for stderr and the report when the target was out of reach.
    var warning: String? {
        reached ? nil : "target_recall \(target) was not reached on the sample: \(knob) \(chosen.value), the most exact setting, gives \(String(format: "%.4f", chosen.recall)) (lower bound \(String(format: "%.4f", chosen.lowerBound)))"
    }
}
