import Testing
@testable import KNNCore

/// The int16 codes behind int16 scoring: their layout, their limits (no integer sum can wrap),
/// and the error bound the candidate filter relies on for exact results.
@Suite struct Int16QuantizationTests {
    /// Encodes one vector into a row of words (stride 1) and returns the codes and the scale.
    func encode(_ vector: [Float], negate: Bool = false) -> (codes: [Int16], code: Int16Quantization.Code) {
        var words = [Int32](repeating: -1, count: (vector.count + 1) / 2)
        let code = vector.withUnsafeBufferPointer { source in
            words.withUnsafeMutableBufferPointer { Int16Quantization.encode(source.baseAddress!, dim: vector.count, negate: negate, into: $0.baseAddress!, stride: 1) }
        }
        let codes = words.flatMap { [Int16(truncatingIfNeeded: $0), Int16(truncatingIfNeeded: $0 >> 16)] }
        return (codes, code)
    }

    @Test func handCheckedCodesAndWordLayout() {
        // max |x| = 1 sets the scale: 1/32767 rounded up to a float, 3.0518513e-5, whose
        // inverse is 32766.996; the norm √1.3125 stays far below the norm limit. So the codes
        // are 32766.996, −16383.498 and 8191.749 rounded.
        let (codes, code) = encode([1, -0.5, 0.25])
        #expect(Double(code.inverseScale) >= 1.0 / 32_767 && Double(code.inverseScale.nextDown) < 1.0 / 32_767)
        #expect(codes == [32_767, -16_383, 8_192, 0], "the odd dimension's pad is zero")
        #expect(code.l1 == 1.75 && abs(code.norm - 1.3125.squareRoot()) < 1e-12)
        // Negated codes are the negation.
        let negated = encode([1, -0.5, 0.25], negate: true).codes
        #expect(negated == codes.map { -$0 })
        // The zero vector: scale 0, codes 0.
        let zero = encode([0, 0, 0, 0])
        #expect(zero.code.inverseScale == 0 && zero.codes == [0, 0, 0, 0])
    }

    /// The rounding without a library call is `rounded()`'s, at halves and next to them, near
    /// zero and at the int16 limits, and on seeded values.
    @Test func roundingIsHalfAwayFromZero() {
        var values: [Double] = [0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 32766.5, -32767.5, 32767, 0.49999999999999994, -0.49999999999999994,
                                1e-300, -1e-300, 4503599627370495.5 / 4_194_304]
        for half in [0.5, 1.5, 2.5, 1000.5, 32766.5] { values += [half.nextUp, half.nextDown, -half.nextUp, -half.nextDown] }
        var rng = SplitMix64(seed: 6)
        values += (0..<10_000).map { _ in Double.random(in: -32767.5...32767.5, using: &rng) }
        for value in values {
            #expect(Int16Quantization.roundedHalfAwayFromZero(value) == Int32(value.rounded()), "\(value)")
        }
    }

    /// Every code is x/s rounded: within ½ of it, never beyond int16, and the code's norm stays
    /// under 46340, so that |q'·x'| < 2³¹.
    @Test func codesRoundAndStayWithinLimits() {
        var rng = SplitMix64(seed: 5)
        for dim in [1, 2, 3, 17, 64, 383, 4096] {
            for shape in 0..<3 {
                let vector: [Float] = (0..<dim).map { _ in
                    switch shape {
                    case 0: return Float.random(in: -1...1, using: &rng)
                    case 1: return 3e7 // every component at the maximum: the norm limit binds
                    default: return Float.random(in: -1e-30...1e-30, using: &rng)
                    }
                }
                let (codes, code) = encode(vector)
                var squares = 0.0
                for i in 0..<dim {
                    let exact = Double(vector[i]) / Double(code.inverseScale)
                    #expect(abs(Double(codes[i]) - exact) <= 0.5 + 1e-9, "dim \(dim) shape \(shape) component \(i)")
                    squares += Double(codes[i]) * Double(codes[i])
                }
                #expect(squares.squareRoot() < 46_340, "dim \(dim) shape \(shape)")
            }
        }
    }

