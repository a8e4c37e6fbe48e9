import Foundation

/// A time zone of the system's tz database and the conversions between
/// instants (epoch milliseconds) and local civil dates that period grids need.
///
/// Any name the tz database knows is accepted, canonical or link
/// (`Europe/Paris`, `Asia/Kolkata`, `Etc/UTC`, `US/Eastern`); anything else
/// (`GMT+2`, `Mars/Olympus`, a path) is refused. See `ZoneNames`.
///
/// For example:
///
/// ```swift
/// let paris = try Zone("Europe/Paris")
/// let text = paris.format(1_711_839_600_000)  // "2024-03-31T00:00:00+01:00"
/// ```
public struct Zone: Sendable, Hashable {
    public let identifier: String
    let timeZone: TimeZone

    /// The instants calendar arithmetic is defined on: years 0000 to 9999,
    /// what `YYYY-MM-DD` can name. Grids never reach outside it.
    public static let supportedRange: ClosedRange<Int64> = -62_167_219_200_000...253_402_300_799_999

    /// - throws: `TallyError.invalidInput` for a name the tz database does not know.
    public init(_ identifier: String) throws {
        guard ZoneNames.isKnown(identifier), let zone = TimeZone(identifier: identifier) else {
            throw TallyError.invalid(
                "unknown time zone '\(identifier.quotedForMessage())'; expected a tz database name "
                    + "such as UTC, Europe/Paris or Asia/Kolkata")
        }
        self.identifier = identifier
        timeZone = zone
    }

    public static func == (a: Zone, b: Zone) -> Bool { a.identifier == b.identifier }
    public func hash(into hasher: inout Hasher) { hasher.combine(identifier) }

    /// UTC offset in seconds at an instant.
    func offsetSeconds(at millis: Int64) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(millis.floorDiv(1000))))
    }

    /// The local date and milliseconds since local midnight of an instant;
    /// defined for every `Int64` (no arithmetic can overflow).
    func local(_ millis: Int64) -> (date: CivilDate, millisOfDay: Int64) {
        let day: Int64 = 86_400_000
        var days = millis.floorDiv(day)
        var ms = millis - days * day + Int64(offsetSeconds(at: millis)) * 1000
        if ms < 0 { ms += day; days -= 1 } else if ms >= day { ms -= day; days += 1 }
        return (CivilDate(daysSinceEpoch: Int(days)), ms)
    }

    /// The instant a local date begins: its midnight, or, where a change of
    /// offset skips midnight, the first instant that exists on that date.
    func startOfDay(_ date: CivilDate) -> Int64 {
        instant(date, millisOfDay: 0)
    }

    /// Whether a local date exists in this zone (Pacific/Apia skipped
    /// 2011-12-30 when it moved across the date line).
    func exists(_ date: CivilDate) -> Bool {
        local(startOfDay(date)).date == date
    }

    /// The instant of a local wall-clock time. In a gap (skipped by a change
    /// of offset), the time is moved forward by the gap, as calendars do;
    /// in an overlap, the earlier instant is used.
    ///
    /// - precondition: `date` within years 0000–9999 (`supportedRange`).
    func instant(_ date: CivilDate, millisOfDay: Int64) -> Int64 {
        let local = Int64(date.daysSinceEpoch) * 86_400_000 + millisOfDay
        // Try the offsets in force around that local time.
        let before = Int64(offsetSeconds(at: local - 86_400_000)) * 1000
        let after = Int64(offsetSeconds(at: local + 86_400_000)) * 1000
        var candidates: [Int64] = []
        for offset in [before, after] {
            let t = local - offset
            if Int64(offsetSeconds(at: t)) * 1000 == offset, !candidates.contains(t) { candidates.append(t) }
        }
        if let earliest = candidates.min() { return earliest }
        // In a gap: the wall time does not exist; shift it by the gap length.
        return local - before
    }

    /// ISO 8601 text of an instant in this zone, e.g. `2024-03-31T00:00:00+01:00`.
    /// Years past 9999 get a sign and more digits (ISO 8601's expanded form);
    /// an offset of whole minutes is `±HH:MM`, any other (local mean time
    /// before standard time: Brussels' +00:17:30) `±HH:MM:SS`, so that the
    /// text names the instant itself.
    public func format(_ millis: Int64) -> String {
        let offset = offsetSeconds(at: millis)
        let (date, ms) = local(millis)
        let seconds = Int(ms / 1000)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        func year(_ n: Int) -> String {
            if n < 0 { return "-" + String(repeating: "0", count: max(0, 4 - String(-n).count)) + String(-n) }
            if n > 9999 { return "+" + String(n) }
            return String(repeating: "0", count: max(0, 4 - String(n).count)) + String(n)
        }
        let sign = offset < 0 ? "-" : "+"
        let off = abs(offset)
        var text = "\(year(date.year))-\(two(date.month))-\(two(date.day))T\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
        if ms % 1000 != 0 { text += "." + String(format: "%03d", Int(ms % 1000)) }
        text += "\(sign)\(two(off / 3600)):\(two(off / 60 % 60))"
        if off % 60 != 0 { text += ":\(two(off % 60))" }
        return text
    }
}

extension Zone {
    /// Coordinated Universal Time.
    public static let utc = try! Zone("UTC")
}
