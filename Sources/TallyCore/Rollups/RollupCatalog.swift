import Foundation
import GRDB

/// What a file holds of rollups, checked against what this version of Tally
/// would create: a rollup is *intact* when its table exists, its definition
/// is of this version, the change counters exist, and its base table's
/// triggers are exactly the ones generated now (one edited, missing or left
/// by another version makes it unused, and `status` says why).
package struct RollupCatalog: Sendable {
    /// One rollup of the catalog.
    package struct Entry: Sendable {
        package let definition: RollupDefinition
        package let version: Int
        /// Nil when intact; otherwise why it is not used.
        package let problem: String?
    }

    package let entries: [Entry]

    package var intact: [RollupDefinition] { entries.filter { $0.problem == nil }.map(\.definition) }

    /// Whether `tally_changes` exists (change counters for ETags and the
    /// shared cache, kept by the same triggers).
    package let hasCounters: Bool

    static let empty = RollupCatalog(entries: [], hasCounters: false)

    /// Reads and checks the catalog in `db`'s current snapshot.
    static func load(_ db: Database, mapping: MappedSchema? = nil) throws -> RollupCatalog {
        guard try db.tableExists(RollupSQL.catalogTable) else {
            return RollupCatalog(entries: [], hasCounters: try db.tableExists(RollupSQL.countersTable))
        }
        let hasCounters = try db.tableExists(RollupSQL.countersTable)
        var entries: [Entry] = []
        var definitions: [RollupDefinition] = []
        for row in try Row.fetchAll(db, sql: "SELECT name, definition, version FROM \(RollupSQL.catalogTable) ORDER BY rowid") {
            let name: String = row[0] ?? "?"
            let text: String = row[1] ?? ""
            let version: Int = row[2] ?? 0
            guard let definition = try? JSONDecoder().decode(RollupDefinition.self, from: Data(text.utf8)),
                (try? definition.validate()) != nil, definition.name == name
            else {
                entries.append(
                    Entry(
                        definition: try RollupDefinition(name: "unreadable", table: "users"), version: version,
                        problem: "its definition cannot be read"))
                continue
            }
            definitions.append(definition)
            entries.append(Entry(definition: definition, version: version, problem: nil))
        }
        // The triggers each base table should have, generated now.
        var expected: [String: [String: String]] = [:]
        // A table an app's database lacks has no triggers (and no rows).
        for table in Set(definitions.map(\.table)) where mapping.map({ $0.sources[table] != nil }) ?? true {
            let rollups = definitions.filter { $0.table == table }
            expected[table] = Dictionary(
                uniqueKeysWithValues: RollupSQL.triggers(
                    base: RollupSQL.BaseTable(table, mapping: mapping), rollups: rollups,
                    uniqueness: try uniqueness(of: RollupSQL.BaseTable(table, mapping: mapping), in: db)
                ).map { ($0.name, $0.sql) })
        }
        var found: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tally\\_%' ESCAPE '\\'") {
            found[row[0]] = row[1]
        }
        entries = try entries.map { entry in
            guard entry.problem == nil else { return entry }
            let r = entry.definition
            var problem: String?
            if entry.version != Rollups.version {
                problem = "made by rollup version \(entry.version), this Tally writes version \(Rollups.version): run `tally rollups enable` again"
            } else if !hasCounters {
                problem = "the change counters table \(RollupSQL.countersTable) is missing"
            } else if try !db.tableExists(r.tableName) {
                problem = "its table \(r.tableName) is missing"
            } else if let missing = expected[r.table]?.first(where: { found[$0.key] == nil }) {
                problem = "trigger \(missing.key) on \(r.table) is missing"
            } else if let changed = expected[r.table]?.first(where: { found[$0.key] != $0.value }) {
                problem =
                    "trigger \(changed.key) on \(r.table) differs from what this Tally creates"
                    + (mapping == nil
                        ? " (made by another version, or edited): run `tally rollups enable` again"
                        : " through this schema map (enabled through another map, or edited): "
                            + "run `tally rollups enable --schema-map` with this map again")
            }
            return Entry(definition: r, version: entry.version, problem: problem)
        }
        return RollupCatalog(entries: entries, hasCounters: hasCounters)
    }

    /// The rowid alias and UNIQUE column sets of a base table, with their
    /// collations: what `INSERT OR REPLACE` can collide on.
    ///
    /// Read from `PRAGMA index_list`/`index_xinfo` rather than GRDB's index
    /// list, which says neither that an index is partial nor how it compares.
    /// A partial or expression UNIQUE index is left out: its rows are not
    /// all unique on plain columns (a soft-deleted row may share the key), so
    /// treating it as a key would subtract live rows on an ordinary INSERT.
    /// A REPLACE that collides only on such an index is not seen by the
    /// triggers; `rollups verify` reports the difference.
    static func uniqueness(of base: RollupSQL.BaseTable, in db: Database) throws -> RollupSQL.Uniqueness {
        let table = base.source?.appTable ?? base.name
        let primaryKey = try db.primaryKey(table, in: "main")
        var keys: [[String]] = []
        var collations: [[String?]] = []
        for row in try Row.fetchAll(db, sql: "PRAGMA main.index_list(\(table.quotedIdentifier))") {
            let name: String = row["name"]
            guard (row["unique"] as Int?) == 1, (row["partial"] as Int?) != 1 else { continue }
            let columns = try Row.fetchAll(db, sql: "PRAGMA main.index_xinfo(\(name.quotedIdentifier))").filter { ($0["key"] as Int?) == 1 }
            guard !columns.isEmpty, columns.allSatisfy({ ($0["cid"] as Int? ?? -2) >= 0 }) else { continue }
            let key: [String] = columns.map { $0["name"] }
            guard !keys.contains(key) else { continue }
            keys.append(key)
            collations.append(
                columns.map { column in
                    let collation = (column["coll"] as String?) ?? "BINARY"
                    return collation.uppercased() == "BINARY" ? nil : collation
                })
        }
        // The primary key first when it is not the rowid (a TEXT id): its
        // automatic index is in the list too, and comes out once.
        if primaryKey.rowIDColumn == nil, primaryKey.columns != ["rowid"], let index = keys.firstIndex(of: primaryKey.columns) {
            keys.insert(keys.remove(at: index), at: 0)
            collations.insert(collations.remove(at: index), at: 0)
        }
        return RollupSQL.Uniqueness(rowidAlias: primaryKey.rowIDColumn, keys: keys, collations: collations)
    }

    /// Why no rollup answers `stat` (what `explain` prints for a stat that
    /// keeps the scan), or nil when one does.
    func whyNotServed(_ stat: Stat) -> String? {
        guard rollup(for: stat) == nil else { return nil }
        if let aggregate = stat.aggregates.first(where: { !$0.isIncremental }) {
            return "\(aggregate) cannot be kept by triggers under deletes: the scan answers it"
        }
        if let entry = entries.first(where: { $0.definition.serves(stat) }), let problem = entry.problem {
            return "rollup \(entry.definition.name) is not used: \(problem)"
        }
        return entries.isEmpty ? "no rollups in this file (tally rollups enable)" : "no rollup declared for this stat"
    }

    /// The intact rollup that answers `stat` with the fewest rows: the
    /// fewest group-by columns, and no bucket unless the stat has one.
    func rollup(for stat: Stat) -> RollupDefinition? {
        intact.filter { $0.serves(stat) }.min { a, b in
            (a.groupBy.count + (a.bucketColumn == nil || stat.bucket != nil ? 0 : 10))
                < (b.groupBy.count + (b.bucketColumn == nil || stat.bucket != nil ? 0 : 10))
        }
    }
}
