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

    /// Set to `true` in an encoder's and decoder's `userInfo` to keep the
    /// order through a round trip (entries as `[key, value]` pairs): what
    /// the shared cache level stores, so that an answer read back equals
    /// the one computed. The contract's JSON is the object form.

    private struct Pair: Codable {
        let key: String
        let value: Value
    }

    public func encode(to encoder: any Encoder) throws {
        if encoder.userInfo[KeyedValuesOrder.key] as? Bool == true {
            var container = encoder.unkeyedContainer()
            for entry in entries { try container.encode(Pair(key: entry.key, value: entry.value)) }
            return
        }
        var container = encoder.container(keyedBy: Key.self)
        for entry in entries {
            try container.encode(entry.value, forKey: Key(stringValue: entry.key))
        }
    }

    public init(from decoder: any Decoder) throws {
        if decoder.userInfo[KeyedValuesOrder.key] as? Bool == true {
            var container = try decoder.unkeyedContainer()
            while !container.isAtEnd {
                let pair = try container.decode(Pair.self)
                entries.append(Entry(key: pair.key, value: pair.value))
            }
            return
        }
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            entries.append(Entry(key: key.stringValue, value: try container.decode(Value.self, forKey: key)))
        }
    }
}

/// The `userInfo` key that selects `KeyedValues`' ordered form.
enum KeyedValuesOrder {
    static let key = CodingUserInfoKey(rawValue: "tally.keyedValues.ordered")!
}
