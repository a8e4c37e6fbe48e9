/// The SQL of rollups: their tables and the triggers that keep them exact.
///
/// Triggers run inside other programs' writes (an ORM, Python, the sqlite3
/// shell), where none of Tally's SQL functions exist and where an error
/// would abort the application's own INSERT, UPDATE or DELETE. So they use
/// only built-in SQL, and nothing in them can fail: rollup tables have no
/// constraint at all; integer sums are kept in two 32-bit halves (so no
/// addition leaves 64 bits); NULL groups are matched with `IS`; a group or a
/// bucket whose row is missing is inserted, never assumed.
///
/// Per summed column a rollup row keeps: the non-NULL count (`c`), the exact
/// integer sum as `h`·2³² + `l`, the exact sum of the positive integers
/// alone as `ph`·2³² + `pl` (with the total it bounds every partial sum, so
/// that a reader knows whether SQL's SUM, which fails on the first partial
/// sum past 64 bits in its own row order, would fail in some order), the
/// real sum of every finite number with its rounding error (`r` + `e`,
/// Neumaier's compensated summation, so that a large value added then
/// removed leaves no trace), the count of reals (`f`, SQL's SUM is then a
/// real), and the count of values whose reading only a scan reproduces
/// (`t`: texts, blobs, and infinite reals, which would leave the kept real
/// sum NaN once removed).
enum RollupSQL {
    static let countersTable = "tally_changes"
    static let catalogTable = "tally_rollups"

    /// The table remembering rows a REPLACE is about to delete (see `triggers`).
    static func marksTable(_ table: String) -> String { "tally_replaced_\(table)" }

    // MARK: - Columns

    static func keyColumns(_ r: RollupDefinition) -> [String] {
        r.groupBy.indices.map { "k\($0)" } + (r.bucketColumn == nil ? [] : ["b"])
    }

    static func sumColumns(_ r: RollupDefinition, _ j: Int) -> [String] {
        ["c\(j)", "l\(j)", "h\(j)", "r\(j)", "e\(j)", "f\(j)", "t\(j)", "pl\(j)", "ph\(j)"]
    }

    /// A kept column as its readers select it: cast to its type, so that a
    /// table edited by hand (any storage class) cannot make decoding trap.
    /// NULL stays NULL: in a real part it is a NaN SQLite stored (an
    /// overflow to infinity, then a removal), which readers take as NaN.
    static func decoded(_ column: String) -> String {
        ["r", "e"].contains(column.prefix(1)) ? "CAST(\(column) AS REAL)" : "CAST(\(column) AS INTEGER)"
    }

    static func valueColumns(_ r: RollupDefinition) -> [String] {
        ["n"] + r.sums.indices.flatMap { sumColumns(r, $0) }
    }

    /// `CREATE TABLE` and its key index: no constraint, no declared type on
    /// keys (stored exactly as the base row holds them).
    static func create(_ r: RollupDefinition) -> [String] {
        let sums = r.sums.indices.map { j in
            "c\(j) INTEGER, l\(j) INTEGER, h\(j) INTEGER, r\(j) REAL, e\(j) REAL, f\(j) INTEGER, t\(j) INTEGER, pl\(j) INTEGER, ph\(j) INTEGER"
        }
        let columns = keyColumns(r) + ["n INTEGER"] + sums
        var statements = ["CREATE TABLE \(r.tableName) (\(columns.joined(separator: ", ")))"]
        let keys = keyColumns(r)
        if !keys.isEmpty {
            statements.append("CREATE INDEX \(r.tableName)_keys ON \(r.tableName)(\(keys.joined(separator: ", ")))")
        }
        return statements
    }

    // MARK: - Expressions over a row

