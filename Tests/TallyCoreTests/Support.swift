import Foundation
import GRDB
import TallyTestSupport

@testable import TallyCore

/// The contents of every table, in id order, as text: what "byte-identical
/// table contents" compares.
func dump(_ db: Database) throws -> [String: [String]] {
    var result: [String: [String]] = [:]
    for table in TallySchema.tables {
        result[table.name] = try Row.fetchAll(db, sql: "SELECT * FROM \(table.name) ORDER BY id").map { row in
            row.databaseValues.map(exactText).joined(separator: "|")
        }
    }
    return result
}

/// A value with its storage class, as text: `DatabaseValue`'s `==` takes
/// 1 and 1.0 for equal, and 0.0 and -0.0.
func exactText(_ value: DatabaseValue) -> String {
    switch value.storage {
    case .null: "NULL"
    case .int64(let v): "i\(v)"
    case .double(let v): "r\(v.bitPattern)"
    case .string(let v): "t\(v)"
    case .blob(let v): "b\(v.base64EncodedString())"
    }
}

extension Dashboard {
    /// The dashboard with `meta` cleared and the average rating rounded, so
    /// that strategies can be compared: floating-point sums in a different
    /// row order differ in the last bits.
    var comparable: Dashboard {
        var copy = self
        copy.meta = ResponseMeta()
        copy.drivers.averageRating = drivers.averageRating.map { ($0 * 1e9).rounded() / 1e9 }
        return copy
    }
}

/// The contract's tables and declared types without a CHECK, NOT NULL,
/// UNIQUE or key: what a foreign database may look like.
let foreignSchemaSQL = """
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, role TEXT, isActive INTEGER, createdAt INTEGER);
    CREATE TABLE drivers (id INTEGER PRIMARY KEY, userId INTEGER, isAvailable INTEGER, rating REAL, createdAt INTEGER);
    CREATE TABLE vehicles (id INTEGER PRIMARY KEY, driverId INTEGER, type TEXT, plate TEXT, isAvailable INTEGER, createdAt INTEGER);
    CREATE TABLE bookings (id INTEGER PRIMARY KEY, userId INTEGER, driverId INTEGER, vehicleId INTEGER, serviceType TEXT,
                           status TEXT, price INTEGER, scheduledDate INTEGER, createdAt INTEGER);
    CREATE TABLE payments (id INTEGER PRIMARY KEY, bookingId INTEGER, amount INTEGER, status TEXT, createdAt INTEGER);
    CREATE TABLE organizations (id TEXT, name TEXT, createdAt INTEGER);
    CREATE TABLE modules (id INTEGER PRIMARY KEY, organizationId TEXT, key TEXT, isActive INTEGER, createdAt INTEGER);
    CREATE INDEX idx_bookings_createdAt ON bookings(createdAt);
    CREATE INDEX payments_status_createdAt ON payments(status, createdAt);
    """

/// What a computation gave: an answer, or the kind of error SQL gives.
enum Outcome<T> {
    case value(T)
    case overflow
    case otherError(String)

    init(_ body: () async throws -> T) async {
        do { self = .value(try await body()) } catch {
            let text = "\(error)"
            self = text.contains("integer overflow") ? .overflow : .otherError(text)
        }
    }
}

/// Whether two dashboard outcomes agree: the same numbers, or both SQL's overflow.
func sameOutcome(_ a: Outcome<Dashboard>, _ b: Outcome<Dashboard>) -> Bool {
    switch (a, b) {
    case (.value(let x), .value(let y)): sameNumbers(x, y)
    case (.overflow, .overflow): true
    default: false
    }
}
