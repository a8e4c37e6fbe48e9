import GRDB

/// One page of bookings, newest first (keyset pagination on `(createdAt, id)`).
public struct BookingsPage: Codable, Sendable, Equatable {
    /// A booking as stored: every field present, `null` where empty,
    /// timestamps as ISO 8601 in UTC. A value of another storage class than
    /// the contract's (a foreign database) is given as stored.
    public struct Booking: Codable, Sendable, Equatable {
        public var id: StoredValue
        public var userId: StoredValue
        public var driverId: StoredValue
        public var vehicleId: StoredValue
        public var serviceType: StoredValue
        public var status: StoredValue
        public var price: StoredValue
        public var scheduledDate: StoredValue
        public var createdAt: StoredValue
    }

    public var bookings: [Booking]
    /// Pass back as `cursor` for the next page; nil on the last page.
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey { case bookings, nextCursor }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(bookings, forKey: .bookings)
        try c.encode(nextCursor, forKey: .nextCursor)  // explicit null
    }

    public static let maximumLimit = 1_000

    /// Validates `limit` (1…1000).
    public static func checkLimit(_ limit: Int) throws {
        guard (1...maximumLimit).contains(limit) else {
            throw TallyError.invalid("limit must be between 1 and \(maximumLimit), got \(limit)")
        }
    }

    static let columns = ["id", "userId", "driverId", "vehicleId", "serviceType", "status", "price", "scheduledDate", "createdAt"]

    /// The pager: `idx_bookings_createdAt` (or `idx_bookings_status_createdAt`
    /// with a status) serves the order and the keyset condition; the rowid
    /// (`id`) is the index's implicit last column, so `(createdAt, id)` is one
    /// index range, with no sort.
    static func pager(status: String?) -> KeysetPager {
        KeysetPager(
            table: "bookings", columns: columns, sortColumn: "createdAt", tiebreakColumn: "id", descending: true,
            conditions: status == nil ? [] : ["status = ?"], arguments: status.map { [$0.databaseValue] } ?? [])
    }

    /// Reads one page. Rows inserted after the first page with an older key
    /// than the cursor would appear; rows existing before are never skipped
    /// or repeated: the cursor is a position in the sort order, not an offset.
    static func fetch(limit: Int, cursor: String?, status: String?, in db: Database, execution: Execution) throws -> BookingsPage {
        try checkLimit(limit)
        // Any value: the dashboard counts statuses outside the schema's enum
        // (a foreign writer's 'LOST') under their own key, and a user who
        // sees that key must be able to page those rows.
        let after = try cursor.map(PageCursor.init(decoding:))
        let (rows, next) = try pager(status: status).page(limit: limit, after: after, in: db, execution: execution) { row in
            (StatValue(row[8] as DatabaseValue), StatValue(row[0] as DatabaseValue))
        }
        let bookings = rows.map { row in
            let v = { (i: Int) in StoredValue(StatValue(row[i] as DatabaseValue)) }
            let t = { (i: Int) in StoredValue(timestamp: StatValue(row[i] as DatabaseValue)) }
            return Booking(
                id: v(0), userId: v(1), driverId: v(2), vehicleId: v(3), serviceType: v(4), status: v(5),
                price: v(6), scheduledDate: t(7), createdAt: t(8))
        }
        return BookingsPage(bookings: bookings, nextCursor: next?.encoded)
    }
}

/// One page of organizations with their active module counts, in id order
/// (keyset on the primary key), the counts batched: one query per page.
public struct OrganizationsPage: Codable, Sendable, Equatable {
    public var organizations: [ModuleCounts.Organization]
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey { case organizations, nextCursor }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(organizations, forKey: .organizations)
        try c.encode(nextCursor, forKey: .nextCursor)  // explicit null
    }

    static let pager = KeysetPager(
        table: "organizations", columns: ["id", "rowid"], sortColumn: "id", tiebreakColumn: "rowid",
        descending: false, conditions: [], arguments: [])

    static func fetch(limit: Int, cursor: String?, strategy: Strategy, in db: Database, execution: Execution) throws -> OrganizationsPage {
        try BookingsPage.checkLimit(limit)
        let after = try cursor.map(PageCursor.init(decoding:))
        let (rows, next) = try pager.page(limit: limit, after: after, in: db, execution: execution) { row in
            (StatValue(row[0] as DatabaseValue), StatValue(row[1] as DatabaseValue))
        }
        let rowids = rows.compactMap { $0[1] as Int64? }
        let organizations = rowids.isEmpty ? [] : try ModuleCounts.compute(rowids: rowids, strategy: strategy, in: db, execution: execution)
        return OrganizationsPage(organizations: organizations, nextCursor: next?.encoded)
    }
}

/// A value as stored, in JSON: a number, a string, `null`; a blob as its
/// SQL literal text. For timestamps, an integer of epoch milliseconds is
/// given as ISO 8601 in UTC.
public enum StoredValue: Codable, Sendable, Equatable {
    case value(StatValue)
    case timestamp(String)

    init(_ value: StatValue) {
        self = .value(value)
    }

    /// An integer (or integral real) in years 0000–9999 becomes its ISO
    /// 8601 text; anything else stays as stored.
    init(timestamp value: StatValue) {
        if let millis = value.int64Value, Zone.supportedRange.contains(millis) {
            self = .timestamp(Zone.utc.format(millis))
        } else {
            self = .value(value)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .value(.null)
        } else if let v = try? c.decode(Int64.self) {
            self = .value(.integer(v))
        } else if let v = try? c.decode(Double.self) {
            self = .value(.real(v))
        } else {
            self = .value(.text(try c.decode(String.self)))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .timestamp(let text): try c.encode(text)
        case .value(.null): try c.encodeNil()
        case .value(.integer(let v)): try c.encode(v)
        case .value(.real(let v)): if v.isFinite { try c.encode(v) } else { try c.encode(String(v)) }
        case .value(let other): try c.encode(other.description)
        }
    }
}
