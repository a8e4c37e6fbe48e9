import GRDB

/// Active modules per organization, contract §4: every organization, those
/// without an active module too (0).
public struct ModuleCounts: Codable, Sendable, Equatable {
    public struct Organization: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var activeModules: Int64
    }

    public var organizations: [Organization]
    public var meta = ResponseMeta()

    /// The stat behind module counts: active modules grouped by organization.
    /// The module strategies compile it into a join with `organizations`, so
    /// that organizations without modules are listed with 0.
    public static let stat = Stat(name: "modules.activeByOrganization", table: "modules",
                                  filters: [.equals("isActive", .integer(1))], groupBy: ["organizationId"])

    /// SQLite's historical default limit of bound parameters is 999; chunks
    /// stay well under it on any build.
    static let chunkSize = 500

    /// Runs the `batched` or `per-org` strategy in one snapshot.
    ///
    /// - parameter ids: the organizations to count, in any order, or nil for all.
    /// - throws: `TallyError.invalidInput` naming an organization that does not exist.
    public static func compute(ids: [String]?, strategy: ModuleStrategy, in db: Database) throws -> [Organization] {
        let organizations: [Organization]
        switch strategy {
        case .batched:
            organizations = try batched(ids: ids, in: db)
        case .perOrg:
            organizations = try perOrganization(ids: ids, in: db)
        }
        if let ids {
            let found = Set(organizations.map(\.id))
            if let missing = ids.first(where: { !found.contains($0) }) {
                throw TallyError.invalid("unknown organization '\(missing.sanitizedForMessage)'")
            }
        }
        return organizations
    }

    /// `SELECT o.id, o.name, COUNT(m.id) … LEFT JOIN modules … GROUP BY o.id`:
    /// one statement for all organizations, or one per chunk of requested ids.
    static func batchedSQL(idCount: Int?) -> String {
        let join = stat.filters.map { "m.\($0.column) = ?" }.joined(separator: " AND ")
        var sql = "SELECT o.id, o.name, COUNT(m.id) FROM organizations o LEFT JOIN \(stat.table) m"
            + " ON m.\(stat.groupBy[0]) = o.id AND \(join)"
        if let idCount { sql += " WHERE o.id IN (\(Array(repeating: "?", count: idCount).joined(separator: ", ")))" }
        return sql + " GROUP BY o.id ORDER BY o.id"
    }

    static var filterArguments: [DatabaseValue] { stat.filters.map { $0.value.databaseValue } }

    static func batched(ids: [String]?, in db: Database) throws -> [Organization] {
        guard let ids else {
            return try fetch(db, sql: batchedSQL(idCount: nil), arguments: StatementArguments(filterArguments))
        }
        let unique = Array(Set(ids)).sorted()
        var result: [Organization] = []
        var start = 0
        while start < unique.count {
            let chunk = unique[start..<min(start + chunkSize, unique.count)]
            result += try fetch(db, sql: batchedSQL(idCount: chunk.count),
                                arguments: StatementArguments(filterArguments + chunk.map(\.databaseValue)))
            start += chunkSize
        }
        return result.sorted { $0.id < $1.id }
    }

    static let perOrganizationSQL = "SELECT COUNT(*) FROM \(stat.table) WHERE \(stat.groupBy[0]) = ? AND "
        + stat.filters.map { "\($0.column) = ?" }.joined(separator: " AND ")

    /// The N+1 pattern: list the organizations, then one count per organization.
    static func perOrganization(ids: [String]?, in db: Database) throws -> [Organization] {
        var organizations: [(id: String, name: String)] = []
        if let ids {
            for id in Array(Set(ids)).sorted() {
                if let row = try Row.fetchOne(db, sql: "SELECT id, name FROM organizations WHERE id = ?", arguments: [id]) {
                    organizations.append((text(row[0]), text(row[1])))
                }
            }
        } else {
            organizations = try Row.fetchAll(db, sql: "SELECT id, name FROM organizations ORDER BY id").map {
                (text($0[0]), text($0[1]))
            }
        }
        let statement = try db.cachedStatement(sql: perOrganizationSQL)
        return try organizations.map { org in
            let count = try Int64.fetchOne(statement, arguments: StatementArguments([org.id.databaseValue] + filterArguments)) ?? 0
            return Organization(id: org.id, name: org.name, activeModules: count)
        }
    }

    private static func fetch(_ db: Database, sql: String, arguments: StatementArguments) throws -> [Organization] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map {
            Organization(id: text($0[0]), name: text($0[1]), activeModules: $0[2])
        }
    }

    /// Text of a value in a foreign database, where an id may be an integer
    /// or a name NULL: never a crash on a type the contract did not promise.
    private static func text(_ value: DatabaseValue) -> String {
        StatValue(value).description
    }
}
