import Foundation

/// An IANA time zone and the conversions between instants (epoch milliseconds)
/// and local civil dates that the period grid needs.
public struct Zone: Sendable, Hashable {
    public let identifier: String
    let timeZone: TimeZone

    /// - throws: `TallyError.invalidInput` for anything that is not an IANA zone name.
    public init(_ identifier: String) throws {
        // Foundation also accepts abbreviations and "GMT+2"; the contract asks for IANA names.
        let valid = identifier == "UTC" || TimeZone.knownTimeZoneIdentifiers.contains(identifier)
        guard valid, identifier.utf8.count <= 64, let zone = TimeZone(identifier: identifier) else {
            let shown = identifier.count > 40 ? String(identifier.prefix(40)) + "…" : identifier
            throw TallyError.invalid("unknown time zone '\(shown.sanitizedForMessage)'; expected an IANA name such as UTC or Europe/Paris")
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

    /// The local date and milliseconds since local midnight of an instant.
    func local(_ millis: Int64) -> (date: CivilDate, millisOfDay: Int64) {
        let local = millis + Int64(offsetSeconds(at: millis)) * 1000
        let days = local.floorDiv(86_400_000)
        return (CivilDate(daysSinceEpoch: Int(days)), local - days * 86_400_000)
    }

    /// The instant a local date begins: its midnight, or, where a DST change
    /// skips midnight, the first instant that exists on that date.
    func startOfDay(_ date: CivilDate) -> Int64 {
        instant(date, millisOfDay: 0)
    }

    /// The instant of a local wall-clock time. In a gap (skipped by a DST
    /// change), the time is moved forward by the gap, as calendars do;
    /// in an overlap, the earlier instant is used.
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
    public func format(_ millis: Int64) -> String {
        let offset = offsetSeconds(at: millis)
        let (date, ms) = local(millis)
        let seconds = Int(ms / 1000)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        func four(_ n: Int) -> String { n < 0 ? "-" + four(-n) : String(repeating: "0", count: max(0, 4 - String(n).count)) + String(n) }
        let sign = offset < 0 ? "-" : "+"
        let off = abs(offset)
        var text = "\(four(date.year))-\(two(date.month))-\(two(date.day))T\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
        if ms % 1000 != 0 { text += "." + String(format: "%03d", Int(ms % 1000)) }
        text += "\(sign)\(two(off / 3600)):\(two(off / 60 % 60))"
        return text
    }
}

extension Int64 {
    /// Division rounding toward negative infinity (instants before 1970).
    func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