    /// The 15-minute bucket of a timestamp as SQLite compares it: floor of an
    /// integer or real divided by 900000; NULL for NULL, text, blob and reals
    /// beyond any calendar (they fall in no time range).
    static func bucket(_ x: String) -> String {
        let m = RollupDefinition.bucketMilliseconds
        func floorDiv(_ i: String) -> String { "((\(i)) - ((((\(i)) % \(m)) + \(m)) % \(m))) / \(m)" }
        // A real's floor, exactly: its integer part, minus one below zero.
        let realFloor = "(CAST(\(x) AS INTEGER) - (\(x.bytewise) < CAST(\(x) AS INTEGER)))"
        return "CASE typeof(\(x)) WHEN 'integer' THEN \(floorDiv(x)) "
            + "WHEN 'real' THEN CASE WHEN \(x.bytewise) > -9.0e18 AND \(x.bytewise) < 9.0e18 THEN \(floorDiv(realFloor)) END END"
    }

    /// Low 32 bits of an integer (0 ≤ l < 2³²), 0 for anything else.
    static func low(_ x: String) -> String {
        "CASE WHEN typeof(\(x)) = 'integer' THEN (((\(x)) % 4294967296) + 4294967296) % 4294967296 ELSE 0 END"
    }

    /// High part of an integer: (x − low) / 2³², exact (x − low is a multiple
    /// of 2³² no smaller than −2⁶³).
    static func high(_ x: String) -> String {
        "CASE WHEN typeof(\(x)) = 'integer' THEN ((\(x)) - (\(low(x)))) / 4294967296 ELSE 0 END"
    }

    /// Low 32 bits of a positive integer, 0 for anything else.
    static func positiveLow(_ x: String) -> String {
        "CASE WHEN typeof(\(x)) = 'integer' AND \(x.bytewise) > 0 THEN (\(x)) % 4294967296 ELSE 0 END"
    }

    /// High part of a positive integer, 0 for anything else.
    static func positiveHigh(_ x: String) -> String {
        "CASE WHEN typeof(\(x)) = 'integer' AND \(x.bytewise) > 0 THEN (\(x)) / 4294967296 ELSE 0 END"
    }

    /// The number SQL's SUM adds for an integer or a finite real; texts,
    /// blobs and infinite reals are counted apart (`scanOnly`).
    static func real(_ x: String) -> String {
        "CASE WHEN typeof(\(x)) = 'integer' THEN CAST(\(x) AS REAL) "
            + "WHEN typeof(\(x)) = 'real' AND abs(\(x)) <= 1.7976931348623157e308 THEN \(x) ELSE 0.0 END"
    }

    /// 1 for a value whose part in SQL's SUM only a scan reproduces: a text
    /// or blob (read as a number by SQL's rules), or an infinite real.
    ///
    /// A CASE, not `OR`/`AND`: in a value SQLite evaluates both sides of
    /// those, and `abs()` of the integer −2⁶³ is an overflow error, which
    /// would fail the app's write. A WHEN is skipped when its test is false.
    static func scanOnly(_ x: String) -> String {
        "(CASE WHEN typeof(\(x)) IN ('text', 'blob') THEN 1 "
            + "WHEN typeof(\(x)) = 'real' AND NOT (abs(\(x)) <= 1.7976931348623157e308) THEN 1 ELSE 0 END)"
    }

    /// Neumaier's correction term for `sum + y` (both expressions).
    static func compensation(_ sum: String, _ y: String) -> String {
        "CASE WHEN abs(\(sum)) >= abs(\(y)) THEN ((\(sum)) - ((\(sum)) + (\(y)))) + (\(y)) ELSE ((\(y)) - ((\(sum)) + (\(y)))) + (\(sum)) END"
    }

    /// The rollup's filter on a row whose columns `value` gives: whether the
    /// row belongs to the rollup.
    static func matches(_ r: RollupDefinition, _ value: (String) -> String) -> String {
        // Byte for byte, as the scan compares (see `String.bytewise`).
        r.filters.isEmpty ? "1" : r.filters.map { "\(value($0.column).bytewise) = \($0.literal)" }.joined(separator: " AND ")
    }

