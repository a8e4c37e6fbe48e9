import Foundation
import GRDB
import Testing
@testable import TallyCore

@Suite("Module counts")
struct ModuleCountTests {
    /// Counts the SQL statements a block runs on `db`.
    static func statements(_ db: Database, _ block: () throws -> Void) rethrows -> [String] {
        let lock = NSLock()
        nonisolated(unsafe) var traced: [String] = []
        db.trace { event in lock.withLock { traced.append(event.description) } }
        defer { db.trace(nil) }
        try block()
        return lock.withLock { traced }
    }

    @Test("batched runs one statement per 500 organizations, per-org one per organization; same answers")
    func statementCounts() throws {
        let dir = try TemporaryDirectory()
        let pool = try generatedDatabase(in: dir, bookings: 600_000 / 500 * 500 / 1000)  // tiny base data
        try pool.write { (db: Database) throws in
            // 1,200 organizations, every third without modules.
            for i in 0..<1_200 {
                try db.execute(sql: "INSERT INTO organizations (id, name, createdAt) VALUES (?, ?, 0)", arguments: ["org-\(i)", "Org \(i)"])
                for k in 0..<(i % 3) {
                    try db.execute(sql: "INSERT INTO modules (organizationId, key, isActive, createdAt) VALUES (?, ?, ?, 0)",
                                   arguments: ["org-\(i)", "m\(k)", k == 0 ? 1 : 0])
                }
            }
        }
        try pool.read { (db: Database) throws in
            let all = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM organizations")!
            var batched: [ModuleCounts.Organization] = [], perOrg: [ModuleCounts.Organization] = []
            let b = try Self.statements(db) { batched = try ModuleCounts.compute(ids: nil, strategy: .batched, in: db) }
            let p = try Self.statements(db) { perOrg = try ModuleCounts.compute(ids: nil, strategy: .perOrg, in: db) }
            #expect(b.count == 1)
            #expect(p.count == 1 + all)
            #expect(batched == perOrg)
            #expect(batched.count == all)
            // Independent: a plain SQL count per organization.
            for org in batched.prefix(50) {
                let n = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM modules WHERE organizationId = ? AND isActive = 1", arguments: [org.id])
                #expect(org.activeModules == n)
            }
            #expect(batched.first { $0.id == "org-0" }?.activeModules == 0)
            #expect(batched.first { $0.id == "org-2" }?.activeModules == 1)

            let ids = (0..<1_200).map { "org-\($0)" }
            var chunked: [ModuleCounts.Organization] = []
            let c = try Self.statements(db) { chunked = try ModuleCounts.compute(ids: ids, strategy: .batched, in: db) }
            #expect(c.count == 3)  // 500 + 500 + 200
            #expect(chunked.count == 1_200)
            #expect(chunked == batched.filter { $0.id.hasPrefix("org-") })
            #expect(throws: TallyError.self) { _ = try ModuleCounts.compute(ids: ["org-1", "nope"], strategy: .batched, in: db) }
        }
    }
}
