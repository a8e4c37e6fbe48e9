import Foundation
import GRDB
import MetricsTestKit
import TallyTestSupport
import Testing

@testable import TallyCore

/// The engine's and cache's swift-metrics instruments, asserted through
/// `TestMetrics` (a factory per test: no global bootstrap, no interference
/// between tests running at once).
@Suite("Metrics")
struct MetricsTests {
    @Test("computations are counted by kind and strategy, with their statements and rows; no series for what never ran")
    func engineMetrics() async throws {
        let dir = try TemporaryDirectory()
        let path = try generatedDatabase(in: dir, bookings: 500).path
        let metrics = TestMetrics()
        let database = try TallyDatabase.openReadOnly(path: path, metricsFactory: metrics)
        let engine = TallyEngine(database: database)
        _ = try await engine.dashboard(strategy: .singlePass)
        _ = try await engine.dashboard(strategy: .singlePass)  // a hit: nothing computed
        _ = try await engine.dashboard(strategy: .grouped)
        _ = try await engine.moduleCounts(strategy: .perOrg)
        let singlePass = [("kind", "dashboard"), ("strategy", "single-pass")]
        #expect(try metrics.expectCounter(TallyMetrics.engineRequests, singlePass).totalValue == 1)
        #expect(try metrics.expectCounter(TallyMetrics.engineStatements, singlePass).totalValue == 7)
        #expect(try metrics.expectTimer(TallyMetrics.engineDuration, singlePass).values.count == 1)
        #expect(try metrics.expectCounter(TallyMetrics.engineRequests, [("kind", "dashboard"), ("strategy", "grouped")]).totalValue == 1)
        #expect(try metrics.expectCounter(TallyMetrics.engineRequests, [("kind", "modules"), ("strategy", "per-org")]).totalValue == 1)
        #expect(metrics.counters(label: TallyMetrics.engineRequests).count == 3, "no series for combinations that never ran")
        #expect(try metrics.expectCounter(TallyMetrics.engineRowsScanned).totalValue > 500)
        #expect(try metrics.expectCounter(TallyMetrics.cacheHits).totalValue == 1)
        #expect(try metrics.expectCounter(TallyMetrics.cacheMisses).totalValue == 3)
        #expect(try metrics.expectGauge(TallyMetrics.cacheEntries).lastValue == 3)
    }
}