    /// The key expressions of a row, in `keyColumns` order.
    static func keys(_ r: RollupDefinition, _ value: (String) -> String) -> [String] {
        r.groupBy.map(value) + (r.bucketColumn.map { [bucket(value($0))] } ?? [])
    }

    /// Adds (`sign` 1) or removes (`sign` -1) one row: an UPDATE of its
    /// group, then an INSERT when there was none (`changes()` counts the
    /// UPDATE's rows, inside a trigger as anywhere).
    static func apply(_ r: RollupDefinition, row: String, sign: Int, base: BaseTable) -> [String] {
        let op = sign > 0 ? "+" : "-"
        let value = { (column: String) in base.column(column, row: row) }
        let keyColumns = keyColumns(r), keys = keys(r, value)
        var sets = ["n = n \(op) 1"]
        var values = [String(sign)]
        for (j, column) in r.sums.enumerated() {
            let x = value(column)
            let y = sign > 0 ? real(x) : "-(\(real(x)))"
            sets += [
                "c\(j) = c\(j) \(op) (\(x) IS NOT NULL)",
                "l\(j) = l\(j) \(op) (\(low(x)))",
                "h\(j) = h\(j) \(op) (\(high(x)))",
                // Removing a group's last row leaves it empty: its real parts
                // are then 0 exactly (SET reads the old row: n is still 1),
                // not a rounding residue or a NaN an overflow left.
                sign > 0 ? "r\(j) = r\(j) + (\(y))" : "r\(j) = CASE WHEN n = 1 THEN 0.0 ELSE r\(j) + (\(y)) END",
                sign > 0
                    ? "e\(j) = e\(j) + (\(compensation("r\(j)", y)))"
                    : "e\(j) = CASE WHEN n = 1 THEN 0.0 ELSE e\(j) + (\(compensation("r\(j)", y))) END",
                "f\(j) = f\(j) \(op) (typeof(\(x)) = 'real')",
                "t\(j) = t\(j) \(op) \(scanOnly(x))",
                "pl\(j) = pl\(j) \(op) (\(positiveLow(x)))",
                "ph\(j) = ph\(j) \(op) (\(positiveHigh(x)))",
            ]
            values += [
                "\(sign) * (\(x) IS NOT NULL)", "\(sign) * (\(low(x)))", "\(sign) * (\(high(x)))", "\(y)", "0.0",
                "\(sign) * (typeof(\(x)) = 'real')", "\(sign) * \(scanOnly(x))",
                "\(sign) * (\(positiveLow(x)))", "\(sign) * (\(positiveHigh(x)))",
            ]
        }
        let match = zip(keyColumns, keys).map { "\($0) IS \($1)" }
        let condition = ([matches(r, value)] + match).joined(separator: " AND ")
        return [
            "UPDATE \(r.tableName) SET \(sets.joined(separator: ", ")) WHERE \(condition)",
            "INSERT INTO \(r.tableName) (\((keyColumns + valueColumns(r)).joined(separator: ", "))) "
                + "SELECT \((keys + values).joined(separator: ", ")) WHERE changes() = 0 AND \(matches(r, value))",
        ]
    }

