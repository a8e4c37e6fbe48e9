import Foundation

/// A zone's UTC offsets as a small SQL table, so that plain SQL (a view, a
/// trigger inside another program's write) can turn a naive local time into
/// UTC without Tally's code: `local - (SELECT o FROM tally_zone_… WHERE l <=
/// local ORDER BY l DESC LIMIT 1)`.
///
/// Each row starts an offset period at local time `l` (milliseconds) with
/// offset `o`. A period begins at `T + max(before, after)` for a change at
/// instant `T`, so that a local time a change repeats (an overlap) reads as
/// the earlier instant and one it skips (a gap) with the offset before the
/// change: what `Zone.instant` does, and Python's `fold=0`.
///
/// Offsets come from the system's tz database for 1900–2100; outside, the
/// first and last offsets hold.
struct ZoneOffsetTable: Sendable {
    let zone: Zone
    /// `(l, o)` rows in order of `l`.
    let rows: [(localStart: Int64, offset: Int64)]

    /// The table's name: `tally_zone_Europe_Paris_<hash>`.
    var name: String { Self.name(for: zone) }

    /// The identifier's letters and digits, then a hash of the whole
    /// identifier: `Etc/GMT+5` and `Etc/GMT-5` get distinct tables.
    static func name(for zone: Zone) -> String {
        "tally_zone_" + String(zone.identifier.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }) + "_"
            + FNV1a.base36(zone.identifier)
    }

    private static let cache = Locked<[String: ZoneOffsetTable]>([:])

    /// The table of `zone`, computed once per process.
    static func of(_ zone: Zone) -> ZoneOffsetTable {
        if let cached = cache.withLock({ $0[zone.identifier] }) { return cached }
        let table = ZoneOffsetTable(zone: zone, rows: offsetPeriods(zone))
        cache.withLock { $0[zone.identifier] = table }
        return table
    }

    /// Finds every change of offset day by day, then the exact second by
    /// bisection (changes are at least days apart).
    static func offsetPeriods(_ zone: Zone) -> [(localStart: Int64, offset: Int64)] {
        let day: Int64 = 86_400
        let start: Int64 = -2_208_988_800  // 1900-01-01
        let end: Int64 = 4_102_444_800  // 2100-01-01
        func offset(_ second: Int64) -> Int64 { Int64(zone.offsetSeconds(at: second * 1000)) }
        var rows: [(localStart: Int64, offset: Int64)] = [(Int64.min, offset(start) * 1000)]
        var t = start
        var current = offset(t)
        while t < end {
            let next = t + day
            let later = offset(next)
            if later != current {
                // The first second with the new offset, in (t, next].
                var low = t, high = next
                while high - low > 1 {
                    let middle = low + (high - low) / 2
                    if offset(middle) == current { low = middle } else { high = middle }
                }
                rows.append(((high + max(current, later)) * 1000, later * 1000))
                current = later
            }
            t = next
        }
        return rows
    }

    /// `CREATE TABLE` (in `schema`: `temp` for a read connection, `main` for
    /// rollups) and its rows.
    func statements(schema: String) -> [String] {
        var result = ["CREATE TABLE IF NOT EXISTS \(schema).\(name) (l INTEGER PRIMARY KEY, o INTEGER)"]
        // One INSERT per 500 rows: a zone has a few hundred at most.
        for chunk in stride(from: 0, to: rows.count, by: 500) {
            let values = rows[chunk..<min(chunk + 500, rows.count)].map { "(\($0.localStart), \($0.offset))" }
            result.append("INSERT OR REPLACE INTO \(schema).\(name) (l, o) VALUES \(values.joined(separator: ", "))")
        }
        return result
    }

    /// UTC milliseconds of the local time `local` (an SQL expression).
    func utc(_ local: String) -> String {
        "(\(local)) - (SELECT o FROM \(name) WHERE l <= (\(local)) ORDER BY l DESC LIMIT 1)"
    }
}
