import Foundation

/// The names the system's tz database knows: every zone and every link
/// (`Asia/Kolkata`, `Asia/Calcutta`, `Etc/UTC`, `US/Eastern`, `EST5EDT`).
///
/// Read from `tzdata.zi` (the tz project's compact source, which Debian's and
/// most systems' tzdata ship), whose `Z` lines name zones and `L` lines name
/// links. Foundation's `TimeZone.knownTimeZoneIdentifiers` is ICU's list on
/// Linux, which names some zones by their old names and omits links, so it
/// refuses names users rightly type. Where `tzdata.zi` is missing, the
/// zoneinfo directory's compiled files (`TZif`) are the list.
enum ZoneNames {
    /// `$TZDIR`, or the usual location.
    static var directory: String {
        ProcessInfo.processInfo.environment["TZDIR"] ?? "/usr/share/zoneinfo"
    }

    /// Every known name, read once.
    static let all: Set<String> = {
        let names = fromTzdataZi(directory + "/tzdata.zi")
        return names.isEmpty ? fromCompiledFiles(directory) : names
    }()

    static func isKnown(_ name: String) -> Bool {
        name == "UTC" || all.contains(name)
    }

    /// `Z NAME …` and `L TARGET NAME` lines.
    static func fromTzdataZi(_ path: String) -> Set<String> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var names: Set<String> = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.first == "Z", fields.count >= 2 { names.insert(String(fields[1])) }
            if fields.first == "L", fields.count >= 3 { names.insert(String(fields[2])) }
        }
        return names
    }

    /// Relative paths of the files that start with `TZif`, leaving out the
    /// `posix/` and `right/` variants and `localtime`/`posixrules` aliases.
    static func fromCompiledFiles(_ root: String) -> Set<String> {
        guard let paths = FileManager.default.subpaths(atPath: root) else { return [] }
        var names: Set<String> = []
        for path in paths
        where !path.hasPrefix("posix/") && !path.hasPrefix("right/")
            && path != "localtime" && path != "posixrules"
        {
            guard let handle = FileHandle(forReadingAtPath: root + "/" + path) else { continue }
            defer { try? handle.close() }
            if (try? handle.read(upToCount: 4)) == Data("TZif".utf8) { names.insert(path) }
        }
        return names
    }
}
