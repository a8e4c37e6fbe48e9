extension Int64 {
    /// Division rounding toward negative infinity (instants before 1970).
    /// `d` must be positive.
    package func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && self < 0) ? q - 1 : q
    }
}

/// Exact comparison of an integer with a double, as SQLite compares them
/// (`sqlite3IntFloatCompare`): no rounding of either side.
///
/// - returns: -1, 0 or 1 as `i` is smaller, equal or larger than `r`.
package func compareExactly(_ i: Int64, _ r: Double) -> Int {
    if r.isNaN { return 1 }  // SQLite never stores NaN; any answer is consistent.
    if r >= 9_223_372_036_854_775_808.0 { return -1 }  // 2^63: above every Int64
    if r < -9_223_372_036_854_775_808.0 { return 1 }
    // |r| < 2^63: its integer part is exact in Int64.
    let truncated = r.rounded(.towardZero)
    let whole = Int64(truncated)
    if i != whole { return i < whole ? -1 : 1 }
    let fraction = r - truncated
    return fraction > 0 ? -1 : fraction < 0 ? 1 : 0
}
