public import ServiceLifecycle

/// Periodically removes expired cache entries. Optional: reads already
/// ignore and replace expired entries, so a one-shot CLI run needs no
/// sweeper; a long-running server adds one to its `ServiceGroup` so that
/// entries nobody asks for again do not hold memory until evicted.
///
/// For example:
///
/// ```swift
/// let group = ServiceGroup(services: [app, CacheSweeper(cache: cache)], logger: logger)
/// try await group.run()
/// ```
public struct CacheSweeper: Service {
    public let cache: StatsCache
    public let interval: Duration

    public init(cache: StatsCache, interval: Duration = .seconds(30)) {
        self.cache = cache
        self.interval = interval
    }

    /// Sweeps every `interval` until graceful shutdown or cancellation,
    /// then returns normally: stopping is not a failure.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                cache.sweep()
            }
        }
    }
}
