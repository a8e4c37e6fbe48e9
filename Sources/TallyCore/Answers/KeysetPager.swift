import GRDB

/// Keyset pagination over `(sort column, tiebreak column)`: a page is the
/// rows after the cursor in that order, read through an index range (no
/// offset, no sort), so rows existing before the first page are never
/// skipped or repeated, whatever is inserted meanwhile.
///
/// SQL's comparisons leave out NULL (`createdAt < ?` is never true for a
/// NULL), so rows whose sort value is NULL are paged as a phase of their own:
/// last in a descending order, first in an ascending one, as `ORDER BY`
/// places them. A contract database has none; a foreign one may.
struct KeysetPager {
    let table: String
    let columns: [String]
    let sortColumn: String
    let tiebreakColumn: String
    let descending: Bool
    /// Extra conditions (a status filter) and their arguments.
    let conditions: [String]
    let arguments: [DatabaseValue]

    /// Phase 0 comes first in the order: non-NULL values when descending,
    /// NULLs when ascending.
    private func isNullPhase(_ phase: Int) -> Bool { descending ? phase == 1 : phase == 0 }

    /// The SQL of one phase, after `cursor` (or from its start).
    func sql(phase: Int, after cursor: PageCursor?) -> (sql: String, arguments: [DatabaseValue]) {
        var conditions = conditions
        var arguments = arguments
        let (less, order) = descending ? ("<", "DESC") : (">", "ASC")
        if isNullPhase(phase) {
            conditions.append("\(sortColumn) IS NULL")
            if let cursor {
                conditions.append("\(tiebreakColumn) \(less) ?")
                arguments.append(cursor.tiebreak.databaseValue)
            }
        } else if let cursor {
            conditions.append("(\(sortColumn) \(less) ? OR (\(sortColumn) = ? AND \(tiebreakColumn) \(less) ?))")
            arguments += [cursor.sortValue.databaseValue, cursor.sortValue.databaseValue, cursor.tiebreak.databaseValue]
        } else {
            conditions.append("\(sortColumn) IS NOT NULL")
        }
        let sql =
            "SELECT \(columns.joined(separator: ", ")) FROM \(table)\(StatSQL.whereClause(conditions))"
            + " ORDER BY \(sortColumn) \(order), \(tiebreakColumn) \(order) LIMIT ?"
        return (sql, arguments)
    }

    /// Up to `limit` rows after `cursor`, and the cursor of the next page
    /// (nil on the last).
    ///
    /// - parameter key: the sort and tiebreak values of a row.
    func page(
        limit: Int, after cursor: PageCursor?, in db: Database, execution: Execution,
        key: (Row) -> (StatValue, StatValue)
    ) throws -> (rows: [Row], next: PageCursor?) {
        var rows: [(phase: Int, row: Row)] = []
        var phase = cursor?.phase ?? 0
        var after = cursor
        while phase <= 1 {
            let (sql, arguments) = sql(phase: phase, after: after)
            try execution.checkCancellation()
            execution.ran()
            let fetched = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments + [(limit + 1 - rows.count).databaseValue]))
            rows += fetched.map { (phase, $0) }
            if rows.count > limit { break }
            phase += 1
            after = nil
        }
        let page = Array(rows.prefix(limit))
        var next: PageCursor?
        if rows.count > limit, let last = page.last {
            let (sortValue, tiebreak) = key(last.row)
            next = PageCursor(phase: last.phase, sortValue: sortValue, tiebreak: tiebreak)
        }
        return (page.map(\.row), next)
    }
}
