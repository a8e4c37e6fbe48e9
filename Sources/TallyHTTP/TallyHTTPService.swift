import Foundation
import GRDB
import Logging
import TallyCore

/// What Tally's routes share: one engine (with its cache), the ETag salt,
/// and where `/metrics` text comes from.
///
/// For example, in a host application:
///
/// ```swift
/// let pool = try TallyDatabase.openReadOnly(path: "tally.sqlite")
/// let service = TallyHTTPService(engine: TallyEngine(reader: pool))
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
    /// Distinguishes this process's ETags: data versions restart with the
    /// process, so an ETag from a previous run must never match.
    let salt: String

    public init(engine: TallyEngine, logger: Logger = Logger(label: "tally.http"),
                metricsText: (@Sendable () -> String)? = nil, maxAge: Int = 5) {
        self.engine = engine
        self.logger = logger
        self.metricsText = metricsText
        self.maxAge = maxAge
        salt = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// A strong ETag for a cache key at the current data version, or nil
    /// when the engine has no cache to vouch for the version.
    func etag(for key: String) throws -> String? {
        guard let version = try engine.cache?.currentVersion() else { return nil }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return "\"\(salt)-\(String(hash, radix: 36))-\(version)\""
    }
}
