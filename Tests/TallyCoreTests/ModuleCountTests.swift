import Foundation
import GRDB
import TallyTestSupport
import Testing

@testable import TallyCore

@Suite("Module counts")
struct ModuleCountTests {
    @Test("batched runs one statement per 500 organizations, per-org one per organization; same answers")
    func statementCounts() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 600)
        try await database.writer!.write { (db: Database) throws in
            // 1,200 more organizations, every third without modules.
            for i in 0..<1_200 {
                try db.execute(sql: "INSERT INTO organizations (id, name, createdAt) VALUES (?, ?, 0)", arguments: ["org-\(i)", "Org \(i)"])
                for k in 0..<(i % 3) {
                    try db.execute(
                        sql: "INSERT INTO modules (organizationId, key, isActive, createdAt) VALUES (?, ?, ?, 0)",
                        arguments: ["org-\(i)", "m\(k)", k == 0 ? 1 : 0])
                }
            }
        }
        let recorder = try SQLRecorder(path: database.path)
        let engine = TallyEngine(database: recorder.database, cache: .disabled)
        let all = try await recorder.database.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM organizations")! }

        recorder.reset()
        let batched = try await engine.moduleCounts(strategy: .batched)
        #expect(recorder.dataStatements.count == 2, "the list and one GROUP BY: \(recorder.dataStatements)")
        #expect(batched.meta.statements == 2 && batched.meta.strategy == "batched")

        recorder.reset()
        let perOrg = try await engine.moduleCounts(strategy: .perOrg)
        #expect(recorder.dataStatements.count == 1 + all, "N+1")
        #expect(perOrg.meta.statements == 1 + all && perOrg.meta.strategy == "per-org")
        #expect(batched.organizations == perOrg.organizations)
        #expect(batched.organizations.count == all)

        // Independent: a plain SQL count per organization.
        try await recorder.database.reader.read { db in
            for org in batched.organizations.prefix(60) {
                let n = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM modules WHERE organizationId = ? AND isActive = 1", arguments: [org.id])
                #expect(org.activeModules == n)
            }
        }
        #expect(batched.organizations.first { $0.id == "org-0" }?.activeModules == 0)
        #expect(batched.organizations.first { $0.id == "org-2" }?.activeModules == 1)

        let ids = (0..<1_200).map { "org-\($0)" }
        recorder.reset()
        let chunked = try await engine.moduleCounts(organizations: ids, strategy: .batched)
        #expect(recorder.dataStatements.count == 6, "3 list chunks, 3 GROUP BY chunks (500 + 500 + 200)")
        #expect(chunked.organizations.count == 1_200)
        #expect(chunked.organizations == batched.organizations.filter { $0.id.hasPrefix("org-") })
        let ten = Set(ids.prefix(10))
        let page = try await engine.moduleCounts(organizations: Array(ten), strategy: .perOrg)
        #expect(page.organizations == chunked.organizations.filter { ten.contains($0.id) })

        let error = await #expect(throws: TallyError.self) { _ = try await engine.moduleCounts(organizations: ["org-1", "nope"]) }
        #expect(error?.kind == .notFound)
    }
}
