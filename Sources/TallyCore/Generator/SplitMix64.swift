/// A small, fast, seeded pseudo-random generator (Steele, Lea & Flood, 2014).
///
/// The generator needs the same numbers on every machine and Swift version,
/// which the system generator does not promise; SplitMix64 is fully specified
/// by its 64-bit arithmetic.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) {
        state = seed
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-high reduction; the
    /// tiny bias is irrelevant for synthetic data and keeps it deterministic).
    package mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform integer in `range`.
    mutating func int(in range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(below(Int(range.upperBound - range.lowerBound) + 1))
    }

    /// A uniform double in `[0, 1)` with 53 random bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// An index into `weights`, chosen with probability proportional to its weight.
    mutating func pick(_ cumulative: WeightedChoice) -> Int {
        let r = below(cumulative.total)
        var i = 0
        while r >= cumulative.thresholds[i] { i += 1 }
        return i
    }
}

/// Precomputed cumulative weights for `SplitMix64.pick(_:)`.
struct WeightedChoice: Sendable {
    let thresholds: [Int]
    let total: Int

    init(_ weights: [Int]) {
        var sum = 0
        thresholds = weights.map {
            sum += $0; return sum
        }
        total = sum
    }
}
