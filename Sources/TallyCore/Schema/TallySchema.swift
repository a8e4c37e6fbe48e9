import GRDB

/// The contract's schema (§1): table and column names, enum values and the
/// documented indexes.
///
/// Engine and generator refer to tables and columns only through these
/// constants, so no user string is ever spliced into SQL.
public enum TallySchema {
    /// A table of the contract, with the columns the engine relies on.
    public struct Table: Sendable, Hashable {
        public let name: String
        public let columns: [String]
    }

    public static let users = Table(name: "users", columns: ["id", "email", "name", "role", "isActive", "createdAt"])
    public static let drivers = Table(name: "drivers", columns: ["id", "userId", "isAvailable", "rating", "createdAt"])
    public static let vehicles = Table(name: "vehicles", columns: ["id", "driverId", "type", "plate", "isAvailable", "createdAt"])
    public static let bookings = Table(
        name: "bookings",
        columns: [
            "id", "userId", "driverId", "vehicleId", "serviceType", "status", "price", "scheduledDate", "createdAt",
        ])
    public static let payments = Table(name: "payments", columns: ["id", "bookingId", "amount", "status", "createdAt"])
    public static let organizations = Table(name: "organizations", columns: ["id", "name", "createdAt"])
    public static let modules = Table(name: "modules", columns: ["id", "organizationId", "key", "isActive", "createdAt"])

    /// Every table of the contract, in dependency order (parents first).
    public static let tables: [Table] = [users, drivers, vehicles, bookings, payments, organizations, modules]

    /// The enum values of the schema's CHECK constraints. Group-by results list
    /// each of them, with zero counts when absent (contract §2).
    public static let enumValues: [String: [String]] = [
        "users.role": ["CUSTOMER", "DRIVER", "ADMIN"],
        "vehicles.type": ["CAR", "MOTORBIKE", "VAN", "TRUCK"],
        "bookings.serviceType": ["RIDE", "DELIVERY", "RENTAL"],
        "bookings.status": ["PENDING", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "CANCELLED"],
        "payments.status": ["PENDING", "COMPLETED", "FAILED", "REFUNDED"],
    ]

    /// Boolean columns (INTEGER 0/1): their domain is {0, 1}.
    public static let flagColumns: Set<String> = ["isActive", "isAvailable"]

    /// One of the documented indexes, `idx_<table>_<col>[_<col>]`.
    public struct DocumentedIndex: Sendable, Hashable {
        public let table: String
        public let columns: [String]

        public var name: String { "idx_\(table)_" + columns.joined(separator: "_") }

        /// `CREATE INDEX IF NOT EXISTS …`, exactly as written in schema.sql.
        public var createSQL: String {
            "CREATE INDEX IF NOT EXISTS \(name) ON \(table)(\(columns.joined(separator: ", ")));"
        }

        public var dropSQL: String { "DROP INDEX IF EXISTS \(name);" }
    }

    /// The documented indexes (contract §1), in schema.sql order.
    public static let documentedIndexes: [DocumentedIndex] = [
        .init(table: "users", columns: ["role"]),
        .init(table: "users", columns: ["isActive"]),
        .init(table: "users", columns: ["createdAt"]),
        .init(table: "users", columns: ["role", "isActive"]),
        .init(table: "bookings", columns: ["status"]),
        .init(table: "bookings", columns: ["serviceType"]),
        .init(table: "bookings", columns: ["userId"]),
        .init(table: "bookings", columns: ["driverId"]),
        .init(table: "bookings", columns: ["createdAt"]),
        .init(table: "bookings", columns: ["scheduledDate"]),
        .init(table: "bookings", columns: ["status", "createdAt"]),
        .init(table: "payments", columns: ["status"]),
        .init(table: "payments", columns: ["createdAt"]),
        .init(table: "payments", columns: ["status", "createdAt"]),
        .init(table: "drivers", columns: ["isAvailable"]),
        .init(table: "drivers", columns: ["rating"]),
        .init(table: "vehicles", columns: ["type"]),
        .init(table: "vehicles", columns: ["isAvailable"]),
        .init(table: "modules", columns: ["organizationId", "isActive"]),
    ]

    /// schema.sql without its `CREATE INDEX` statements: what `--no-indexes` creates.
    static var tablesSQL: String {
        sql.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("CREATE INDEX") }
            .joined(separator: "\n")
    }
}
