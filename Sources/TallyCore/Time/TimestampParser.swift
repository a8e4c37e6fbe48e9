/// Parses the contract's `--from`/`--to` values: `YYYY-MM-DD` (midnight in the
/// query's zone) or an ISO 8601 timestamp with an offset
/// (`2024-03-10T02:30:00-05:00`, `…Z`, optional fraction of a second).
///
/// Strict on purpose: `2024-13-45`, `2023-02-29` or a timestamp without an
/// offset are errors, not silently rolled over or guessed.
public enum TimestampParser {
    /// - returns: epoch milliseconds.
    public static func parse(_ text: String, zone: Zone, option: String = "date") throws -> Int64 {
        let bytes = Array(text.utf8)
        func fail() -> TallyError {
            return TallyError.invalid(
                "invalid \(option) '\(text.quotedForMessage())'; expected YYYY-MM-DD or an ISO 8601 timestamp with offset such as 2024-03-10T02:30:00+01:00"
            )
        }
        var i = 0
        func digits(_ n: Int) throws -> Int {
            guard i + n <= bytes.count else { throw fail() }
            var value = 0
            for k in 0..<n {
                let b = bytes[i + k]
                guard b >= 48, b <= 57 else { throw fail() }
                value = value * 10 + Int(b - 48)
            }
            i += n
            return value
        }
        func expect(_ c: UInt8) throws {
            guard i < bytes.count, bytes[i] == c else { throw fail() }
            i += 1
        }
        let year = try digits(4)
        try expect(UInt8(ascii: "-"))
        let month = try digits(2)
        try expect(UInt8(ascii: "-"))
        let day = try digits(2)
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year) else { throw fail() }
        let date = CivilDate(year: year, month: month, day: day)
        if i == bytes.count { return zone.startOfDay(date) }

        guard bytes[i] == UInt8(ascii: "T") || bytes[i] == UInt8(ascii: " ") else { throw fail() }
        i += 1
        let hour = try digits(2)
        try expect(UInt8(ascii: ":"))
        let minute = try digits(2)
        var second = 0, millis = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: ":") {
            i += 1
            second = try digits(2)
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: ",") {
                i += 1
                var scale = 100, any = false
                while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                    millis += Int(bytes[i] - 48) * scale
                    scale /= 10
                    i += 1
                    any = true
                }
                guard any else { throw fail() }
            }
        }
        guard hour <= 23, minute <= 59, second <= 59 else { throw fail() }
        guard i < bytes.count else { throw fail() }  // an offset is required
        var offsetSeconds = 0
        if bytes[i] == UInt8(ascii: "Z") || bytes[i] == UInt8(ascii: "z") {
            i += 1
        } else {
            let sign: Int
            switch bytes[i] {
            case UInt8(ascii: "+"): sign = 1
            case UInt8(ascii: "-"): sign = -1
            default: throw fail()
            }
            i += 1
            let oh = try digits(2)
            if i < bytes.count, bytes[i] == UInt8(ascii: ":") { i += 1 }
            let om = try digits(2)
            // Seconds, as the labels of historic local mean times give them (+00:17:30).
            var os = 0
            if i < bytes.count, bytes[i] == UInt8(ascii: ":") {
                i += 1
                os = try digits(2)
            }
            guard oh <= 23, om <= 59, os <= 59 else { throw fail() }
            offsetSeconds = sign * (oh * 3600 + om * 60 + os)
        }
        guard i == bytes.count else { throw fail() }
        let local = Int64(date.daysSinceEpoch) * 86_400_000 + Int64(hour * 3600 + minute * 60 + second) * 1000 + Int64(millis)
        return local - Int64(offsetSeconds) * 1000
    }
}
