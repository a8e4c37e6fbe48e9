import GRDB

/// Active modules per organization, contract §4: every organization (or
/// those asked for), those without an active module too (0).
///
/// The count is a stat (`activeByOrganization`), computed by any strategy:
/// `batched` is its `grouped` form (one `GROUP BY`, per 500 organizations
/// asked for), `per-org` its `naive` form (one `COUNT` per organization: the
/// N+1 pattern), `rollup` reads the rollup table.
public struct ModuleCounts: Codable, Sendable, Equatable {
    public struct Organization: Codable, Sendable, Equatable {
        public var id: String
        /// nil only in a foreign database that stores a NULL name.
        public var name: String?
        public var activeModules: Int64

        public init(id: String, name: String?, activeModules: Int64) {
            self.id = id
            self.name = name
            self.activeModules = activeModules
        }

        enum CodingKeys: String, CodingKey { case id, name, activeModules }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)  // explicit null
            try c.encode(activeModules, forKey: .activeModules)
        }
    }

    public var organizations: [Organization]
    public var meta = ResponseMeta()

    /// Active modules grouped by organization; `ids` restricts it to some.
    public static func stat(ids: [StatValue]? = nil) -> Stat {
        Stat(
            name: "modules.activeByOrganization", table: "modules",
            filters: [.equals("isActive", .integer(1))] + (ids.map { [.oneOf("organizationId", $0)] } ?? []),
            groupBy: ["organizationId"])
    }

    /// Organizations listed per statement when ids are given.
    static let chunkSize = 500

    /// The organizations and their counts, in one snapshot.
    ///
    /// - parameter ids: the organizations to count, in any order, or nil for all.
    /// - throws: `TallyError.Kind.notFound` naming an organization that does not exist.
    static func compute(ids: [String]?, strategy: Strategy, in db: Database, execution: Execution) throws -> [Organization] {
        try compute(keys: ids.map { $0.map { StatValue.text($0) } }, strategy: strategy, in: db, execution: execution)
    }

    /// The same for ids as stored.
    static func compute(keys ids: [StatValue]?, strategy: Strategy, in db: Database, execution: Execution) throws -> [Organization] {
        let organizations = try list(ids: ids, in: db, execution: execution)
        if let ids {
            let found = Set(organizations.map(\.id))
            if let missing = ids.first(where: { !found.contains($0) }) {
                throw TallyError(.notFound, "unknown organization '\(missing.description.quotedForMessage())'")
            }
        }
        return try counts(of: organizations, restricted: ids != nil, strategy: strategy, in: db, execution: execution)
    }

    /// The organizations of a page, by rowid: each row once, whatever its id
    /// holds (a foreign file's blob, number or NULL, which a text id would
    /// not find; several NULL ids, which a lookup by id would all return).
    static func compute(rowids: [Int64], strategy: Strategy, in db: Database, execution: Execution) throws -> [Organization] {
        let organizations = try list(where: "rowid", in: rowids.map(\.databaseValue), orderBy: "id, rowid", in: db, execution: execution)
        return try counts(of: organizations, restricted: true, strategy: strategy, in: db, execution: execution)
    }

    /// The active module counts of `organizations`, counting only theirs
    /// when `restricted`.
    static func counts(
        of organizations: [(id: StatValue, name: String?)], restricted: Bool, strategy: Strategy, in db: Database, execution: Execution
    ) throws -> [Organization] {
        // The N+1 pattern counts each listed organization; the others count
        // what was asked (all of them: no filter).
        let restrict = restricted || strategy == .naive
        let stat = stat(ids: restrict ? organizations.map(\.id) : nil)
        guard !(restrict && organizations.isEmpty) else { return [] }
        let result = try TallyEngine.run([stat], in: db, strategy: strategy, execution: execution)[0]
        // One pass over the groups, then one lookup per organization (not a
        // pass per organization: 2,000 organizations made that 4M comparisons).
        var counts: [StatValue: Int64] = [:]
        for (key, values) in result.groups {
            if case .integer(let n) = values[0] { counts[key.values[0], default: 0] &+= n }
        }
        return organizations.map { organization in
            // As SQL's `modules.organizationId = organizations.id`: a NULL id
            // matches no module (the NULL group is modules without one).
            Organization(
                id: organization.id.description, name: organization.name,
                activeModules: organization.id == .null ? 0 : counts[organization.id] ?? 0)
        }
    }

    /// `SELECT id, name FROM organizations [WHERE id IN (…)] ORDER BY id`.
    static func list(ids: [StatValue]?, in db: Database, execution: Execution) throws -> [(id: StatValue, name: String?)] {
        guard let ids else { return try fetch("SELECT id, name FROM organizations ORDER BY id", [], in: db, execution: execution) }
        let unique = Array(Set(ids)).filter { $0 != .null }.sorted()
        var result: [(id: StatValue, name: String?)] = []
        // `IN (NULL)` finds nothing: a NULL id (a file without NOT NULL) is looked for as such.
        if ids.contains(.null) {
            result += try fetch("SELECT id, name FROM organizations WHERE id IS NULL", [], in: db, execution: execution)
        }
        result += try list(where: "id", in: unique.map(\.databaseValue), orderBy: "id", in: db, execution: execution)
        return result.sorted { $0.id < $1.id }
    }

    /// `SELECT id, name FROM organizations WHERE column IN (…) ORDER BY …`,
    /// `chunkSize` values per statement.
    static func list(
        where column: String, in values: [DatabaseValue], orderBy order: String, in db: Database, execution: Execution
    ) throws -> [(id: StatValue, name: String?)] {
        var result: [(id: StatValue, name: String?)] = []
        for start in stride(from: 0, to: values.count, by: chunkSize) {
            let chunk = values[start..<min(start + chunkSize, values.count)]
            let sql = "SELECT id, name FROM organizations WHERE \(column) IN (\(chunk.map { _ in "?" }.joined(separator: ", "))) ORDER BY \(order)"
            result += try fetch(sql, StatementArguments(Array(chunk)), in: db, execution: execution)
        }
        return result
    }

    /// One statement's organizations, each id as a group key and its name as text.
    static func fetch(
        _ sql: String, _ arguments: StatementArguments, in db: Database, execution: Execution
    ) throws -> [(id: StatValue, name: String?)] {
        try execution.checkCancellation()
        execution.ran()
        return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            let name = StatValue(row[1] as DatabaseValue)
            return (StatValue(key: row[0] as DatabaseValue), name == .null ? nil : name.description)
        }
    }
}