    /// The scores the tile computes — for every kernel build — are the exact integer sums times
    /// the two scales, identical across builds, and within `scoreError` of −q·x in double
    /// precision.
    @Test func tileScoresAreExactSumsWithinTheBound() {
        for (dim, seed) in [(3, 1), (64, 2), (200, 3), (383, 4)] as [(Int, UInt64)] {
            var data = Fixtures.randomVectors(70, dim, seed: seed)
            data[5] = [Float](repeating: 0, count: dim) // a zero vector scores exactly 0
            data[6] = data[6].map { $0 * 1000 } // norms differ widely
            data[7] = (0..<dim).map { $0 % 2 == 0 ? 1e-40 : -3e-41 } // subnormal: the scale's lower clamp
            let queries = Fixtures.randomVectors(8, dim, seed: seed + 100)
            let panels = QuantizedPanelMatrix(data: VectorMatrix(data), metric: .ip)
            let pairs = panels.pairs
            var words = [Int32](repeating: 0, count: pairs * 8)
            var scales = [Float](repeating: 0, count: 8)
            var errors = [Double](repeating: 0, count: 8)
            for (i, query) in queries.enumerated() {
                let code = query.withUnsafeBufferPointer { source in
                    words.withUnsafeMutableBufferPointer { Int16Quantization.encode(source.baseAddress!, dim: dim, negate: true, into: $0.baseAddress! + i, stride: 8) }
                }
                scales[i] = code.inverseScale
                errors[i] = panels.bounds.scoreError(query: code, dim: dim)
            }
            func decoded(_ word: Int32) -> (Int64, Int64) { (Int64(Int16(truncatingIfNeeded: word)), Int64(Int16(truncatingIfNeeded: word >> 16))) }
            let thresholds = [Float](repeating: .infinity, count: 8)
            var results: [KernelVariant: [[Float]]] = [:]
            for kernel in KernelVariant.supported {
                var scores = [[Float]](repeating: [Float](repeating: .nan, count: panels.panelCount * 16), count: 8)
                kernel.quantizedScan(queries: words, queryScales: scales, pairs: pairs, panels: panels.words.pointer,
                                     panelScales: panels.scales.pointer, bias: panels.bias.pointer, panelCount: panels.panelCount,
                                     thresholds: thresholds) { query, panel, lanes in
                    for lane in 0..<16 { scores[query][panel * 16 + lane] = lanes[lane] }
                }
                results[kernel] = scores
            }
            for q in 0..<8 {
                for id in 0..<data.count {
                    var sum: Int64 = 0
                    for j in 0..<pairs {
                        let (a0, a1) = decoded(words[j * 8 + q])
                        let (b0, b1) = decoded(panels.words.pointer[((id / 16) * pairs + j) * 16 + id % 16])
                        sum += a0 * b0 + a1 * b1
                    }
                    let expected = Float(sum) * panels.scales.pointer[id] * scales[q]
                    let truth = -zip(queries[q], data[id]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                    for (kernel, scores) in results {
                        #expect(scores[q][id].bitPattern == expected.bitPattern, "dim \(dim) \(kernel) query \(q) id \(id)")
                    }
                    #expect(abs(Double(expected) - truth) <= errors[q], "dim \(dim) query \(q) id \(id)")
                }
                // Padding vectors score +∞ (or, in panels of padding only, are never reported).
                for id in data.count..<(panels.panelCount * 16) { #expect(!(results[.baseline]![q][id] < .infinity)) }
            }
        }
    }

    /// Centred codes, with queries coded once against a centre that is not the coded vectors'
    /// mean (k-means: the sample's rows against each round's centroids, `EncodedQueries`): every
    /// tile score lies within `centredDistanceError` of ‖q − x‖² − ‖q̃‖², q̃ = fl(q − μ), on data
    /// far from the origin and with the centre off the data.
    @Test func centredScoresAgainstAGivenCentreStayWithinTheBound() {
        for (dim, offset, seed) in [(64, 0.0, 31), (97, 1e3, 32), (200, 30.0, 33)] as [(Int, Double, UInt64)] {
            let centroids = Fixtures.randomVectors(40, dim, seed: seed).map { $0.map { $0 + Float(offset) } }
            let rows = Fixtures.randomVectors(24, dim, seed: seed + 1).map { $0.map { $0 * 2 + Float(offset) } }
            // The rows' mean moved by a unit in every component: not the centroids' mean.
            let centre = FloatBuffer(count: dim)
            for j in 0..<dim { centre.pointer[j] = rows.reduce(0) { $0 + $1[j] } / Float(rows.count) + 1 }
            let panels = QuantizedPanelMatrix(data: VectorMatrix(centroids), metric: .sqeuclidean, centre: centre)
            let encoded = EncodedQueries(VectorMatrix(rows), centre: centre, threads: 2)
            let pairs = panels.pairs, thresholds = [Float](repeating: .infinity, count: 8)
            for group in 0..<(rows.count / 8) {
                let terms = (0..<8).map { panels.queryTerms(encoded.codes.pointer[group * 8 + $0], preparedNorm: encoded.norms.pointer[group * 8 + $0]) }
                var scores = [[Float]](repeating: [Float](repeating: .nan, count: panels.panelCount * 16), count: 8)
                KernelVariant.selected.quantizedScan(queries: encoded.words.pointer + group * pairs * 8, queryScales: terms.map(\.scale), pairs: pairs,
                                                     panels: panels.words.pointer, panelScales: panels.scales.pointer, bias: panels.bias.pointer,
                                                     panelCount: panels.panelCount, thresholds: thresholds) { query, panel, lanes in
                    for lane in 0..<16 { scores[query][panel * 16 + lane] = lanes[lane] }
                }
                for member in 0..<8 {
                    let row = rows[group * 8 + member]
                    let centred = (0..<dim).map { Double(row[$0] - centre.pointer[$0]) }
                    let shift = centred.reduce(0) { $0 + $1 * $1 }
                    for c in 0..<centroids.count {
                        let truth = zip(row, centroids[c]).reduce(0.0) { $0 + (Double($1.0) - Double($1.1)) * (Double($1.0) - Double($1.1)) }
                        #expect(abs(Double(scores[member][c]) - (truth - shift)) <= terms[member].error,
                                "dim \(dim) offset \(offset) row \(group * 8 + member) centroid \(c)")
                    }
                }
            }
        }
    }

    /// A query equal to a dataset vector whose code sits at the norm limit: D = |x'|² is within
    /// 0.01% of 2³¹ − 1, and every kernel build must still return the exact sum (no wrap).
    @Test func sumsAtTheIntegerLimitAreExact() {
        let dim = 4096
        let vector: [Float] = (0..<dim).map { $0 % 3 == 0 ? -0.5 : 0.5 }
        let panels = QuantizedPanelMatrix(data: VectorMatrix([vector]), metric: .ip)
        var words = [Int32](repeating: 0, count: panels.pairs * 8)
        var scales = [Float](repeating: 0, count: 8)
        for i in 0..<8 {
            let code = vector.withUnsafeBufferPointer { source in
                words.withUnsafeMutableBufferPointer { Int16Quantization.encode(source.baseAddress!, dim: dim, negate: i % 2 == 1, into: $0.baseAddress! + i, stride: 8) }
            }
            scales[i] = code.inverseScale
        }
        var exact: Int64 = 0
        for j in 0..<panels.pairs {
            let word = panels.words.pointer[j * 16]
            let low = Int64(Int16(truncatingIfNeeded: word)), high = Int64(Int16(truncatingIfNeeded: word >> 16))
            exact += low * low + high * high
        }
        #expect(exact > 2_147_000_000 && exact <= Int64(Int32.max))
        let thresholds = [Float](repeating: .infinity, count: 8)
        for kernel in KernelVariant.supported {
            var scores = [Float](repeating: .nan, count: 8)
            kernel.quantizedScan(queries: words, queryScales: scales, pairs: panels.pairs, panels: panels.words.pointer,
                                 panelScales: panels.scales.pointer, bias: panels.bias.pointer, panelCount: panels.panelCount,
                                 thresholds: thresholds) { query, panel, lanes in
                if panel == 0 { scores[query] = lanes[0] }
            }
            for q in 0..<8 {
                let sum = Float(q % 2 == 1 ? -exact : exact)
                #expect(scores[q].bitPattern == (sum * panels.scales.pointer[0] * scales[q]).bitPattern, "\(kernel) query \(q)")
            }
        }
    }
}
