import Foundation
import GRDB
import TallyTestSupport
import Testing

@testable import TallyCore

@Suite("Schema")
struct SchemaTests {
    /// The repository root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the binary embeds exactly schema.sql")
    func embeddedSchemaMatchesFile() throws {
        let file = try String(contentsOf: Self.root.appendingPathComponent("schema.sql"), encoding: .utf8)
        #expect(TallySchema.sql + "\n" == file || TallySchema.sql == file)
    }

    @Test("schema.sql declares exactly the documented indexes")
    func documentedIndexesMatchSchema() {
        let lines = TallySchema.sql.split(separator: "\n").filter { $0.hasPrefix("CREATE INDEX") }.map(String.init)
        #expect(lines == TallySchema.documentedIndexes.map(\.createSQL))
        #expect(Set(TallySchema.documentedIndexes.map(\.name)).count == 19)
    }

    @Test("init creates every table, column and documented index of the contract")
    func initCreatesContract() throws {
        let dir = try TemporaryDirectory()
        let pool = try TallyDatabase.openForWriting(path: dir.path("a.sqlite")).writer!
        let expected: [String: [String]] = [
            "users": ["id", "email", "name", "role", "isActive", "createdAt"],
            "drivers": ["id", "userId", "isAvailable", "rating", "createdAt"],
            "vehicles": ["id", "driverId", "type", "plate", "isAvailable", "createdAt"],
            "bookings": ["id", "userId", "driverId", "vehicleId", "serviceType", "status", "price", "scheduledDate", "createdAt"],
            "payments": ["id", "bookingId", "amount", "status", "createdAt"],
            "organizations": ["id", "name", "createdAt"],
            "modules": ["id", "organizationId", "key", "isActive", "createdAt"],
        ]
        try pool.read { (db: Database) throws in
            for (table, columns) in expected {
                let found = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table])
                #expect(found == columns, "columns of \(table)")
            }
            let indexes = try Row.fetchAll(db, sql: "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            let names = Set(indexes.map { $0[0] as String })
            #expect(names == Set(TallySchema.documentedIndexes.map(\.name)))
            for index in TallySchema.documentedIndexes {
                let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [index.name])
                #expect(columns == index.columns, "columns of \(index.name)")
                let listed = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?)", arguments: [index.table])
                #expect(listed.contains(index.name))
            }
            // The CHECKs are there: an unknown status is refused.
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO users (email, role, createdAt) VALUES ('x@y', 'ROOT', 0)")
            }
        }
    }

    @Test("indexes drop then apply round-trips, and status reports extras")
    func indexesRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let pool = try TallyDatabase.openForWriting(path: dir.path("a.sqlite")).writer!
        try pool.write { (db: Database) throws in
            #expect(try IndexManager.status(db).allPresent)
            try IndexManager.drop(db)
            #expect(try IndexManager.status(db).nonePresent)
            try db.execute(sql: "CREATE INDEX mine ON bookings(price)")
            try IndexManager.apply(db)
            let status = try IndexManager.status(db)
            #expect(status.allPresent)
            #expect(status.extra == ["mine"])
            // ANALYZE ran.
            #expect(try Bool.fetchOne(db, sql: "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'") == true)
        }
    }

    @Test("an index named like a documented one but defined otherwise is reported, never dropped or counted")
    func indexDefinitionsCompared() throws {
        let dir = try TemporaryDirectory()
        let pool = try TallyDatabase.openForWriting(path: dir.path("a.sqlite")).writer!
        try pool.write { (db: Database) throws in
            try db.execute(sql: "DROP INDEX idx_users_role; CREATE INDEX idx_users_role ON users(email)")
            let status = try IndexManager.status(db)
            let entry = try #require(status.documented.first { $0.name == "idx_users_role" })
            #expect(entry.state == "different")
            #expect(entry.note?.contains("users(email)") == true)
            #expect(status.conflicts.count == 1)
            try IndexManager.drop(db)
            // The user's index survives a drop; every documented one is gone.
            #expect(try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'idx_users_role'")?.contains("email") == true)
            #expect(try IndexManager.status(db).documented.filter { $0.state == "present" }.isEmpty)
            try IndexManager.apply(db)
            #expect(try IndexManager.status(db).documented.filter { $0.state != "present" }.map(\.name) == ["idx_users_role"])
        }
    }

    @Test("--no-indexes creates the tables without the documented indexes")
    func noIndexes() throws {
        let dir = try TemporaryDirectory()
        let pool = try TallyDatabase.openForWriting(path: dir.path("a.sqlite"), withIndexes: false).writer!
        try pool.read { (db: Database) throws in
            #expect(try IndexManager.status(db).nonePresent)
            #expect(try db.tableExists("modules"))
        }
    }

    @Test("a file that is not a Tally database is refused and left untouched")
    func refusesForeignFiles() throws {
        let dir = try TemporaryDirectory()
        let text = dir.path("notes.txt")
        try Data("hello, not a database\n".utf8).write(to: URL(fileURLWithPath: text))
        #expect(throws: TallyError.self) { try TallyDatabase.openForWriting(path: text) }
        #expect(try String(contentsOfFile: text, encoding: .utf8) == "hello, not a database\n")

        let foreign = dir.path("foreign.sqlite")
        let queue = try DatabaseQueue(path: foreign)
        try queue.write { try $0.execute(sql: "CREATE TABLE other (x)") }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))
        #expect(throws: TallyError.self) { try TallyDatabase.openForWriting(path: foreign) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == before)

        #expect(throws: TallyError.self) { try TallyDatabase.openForWriting(path: dir.path("missing/dir/a.sqlite")) }
        #expect(!FileManager.default.fileExists(atPath: dir.path("missing")))
    }

    @Test("opening read-only names the missing table or column")
    func missingColumn() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("partial.sqlite")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            let withoutAmount = TallySchema.tablesSQL.replacingOccurrences(of: "  amount    INTEGER NOT NULL CHECK (amount >= 0),\n", with: "")
            #expect(withoutAmount != TallySchema.tablesSQL)
            try db.execute(sql: withoutAmount)
        }
        try queue.close()
        let error = #expect(throws: TallyError.self) { try TallyDatabase.openReadOnly(path: path) }
        #expect(error?.message.contains("payments") == true)
        #expect(error?.message.contains("amount") == true)
    }
}
