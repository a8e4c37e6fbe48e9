import Foundation

/// Escaping for each format the report writes, as its readers expect: a
/// stored name is data, never markup, a formula or a table break.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// Markdown table cells and headings (GitHub-flavoured Markdown).
enum MarkdownText {
    /// Markup characters get a backslash, `<`, `>` and `&` become entities
    /// (a `<script>` in a name stays text), and line breaks, which would end
    /// the table row, become `<br>`.
    static func escape(_ text: String) -> String {
        var out = ""
        var previousWasCR = false
        for c in text.unicodeScalars {
            defer { previousWasCR = c == "\r" }
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\n": if !previousWasCR { out += "<br>" }
            case "\r": out += "<br>"
            case "\\", "`", "*", "_", "[", "]", "|", "#", "~", "!":
                out += "\\"
                out.unicodeScalars.append(c)
            default:
                // Other control characters would be invisible or break rendering.
                if c.value < 0x20 || c.value == 0x7f { out += " " } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }
}

/// A CSV field: RFC 4180 quoting, and a text that a spreadsheet would run as
/// a formula (`=`, `+`, `-`, `@`, tab or CR first; OWASP's "CSV injection")
/// gets a leading `'`. Numbers, negative ones included, stay numbers.
package func csvField(_ s: String) -> String {
    var s = s
    if let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), Double(s) == nil {
        s = "'" + s
    }
    if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
}
