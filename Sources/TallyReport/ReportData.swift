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

    public static let topCount = 10

    /// Reads the dashboard, revenue and module counts in one read transaction.
    public static func collect(engine: TallyEngine, query: RevenueQuery, databaseName: String,
                               tallyVersion: String, now: Date = Date()) async throws -> ReportData {
        let (data, _) = try await engine.snapshot(kind: "report", strategy: .auto, tables: TallyEngine.dashboardTables) {
            db, strategy, execution in
            var dashboard = try TallyEngine.dashboard(in: db, strategy: strategy, execution: execution)
            dashboard.meta = ResponseMeta()
            var revenue = try TallyEngine.revenue(query, in: db, strategy: strategy, execution: execution)
            revenue.meta = ResponseMeta()
            let organizations = try TallyEngine.moduleCounts(ids: nil, strategy: strategy == .rollup ? .rollup : .grouped,
                                                             in: db, execution: execution)
            let top = organizations.sorted { ($0.activeModules, $1.id) > ($1.activeModules, $0.id) }.prefix(topCount)
            return (ReportData(dashboard: dashboard, revenue: revenue, topOrganizations: Array(top),
                               databaseName: databaseName, tallyVersion: tallyVersion,
                               generatedAt: ISOTimestamp.string(now)), [])
        }
        return data
    }
}
