public import Foundation
public import TallyCore

/// Everything an offline report shows, read from one snapshot.
public struct ReportData: Sendable, Codable, Equatable {
    public var dashboard: Dashboard
    public var revenue: Revenue
    /// Organizations with the most active modules (ties by id), at most `topCount`.
    public var topOrganizations: [ModuleCounts.Organization]
    /// The database file's name (not its path).
    public var databaseName: String
    public var tallyVersion: String
    /// ISO 8601 UTC; the only part of a report that changes between runs on the same data.
    public var generatedAt: String
    /// Whether the revenue's `from` / `to` were asked for, rather than the data's own.
    public var fromRequested: Bool
    public var toRequested: Bool
    /// The first and last completed payment's `createdAt` (ISO 8601 UTC, or
    /// the stored milliseconds when outside the years 0000–9999); nil
    /// without completed payments.
    public var firstCompletedPayment: String?
    public var lastCompletedPayment: String?

    public static let topCount = 10

    /// Reads the dashboard, revenue and module counts in one read transaction.
    public static func collect(
        engine: TallyEngine, query: RevenueQuery, databaseName: String,
        tallyVersion: String, now: Date = Date()
    ) async throws -> ReportData {
        let (data, _) = try await engine.snapshot(kind: "report", strategy: .auto, tables: TallyEngine.dashboardTables) {
            db, strategy, execution in
            var dashboard = try TallyEngine.dashboard(in: db, strategy: strategy, execution: execution)
            dashboard.meta = ResponseMeta()
            dashboard.meta.absent = engine.database.absent.isEmpty ? nil : engine.database.absent
            var revenue = try TallyEngine.revenue(query, in: db, strategy: strategy, execution: execution)
            revenue.meta = ResponseMeta()
            let organizations = try TallyEngine.moduleCounts(
                ids: nil, strategy: strategy == .rollup ? .rollup : .grouped,
                in: db, execution: execution)
            let top = organizations.sorted { ($0.activeModules, $1.id) > ($1.activeModules, $0.id) }.prefix(topCount)
            let (first, last) = try query.dataRange(in: db, execution: execution)
            return (
                ReportData(
                    dashboard: dashboard, revenue: revenue, topOrganizations: Array(top),
                    databaseName: databaseName, tallyVersion: tallyVersion,
                    generatedAt: ISOTimestamp.string(now), fromRequested: query.from != nil,
                    toRequested: query.to != nil, firstCompletedPayment: first.map(timestamp),
                    lastCompletedPayment: last.map(timestamp)), []
            )
        }
        return data
    }

    /// A stored `createdAt` (milliseconds) as ISO 8601 UTC, or as the number
    /// when no calendar date represents it.
    static func timestamp(_ milliseconds: Double) -> String {
        guard milliseconds.isFinite, Double(Zone.supportedRange.lowerBound)...Double(Zone.supportedRange.upperBound) ~= milliseconds else {
            return "\(milliseconds) ms"
        }
        return ISOTimestamp.string(Date(timeIntervalSince1970: (milliseconds / 1_000).rounded(.down)))
    }
}
