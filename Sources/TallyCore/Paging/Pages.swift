import GRDB

/// One page of bookings, newest first (keyset pagination on `(createdAt, id)`).
public struct BookingsPage: Codable, Sendable, Equatable {
    public struct Booking: Codable, Sendable, Equatable {
        public var id: Int64
        public var userId: Int64
        public var driverId: Int64?
        public var vehicleId: Int64?
        public var serviceType: String
        public var status: String
        public var price: Int64
        public var scheduledDate: Int64
        public var createdAt: Int64
    }

    public var bookings: [Booking]
    /// Pass back as `cursor` for the next page; nil on the last page.
    public var nextCursor: String?

    public static let maximumLimit = 1_000

    /// Validates `limit` (1…1000).
    public static func checkLimit(_ limit: Int) throws {
        guard (1...maximumLimit).contains(limit) else {
            throw TallyError.invalid("limit must be between 1 and \(maximumLimit), got \(limit)")
        }
    }

    /// The SQL of a page: `idx_bookings_createdAt` (or `idx_bookings_status_createdAt`
    /// with a status) serves the order and the keyset condition; the rowid
    /// (`id`) is the index's implicit last column, so `(createdAt, id)` is one
    /// index range, with no sort.
    static func sql(status: Bool, after: Bool) -> String {
        var conditions: [String] = []
        if status { conditions.append("status = ?") }
        if after { conditions.append("(createdAt < ? OR (createdAt = ? AND id < ?))") }
        return "SELECT id, userId, driverId, vehicleId, serviceType, status, price, scheduledDate, createdAt FROM bookings"
            + StatSQL.whereClause(conditions) + " ORDER BY createdAt DESC, id DESC LIMIT ?"
    }

    /// Reads one page. Rows inserted after the first page with an older key
    /// than the cursor would appear; rows existing before are never skipped
    /// or repeated: the cursor is a position in the sort order, not an offset.
    public static func fetch(limit: Int, cursor: String?, status: String?, in db: Database) throws -> BookingsPage {
        try checkLimit(limit)
        if let status, !(TallySchema.enumValues["bookings.status"] ?? []).contains(status) {
            let shown = status.count > 40 ? String(status.prefix(40)) + "…" : status
            throw TallyError.invalid("unknown status '\(shown.sanitizedForMessage)'; expected one of \((TallySchema.enumValues["bookings.status"] ?? []).joined(separator: ", "))")
        }
        var arguments: [DatabaseValueConvertible] = []
        if let status { arguments.append(status) }
        if let cursor {
            let key = try Cursor.parseBookings(cursor)
            arguments += [key.createdAt, key.createdAt, key.id]
        }
        arguments.append(limit + 1)
        let rows = try Row.fetchAll(db, sql: sql(status: status != nil, after: cursor != nil), arguments: StatementArguments(arguments))
        let bookings = rows.prefix(limit).map { row in
            Booking(id: row[0], userId: Int64.fromDatabaseValue(row[1]) ?? 0, driverId: row[2], vehicleId: row[3],
                    serviceType: StatValue(row[4] as DatabaseValue).description, status: StatValue(row[5] as DatabaseValue).description,
                    price: Int64.fromDatabaseValue(row[6]) ?? 0, scheduledDate: Int64.fromDatabaseValue(row[7]) ?? 0,
                    createdAt: Int64.fromDatabaseValue(row[8]) ?? 0)
        }
        let next = rows.count > limit ? bookings.last.map { Cursor.bookings(createdAt: $0.createdAt, id: $0.id) } : nil
        return BookingsPage(bookings: Array(bookings), nextCursor: next)
    }
}

/// One page of organizations with their active module counts, in id order
/// (keyset on the primary key), the counts batched: one query per page.
public struct OrganizationsPage: Codable, Sendable, Equatable {
    public var organizations: [ModuleCounts.Organization]
    public var nextCursor: String?

    public static func fetch(limit: Int, cursor: String?, in db: Database) throws -> OrganizationsPage {
        try BookingsPage.checkLimit(limit)
        var sql = "SELECT id FROM organizations"
        var arguments: [DatabaseValueConvertible] = []
        if let cursor {
            sql += " WHERE id > ?"
            arguments.append(try Cursor.parseOrganizations(cursor))
        }
        sql += " ORDER BY id LIMIT ?"
        arguments.append(limit + 1)
        let ids = try DatabaseValue.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { StatValue($0).description }
        let page = Array(ids.prefix(limit))
        let organizations = page.isEmpty ? [] : try ModuleCounts.compute(ids: page, strategy: .batched, in: db)
        let next = ids.count > limit ? page.last.map(Cursor.organizations) : nil
        return OrganizationsPage(organizations: organizations, nextCursor: next)
    }
}