    /// Removes the rows remembered in the marks table that conflicted with
    /// the new row (`conflict`): the rows a REPLACE deleted without firing
    /// delete triggers. Set-based: `UPDATE … FROM` their per-group totals.
    static func removeMarked(_ r: RollupDefinition, marks: String, conflict: String) -> String {
        // The marks table keeps Tally's columns converted, under Tally's names.
        let marked = { (column: String) in "m.\(column)" }
        let keyColumns = keyColumns(r), keys = keys(r, marked)
        var selected = keys.enumerated().map { "\($1) AS \(keyColumns[$0])" } + ["COUNT(*) AS n"]
        var sets = ["n = \(r.tableName).n - d.n"]
        for (j, column) in r.sums.enumerated() {
            let x = "m.\(column)"
            selected += [
                "SUM(\(x) IS NOT NULL) AS c\(j)", "SUM(\(low(x))) AS l\(j)", "SUM(\(high(x))) AS h\(j)",
                "TOTAL(\(real(x))) AS r\(j)", "SUM(typeof(\(x)) = 'real') AS f\(j)", "SUM(\(scanOnly(x))) AS t\(j)",
                "SUM(\(positiveLow(x))) AS pl\(j)", "SUM(\(positiveHigh(x))) AS ph\(j)",
            ]
            let t = r.tableName
            sets += [
                "c\(j) = \(t).c\(j) - d.c\(j)", "l\(j) = \(t).l\(j) - d.l\(j)", "h\(j) = \(t).h\(j) - d.h\(j)",
                "r\(j) = CASE WHEN \(t).n = d.n THEN 0.0 ELSE \(t).r\(j) - d.r\(j) END",
                "e\(j) = CASE WHEN \(t).n = d.n THEN 0.0 ELSE \(t).e\(j) + (\(compensation("\(t).r\(j)", "-d.r\(j)"))) END",
                "f\(j) = \(t).f\(j) - d.f\(j)", "t\(j) = \(t).t\(j) - d.t\(j)",
                "pl\(j) = \(t).pl\(j) - d.pl\(j)", "ph\(j) = \(t).ph\(j) - d.ph\(j)",
            ]
        }
        let group = keyColumns.isEmpty ? "" : " GROUP BY \(keyColumns.indices.map { String($0 + 1) }.joined(separator: ", "))"
        let join = keyColumns.isEmpty ? "1" : keyColumns.map { "\(r.tableName).\($0) IS d.\($0)" }.joined(separator: " AND ")
        return "UPDATE \(r.tableName) SET \(sets.joined(separator: ", ")) FROM "
            + "(SELECT \(selected.joined(separator: ", ")) FROM \(marks) m WHERE (\(conflict)) AND \(matches(r, marked))\(group)) AS d "
            + "WHERE \(join)"
    }

    // MARK: - Triggers

    /// A base table's uniqueness: its rowid and its UNIQUE column sets (what
    /// `INSERT OR REPLACE` and `UPDATE OR REPLACE` can collide on).
    struct Uniqueness: Sendable, Hashable {
        /// The rowid's alias (`id`), if the table has an INTEGER PRIMARY KEY.
        var rowidAlias: String?
        var keys: [[String]]
        /// Each key column's collation when not BINARY (`NOCASE`), in the
        /// shape of `keys`: the index compares with it, and so must the
        /// triggers that find the rows a REPLACE deletes.
        var collations: [[String?]] = []

        /// ` COLLATE NOCASE` for key `i`'s column `j`, or nothing.
        func collate(_ i: Int, _ j: Int) -> String {
            guard collations.indices.contains(i), collations[i].indices.contains(j), let name = collations[i][j] else { return "" }
            return " COLLATE \(name)"
        }
    }

