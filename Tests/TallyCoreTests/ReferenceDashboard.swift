import GRDB
@testable import TallyCore

/// The dashboard computed the plainest way: fetch every row, loop in Swift.
/// Shares no code with the engine, so that agreeing with it means something.
func referenceDashboard(_ db: Database) throws -> Dashboard {
    var d = Dashboard()
    func key(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: "null"
        case .int64(let v): String(v)
        case .double(let v): Int64(exactly: v).map(String.init) ?? String(v)
        case .string(let v): v
        case .blob(let v): String(decoding: v, as: UTF8.self)
        }
    }
    func isOne(_ value: DatabaseValue) -> Bool {
        switch value.storage {
        case .int64(let v): v == 1
        case .double(let v): v == 1
        default: false
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
    var ratingSum = 0.0
    for row in try Row.fetchAll(db, sql: "SELECT isAvailable, rating FROM drivers") {
        d.drivers.total += 1
        if isOne(row[0]) { d.drivers.available += 1 }
        if let rating = Double.fromDatabaseValue(row[1]) {
            d.drivers.rated += 1
            ratingSum += rating
        }
    }
    d.drivers.averageRating = d.drivers.rated == 0 ? nil : ratingSum / Double(d.drivers.rated)
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
    var realAmounts: [String: Double] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT status, amount FROM payments") {
        let status = key(row[0])
        if case .double(let v) = (row[1] as DatabaseValue).storage {
            // A real amount in a foreign database: summed, then rounded.
            realAmounts[status, default: 0] += v
            d.payments.total += 1
            d.payments.byStatus[status, default: .init()].count += 1
            continue
        }
        let amount = Int64.fromDatabaseValue(row[1]) ?? 0
        d.payments.total += 1
        var entry = d.payments.byStatus[status] ?? .init()
        entry.count += 1
        entry.amount += amount
        d.payments.byStatus[status] = entry
        if status == "COMPLETED" { d.payments.revenue += amount }
        if status == "REFUNDED" { d.payments.refunded += amount }
    }
    for (status, real) in realAmounts {
        let exact = d.payments.byStatus[status]!.amount
        d.payments.byStatus[status]!.amount = Int64((Double(exact) + real).rounded())
    }
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

/// Key order differs between the reference (insertion) and the engine (enum
/// order, then sorted extras): compare as dictionaries.
func sameNumbers(_ a: Dashboard, _ b: Dashboard) -> Bool {
    func normalized(_ d: Dashboard) -> Dashboard {
        var d = d.comparable
        d.users.byRole = sorted(d.users.byRole)
        d.vehicles.byType = sorted(d.vehicles.byType)
        d.bookings.byStatus = sorted(d.bookings.byStatus)
        d.bookings.byServiceType = sorted(d.bookings.byServiceType)
        d.payments.byStatus = sorted(d.payments.byStatus)
        return d
    }
    return normalized(a) == normalized(b)
}

private func sorted<V>(_ values: KeyedValues<V>) -> KeyedValues<V> {
    var result = KeyedValues<V>()
    for entry in values.entries.sorted(by: { $0.key < $1.key }) { result[entry.key] = entry.value }
    return result
}
