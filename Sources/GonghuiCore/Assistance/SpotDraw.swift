/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny generator whose whole state is one 64-bit
/// number, so a seed written down repeats the same sequence on any machine and any Swift version.
/// The system generator cannot be seeded and is not used for draws anyone must be able to repeat.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound without modulo bias (Lemire's rejection on the low product).
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let threshold = (0 &- bound) % bound
        while true {
            let r = next()
            let (high, low) = r.multipliedFullWidth(by: bound)
            if low >= threshold { return high }
        }
    }
}

/// The spot check's draw (抽查): at least `share` of the files, chosen by a partial Fisher–Yates
/// shuffle driven by `SplitMix64(seed)` over the ids sorted ascending. The same seed and the same
/// list of files give the same draw, which is how an inspector repeats it.
public enum SpotDraw {
    /// How many files a share asks for: rounded up, at least one when there are any.
    public static func count(of total: Int, share: Double) -> Int {
        guard total > 0 else { return 0 }
        let wanted = (Double(total) * share - 1e-9).rounded(.up)
        return min(total, max(1, Int(wanted)))
    }

    /// The ids drawn, in the order drawn.
    public static func draw(_ ids: [Int], share: Double, seed: UInt64) -> [Int] {
        var pool = ids.sorted()
        let n = count(of: pool.count, share: share)
        var rng = SplitMix64(seed: seed)
        for i in 0..<n {
            let j = i + Int(rng.below(UInt64(pool.count - i)))
            pool.swapAt(i, j)
        }
        return Array(pool.prefix(n))
    }
}