    /// The triggers of one base table: its change counter for every row
    /// written, and its rollups kept exact.
    ///
    /// **REPLACE.** `INSERT OR REPLACE` deletes the row it collides with, but
    /// fires delete triggers only with `recursive_triggers` on (off by
    /// default in upstream SQLite). So before an insert or an update that
    /// can collide, the colliding rows are remembered (`tally_replaced_*`);
    /// after it, those still remembered and colliding with the new row were
    /// replaced without a delete trigger, and are removed from the rollups.
    /// With `recursive_triggers` on, the delete trigger removes them and
    /// forgets them, so nothing is removed twice. An insert that was ignored
    /// instead (`OR IGNORE`, an UPSERT) leaves marks that collide with no
    /// later row of theirs, and are cleared by the next insert that can collide.
    static func triggers(base: BaseTable, rollups: [RollupDefinition], uniqueness: Uniqueness) -> [(name: String, sql: String)] {
        let table = base.name
        let counter = "UPDATE \(countersTable) SET changes = changes + 1 WHERE tableName = '\(table)'"
        func trigger(_ name: String, _ head: String, when: String? = nil, _ body: [String]) -> (name: String, sql: String) {
            let full = "tally_\(table)_\(name)"
            let condition = when.map { " WHEN \($0)" } ?? ""
            return (full, "CREATE TRIGGER \(full) \(head) ON \(base.sql)\(condition) BEGIN\n  " + body.joined(separator: ";\n  ") + ";\nEND")
        }
        var result = [
            trigger("counter_insert", "AFTER INSERT", [counter]),
            trigger("counter_update", "AFTER UPDATE", [counter]),
            trigger("counter_delete", "AFTER DELETE", [counter]),
        ]
        guard !rollups.isEmpty else { return result }
        let marks = marksTable(table)
        let marked = markSources(rollups: rollups, uniqueness: uniqueness, base: base)
        let rowid = uniqueness.rowidAlias.map(base.identifier) ?? base.rowidName
        let keys = uniqueness.keys.enumerated().map { i, key in
            key.enumerated().map { j, column in
                (mark: base.mark(key: column, uniqueness), column: base.identifier(column), collate: uniqueness.collate(i, j))
            }
        }
        // `m` collides with `row` on the rowid or on a UNIQUE key (NULLs never collide).
        func collides(_ m: String, _ row: String) -> String {
            (["\(m).rowid_ = \(row).\(rowid)"]
                + keys.map { key in
                    "(" + key.map { "\(m).\($0.mark) = \(row).\($0.column)\($0.collate)" }.joined(separator: " AND ") + ")"
                }).joined(separator: " OR ")
        }
        let remember = { (row: String, exceptOld: Bool) -> [String] in
            let select = ([base.rowidName] + marked.map(\.value)).joined(separator: ", ")
            var condition =
                (["\(base.rowidName) = \(row).\(rowid)"]
                + keys.map { key in
                    "(" + key.map { "\($0.column) = \(row).\($0.column)\($0.collate)" }.joined(separator: " AND ") + ")"
                }).joined(separator: " OR ")
            if exceptOld { condition = "\(base.rowidName) <> OLD.\(rowid) AND (\(condition))" }
            return [
                "DELETE FROM \(marks)",
                "INSERT INTO \(marks) (\((["rowid_"] + marked.map(\.mark)).joined(separator: ", "))) SELECT \(select) FROM \(base.sql) WHERE \(condition)",
            ]
        }
        let collisionPossible =
            (["NEW.\(rowid) <> -1"] + keys.map { key in key.map { "NEW.\($0.column) IS NOT NULL" }.joined(separator: " AND ") })
            .map { "(\($0))" }.joined(separator: " OR ")
        let changesKey = ([rowid] + keys.flatMap { $0 }.map(\.column)).map { "NEW.\($0) IS NOT OLD.\($0)" }.joined(separator: " OR ")
        let relevant = Array(
            Set(
                rollups.flatMap(\.columns).compactMap(base.appColumn) + keys.flatMap { $0 }.map(\.column)
                    + (uniqueness.rowidAlias.map { [base.identifier($0)] } ?? []))
        ).sorted()
        let hasMarks = "EXISTS (SELECT 1 FROM \(marks))"
        result += [
            trigger("remember_insert", "BEFORE INSERT", when: collisionPossible, remember("NEW", false)),
            trigger(
                "replaced_insert", "AFTER INSERT", when: hasMarks,
                rollups.map { removeMarked($0, marks: marks, conflict: collides("m", "NEW")) } + ["DELETE FROM \(marks)"]),
            trigger("insert", "AFTER INSERT", rollups.flatMap { apply($0, row: "NEW", sign: 1, base: base) }),
            trigger("delete", "AFTER DELETE", rollups.flatMap { apply($0, row: "OLD", sign: -1, base: base) }),
            trigger("forget_delete", "AFTER DELETE", when: hasMarks, ["DELETE FROM \(marks) WHERE rowid_ = OLD.\(rowid)"]),
            trigger("remember_update", "BEFORE UPDATE", when: changesKey, remember("NEW", true)),
            trigger(
                "replaced_update", "AFTER UPDATE", when: hasMarks,
                rollups.map { removeMarked($0, marks: marks, conflict: "m.rowid_ <> OLD.\(rowid) AND (\(collides("m", "NEW")))") }
                    + ["DELETE FROM \(marks)"]),
            trigger(
                "update", relevant.isEmpty ? "AFTER UPDATE" : "AFTER UPDATE OF \(relevant.joined(separator: ", "))",
                rollups.flatMap { apply($0, row: "OLD", sign: -1, base: base) + apply($0, row: "NEW", sign: 1, base: base) }),
        ]
        return result
    }

