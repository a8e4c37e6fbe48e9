extension String {
    /// The string with control characters replaced and cut to `limit`
    /// characters, fit to be quoted in a one-line message.
    package func quotedForMessage(limit: Int = 40) -> String {
        let cleaned = String(unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
        return cleaned.count > limit ? String(cleaned.prefix(limit)) + "…" : cleaned
    }
}
