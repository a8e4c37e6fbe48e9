import Foundation
public import TallyCore

/// Number formats shared by the report's renderers and the CLI's tables.
public enum ReportFormat {
    /// `1234567` → `1,234,567`.
    public static func count(_ n: Int64) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// Minor units → `12,345.67`; a real amount (a foreign database) to
    /// the cent, or in scientific notation past 10^15.
    public static func money(_ amount: Amount) -> String {
        switch amount {
        case .integer(let minor):
            let cents = minor.magnitude % 100
            return (minor < 0 ? "-" : "") + count(Int64(minor.magnitude / 100)) + "." + (cents < 10 ? "0" : "") + String(cents)
        case .real(let minor):
            let major = minor / 100
            guard abs(major) < 1e15 else { return String(format: "%.6g", major) }
            let rounded = (minor).rounded()
            return money(.integer(Int64(rounded)))
        }
    }

    /// A bucket label fit for the axis: `2024-03` for months, `2024-Q1`, `2024`, `2024-03-25` for days and weeks.
    static func bucketLabel(_ start: String, period: String) -> String {
        let date = String(start.prefix(10))
        switch period {
        case "year": return String(date.prefix(4))
        case "quarter":
            let month = Int(date.dropFirst(5).prefix(2)) ?? 1
            return "\(date.prefix(4))-Q\((month - 1) / 3 + 1)"
        case "month": return String(date.prefix(7))
        default: return date
        }
    }
}