    /// The rollups' columns, each once, in order.
    static func markedRollupColumns(_ rollups: [RollupDefinition]) -> [String] {
        var columns: [String] = []
        for column in rollups.flatMap(\.columns) where !columns.contains(column) { columns.append(column) }
        return columns
    }

    /// Each column of the marks table and what fills it from a remembered
    /// row of the base table: the rollups' columns (converted, under Tally's
    /// names), then the UNIQUE keys' (as stored; in Tally's own schema they
    /// are the same columns).
    static func markSources(rollups: [RollupDefinition], uniqueness: Uniqueness, base: BaseTable) -> [(mark: String, value: String)] {
        var result: [(mark: String, value: String)] = []
        for column in markedRollupColumns(rollups) {
            result.append((column, base.source == nil ? column : base.column(column, row: base.sql)))
        }
        for key in uniqueness.keys.flatMap({ $0 }) where !result.contains(where: { $0.mark == base.mark(key: key, uniqueness) }) {
            result.append((base.mark(key: key, uniqueness), base.identifier(key)))
        }
        return result
    }

    static func createMarks(base: BaseTable, rollups: [RollupDefinition], uniqueness: Uniqueness) -> String {
        "CREATE TABLE \(marksTable(base.name)) (\((["rowid_"] + markSources(rollups: rollups, uniqueness: uniqueness, base: base).map(\.mark)).joined(separator: ", ")))"
    }

    /// The table a rollup's triggers go on: Tally's own, or the app's table
    /// a schema map names, whose columns the triggers read through the map's
    /// conversions.
    struct BaseTable: Sendable {
        /// Tally's name: the counter's row, trigger and marks names.
        let name: String
        /// The table as the trigger's SQL names it.
        let sql: String
        /// The app's table, when mapped.
        let source: MappedSchema.Source?

        init(name: String, sql: String, source: MappedSchema.Source?) {
            self.name = name
            self.sql = sql
            self.source = source
        }

        /// Tally's table `name` as `mapping` places it (natively without one).
        init(_ name: String, mapping: MappedSchema?) {
            if let source = mapping?.sources[name] {
                self.init(name: name, sql: source.appTable.quotedIdentifier, source: source)
            } else {
                self.init(name: name, sql: name, source: nil)
            }
        }

        /// Tally's `column` of `row`, as the rollups read it.
        func column(_ column: String, row: String) -> String {
            source?.expression(column, row: row) ?? "\(row).\(column)"
        }

        /// The name that reaches the base table's rowid (an app may have a
        /// column named `rowid`: see `MappedSchema.Source.rowidName`).
        var rowidName: String { source?.rowidName ?? "rowid" }

        /// A stored column of the base table as SQL names it.
        func identifier(_ column: String) -> String { source == nil ? column : column.quotedIdentifier }

        /// The base table's column holding Tally's `column` (nil when the app lacks it).
        func appColumn(_ column: String) -> String? {
            guard let source else { return column }
            return source.columns[column].map { $0.column.quotedIdentifier }
        }

        /// Where the marks table keeps a UNIQUE key's column: under its own
        /// name natively, numbered for an app's table (whose names may
        /// collide with Tally's converted columns).
        func mark(key column: String, _ uniqueness: Uniqueness) -> String {
            guard source != nil else { return column }
            return "u\(uniqueness.keys.flatMap { $0 }.firstIndex(of: column) ?? 0)"
        }
    }
}
