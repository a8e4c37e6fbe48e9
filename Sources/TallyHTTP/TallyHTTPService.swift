import Foundation
public import Logging
public import TallyCore

/// What Tally's routes share: one engine (with its cache), the ETag salt,
/// and where `/metrics` text comes from.
///
/// For example, in a host application:
///
/// ```swift
/// let database = try TallyDatabase.openReadOnly(path: "tally.sqlite")
/// let service = TallyHTTPService(engine: TallyEngine(database: database))
/// let router = Router()
/// router.get("/") { _, _ in "my app" }
/// addTallyRoutes(to: router, atPath: "/stats", service: service)
/// ```
public struct TallyHTTPService: Sendable {
    public let engine: TallyEngine
    public let logger: Logger
    /// `/metrics` text (Prometheus exposition format); nil answers 404. Only
    /// the executable chooses a metrics backend, so it provides this.
    public let metricsText: (@Sendable () -> String)?
    /// `Cache-Control: private, max-age=…` of stats responses, in seconds.
    public let maxAge: Int
    /// Distinguishes this process's ETags when the file has no change
    /// counters: data versions are per connection and restart with the
    /// process, so such an ETag must never match another process's.
    let salt: String
    /// Answers' JSON without `meta`, reused while their ETag holds.
    let encodedAnswers = EncodedAnswers()

    public init(
        engine: TallyEngine, logger: Logger = Logger(label: "tally.http"),
        metricsText: (@Sendable () -> String)? = nil, maxAge: Int = 5
    ) {
        self.engine = engine
        self.logger = logger
        self.metricsText = metricsText
        self.maxAge = maxAge
        salt = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// A weak ETag for an answer: its key and the change counters of the
    /// tables it read (the same in every process on the file), or, without
    /// counters, this process's salt and the data version. Weak, because the
    /// body's `meta` differs between responses with the same numbers.
    func etag(key: String, stamp: StatsCache.Stamp?, dataVersion: Int64?) -> String? {
        let keyPart = FNV1a.base36(engine.database.cacheKey(key))
        if let stamp {
            let counters = stamp.counters.sorted { $0.key < $1.key }.map { String($0.value, radix: 36) }.joined(separator: ".")
            return "W/\"\(keyPart)-\(counters)\""
        }
        guard let dataVersion else { return nil }
        return "W/\"\(salt)-\(keyPart)-\(dataVersion)\""
    }

    /// The ETag an answer computed now would have (before computing it).
    func currentETag(key: String, tables: Set<String>) throws -> String? {
        let (stamp, dataVersion) = try engine.currentVersion(tables: tables)
        return etag(key: key, stamp: stamp, dataVersion: dataVersion)
    }
}
