public import TallyCore

/// Per-request latency of the cache in front of the engine, in-process:
/// each request timed on its own, so that medians and p99 are real.
public enum CacheBenchmark {
    public struct Case: Sendable, Codable, Equatable {
        public var name: String
        /// Microseconds per request, sorted.
        public var samples: [Double]

        public func percentile(_ p: Double) -> Double {
            guard !samples.isEmpty else { return 0 }
            return samples[min(samples.count - 1, Int((Double(samples.count) * p).rounded(.down)))]
        }
        public var median: Double { percentile(0.5) }
        public var p99: Double { percentile(0.99) }
    }

    /// Plain hits (TTL only), validated hits (`data_version` checked first),
    /// the check alone, and misses (computed each time).
    public static func measure(database: TallyDatabase, requests: Int = 2_000) async throws -> [Case] {
        let plain = TallyEngine(database: database, cache: .using(StatsCache(ttlOnly: CachePolicy())))
        let validatedCache = StatsCache(database: database)
        let validated = TallyEngine(database: database, cache: .using(validatedCache))
        _ = try await plain.dashboard()
        _ = try await validated.dashboard()

        func time(_ name: String, _ count: Int, _ body: () async throws -> Void) async rethrows -> Case {
            var samples: [Double] = []
            samples.reserveCapacity(count)
            for _ in 0..<count {
                let start = ContinuousClock.now
                try await body()
                samples.append((ContinuousClock.now - start) / .microseconds(1))
            }
            return Case(name: name, samples: samples.sorted())
        }
        return [
            try await time("cache.hit-plain", requests) { _ = try await plain.dashboard() },
            try await time("cache.hit-validated", requests) { _ = try await validated.dashboard() },
            try await time("cache.change-check", requests) { try validatedCache.refresh() },
            try await time("cache.miss", 5) {
                validatedCache.invalidateAll()
                _ = try await validated.dashboard()
            },
        ]
    }
}
