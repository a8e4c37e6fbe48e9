import Foundation
import GRDB
import TallyTestSupport

@testable import TallyCore

/// The dashboard computed the plainest way, sharing no code with the
/// engine: rows fetched and counted in a Swift loop, and every sum and
/// average asked of SQL itself, one plain query per group (`SUM(amount)
/// WHERE status IS ?`), so that SQL's own answer, or its error, is the
/// reference whatever the stored values are.
func referenceDashboard(_ db: Database) throws -> Dashboard {
    var d = Dashboard()
    /// A group's JSON key as the contract names it.
    func key(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: "null"
        case .int64(let v): String(v)
        case .double(let v): Int64(exactly: v).map(String.init) ?? String(v)
        case .string(let v): v
        case .blob(let v): "x'" + v.map { String(format: "%02x", $0) }.joined() + "'"
        }
    }
    /// `flag = 1` as SQL compares a stored value with 1.
    func isOne(_ value: DatabaseValue) -> Bool {
        switch value.storage {
        case .int64(let v): v == 1
        case .double(let v): v == 1
        default: false
        }
    }
    func amount(_ value: DatabaseValue) -> Amount {
        switch value.storage {
        case .int64(let v): .integer(v)
        case .double(let v): .real(v)
        default: .integer(0)
        }
    }
    for role in ["CUSTOMER", "DRIVER", "ADMIN"] { d.users.byRole[role] = .init() }
    for row in try Row.fetchAll(db, sql: "SELECT role, isActive FROM users") {
        let role = key(row[0]), active = isOne(row[1])
        d.users.total += 1
        var entry = d.users.byRole[role] ?? .init()
        entry.total += 1
        if active { d.users.active += 1; entry.active += 1 }
        d.users.byRole[role] = entry
    }
    for row in try Row.fetchAll(db, sql: "SELECT isAvailable, rating FROM drivers") {
        d.drivers.total += 1
        if isOne(row[0]) { d.drivers.available += 1 }
        if !(row[1] as DatabaseValue).isNull { d.drivers.rated += 1 }
    }
    d.drivers.averageRating = try Double.fetchOne(db, sql: "SELECT AVG(rating) FROM drivers")
    for type in ["CAR", "MOTORBIKE", "VAN", "TRUCK"] { d.vehicles.byType[type] = .init() }
    for row in try Row.fetchAll(db, sql: "SELECT type, isAvailable FROM vehicles") {
        let type = key(row[0])
        d.vehicles.total += 1
        var entry = d.vehicles.byType[type] ?? .init()
        entry.total += 1
        if isOne(row[1]) { d.vehicles.available += 1; entry.available += 1 }
        d.vehicles.byType[type] = entry
    }
    for s in ["PENDING", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "CANCELLED"] { d.bookings.byStatus[s] = 0 }
    for s in ["RIDE", "DELIVERY", "RENTAL"] { d.bookings.byServiceType[s] = 0 }
    for row in try Row.fetchAll(db, sql: "SELECT status, serviceType FROM bookings") {
        d.bookings.total += 1
        d.bookings.byStatus[key(row[0]), default: 0] += 1
        d.bookings.byServiceType[key(row[1]), default: 0] += 1
    }
    for s in ["PENDING", "COMPLETED", "FAILED", "REFUNDED"] { d.payments.byStatus[s] = .init() }
    for status in try DatabaseValue.fetchAll(db, sql: "SELECT DISTINCT status FROM payments") {
        let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), SUM(amount) FROM payments WHERE status IS ?", arguments: [status])!
        d.payments.byStatus[key(status)] = .init(count: row[0], amount: amount(row[1]))
        d.payments.total += row[0] as Int64
    }
    d.payments.revenue = d.payments.byStatus["COMPLETED"]?.amount ?? 0
    d.payments.refunded = d.payments.byStatus["REFUNDED"]?.amount ?? 0
    for row in try Row.fetchAll(db, sql: "SELECT isActive FROM modules") {
        d.modules.total += 1
        if isOne(row[0]) { d.modules.active += 1 }
    }
    d.modules.organizations = Int64(try Row.fetchAll(db, sql: "SELECT id FROM organizations").count)
    return d
}

extension KeyedValues {
    subscript(key: String, default value: Value) -> Value {
        get { self[key] ?? value }
        set { self[key] = newValue }
    }
}

/// Whether two dashboards hold the same numbers: key order aside (the
/// reference inserts as it finds, the engine sorts), and reals within
/// 1e-9 relative (SQLite adds reals in its own row order).
func sameNumbers(_ a: Dashboard, _ b: Dashboard) -> Bool {
    func normalized(_ d: Dashboard) -> Dashboard {
        var d = d
        d.meta = ResponseMeta()
        d.drivers.averageRating = nil
        d.users.byRole = sorted(d.users.byRole)
        d.vehicles.byType = sorted(d.vehicles.byType)
        d.bookings.byStatus = sorted(d.bookings.byStatus)
        d.bookings.byServiceType = sorted(d.bookings.byServiceType)
        // Amounts are compared apart, reals within rounding.
        var payments = KeyedValues<Dashboard.CountAmount>()
        for entry in sorted(d.payments.byStatus) { payments[entry.key] = .init(count: entry.value.count, amount: 0) }
        d.payments.byStatus = payments
        d.payments.revenue = 0
        d.payments.refunded = 0
        return d
    }
    let aAmounts = Dictionary(uniqueKeysWithValues: a.payments.byStatus.map { ($0.key, $0.value.amount) })
    let bAmounts = Dictionary(uniqueKeysWithValues: b.payments.byStatus.map { ($0.key, $0.value.amount) })
    let amountsAgree =
        aAmounts.keys.sorted() == bAmounts.keys.sorted()
        && aAmounts.allSatisfy { close($0.value, bAmounts[$0.key]!) }
    let ratingsAgree =
        switch (a.drivers.averageRating, b.drivers.averageRating) {
        case (nil, nil): true
        case (let x?, let y?): close(x, y)
        default: false
        }
    return normalized(a) == normalized(b) && amountsAgree && ratingsAgree
        && close(a.payments.revenue, b.payments.revenue) && close(a.payments.refunded, b.payments.refunded)
}

/// Equal integers, or reals within 1e-9 relative (the same storage class).
func close(_ a: Amount, _ b: Amount) -> Bool {
    switch (a, b) {
    case (.integer(let x), .integer(let y)): x == y
    case (.real(let x), .real(let y)): close(x, y)
    default: false
    }
}

func close(_ x: Double, _ y: Double) -> Bool {
    x == y || abs(x - y) <= 1e-9 * max(abs(x), abs(y))
}

private func sorted<V>(_ values: KeyedValues<V>) -> KeyedValues<V> {
    var result = KeyedValues<V>()
    for entry in values.entries.sorted(by: { $0.key < $1.key }) { result[entry.key] = entry.value }
    return result
}
