/// A JSON object whose keys keep a meaningful order: a group-by's enum values
/// in schema order, then any value outside the enum. A `Dictionary` would
/// print them in a different order on every run.
public struct KeyedValues<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable, Sequence {
    public struct Entry: Sendable, Equatable {
        public let key: String
        public var value: Value
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public subscript(key: String) -> Value? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }

    public var keys: [String] { entries.map(\.key) }
    public var count: Int { entries.count }
    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for entry in entries {
            try container.encode(entry.value, forKey: Key(stringValue: entry.key))
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            entries.append(Entry(key: key.stringValue, value: try container.decode(Value.self, forKey: key)))
        }
    }
}
