/// The cache's notion of time, injectable so that tests control TTL expiry.
///
/// For example, a test clock:
///
/// ```swift
/// final class ManualClock: CacheClock, @unchecked Sendable {
///     var seconds = 0.0
///     func now() -> Double { seconds }
/// }
/// ```
public protocol CacheClock: Sendable {
    /// Seconds since an arbitrary origin; never decreases.
    func now() -> Double
}

/// Monotonic time, unaffected by wall-clock changes.
public struct SystemCacheClock: CacheClock {
    private let origin = ContinuousClock.now

    public init() {}

    public func now() -> Double {
        (ContinuousClock.now - origin) / .seconds(1)
    }
}
