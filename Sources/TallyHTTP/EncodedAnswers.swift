import Foundation
import NIOCore
import TallyCore

/// The JSON of recent answers without their `meta`, by answer key and ETag,
/// so that a cached answer is not encoded again for every request.
///
/// Encoding the dashboard with `JSONEncoder` was a third of the server's CPU
/// on cache hits (perf, `wrk -c32`); only `meta` (cache status, duration)
/// changes between responses with the same ETag, and the ETag names the
/// numbers (the key and the change counters, or this process's data
/// version). So the rest is encoded once and `meta` is spliced in.
final class EncodedAnswers: Sendable {
    /// The encoded answer around its `meta` value.
    private struct Entry: Sendable {
        let etag: String
        let prefix: [UInt8]
        let suffix: [UInt8]
    }

    private let entries = Locked<[String: Entry]>([:])
    /// Keys kept at most (revenue keys vary with the query); past it the
    /// store starts over, which costs one encoding per key.
    let capacity: Int

    init(capacity: Int = 256) {
        self.capacity = capacity
    }

    /// The response body of `answer`: spliced from the stored encoding when
    /// `etag` matches, encoded (and stored) otherwise.
    func body(_ answer: any Answer, key: String, etag: String?, encoder: JSONEncoder) throws -> ByteBuffer {
        let meta = try encoder.encode(answer.meta)
        if let etag, let entry = entries.withLock({ $0[key] }), entry.etag == etag {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(entry.prefix.count + meta.count + entry.suffix.count)
            buffer.writeBytes(entry.prefix)
            buffer.writeBytes(meta)
            buffer.writeBytes(entry.suffix)
            return buffer
        }
        let encoded = Array(try encoder.encode(answer))
        if let etag, let range = Self.topLevelValue(named: "meta", in: encoded) {
            let entry = Entry(etag: etag, prefix: Array(encoded[..<range.lowerBound]), suffix: Array(encoded[range.upperBound...]))
            entries.withLock { entries in
                if entries.count >= capacity && entries[key] == nil { entries.removeAll(keepingCapacity: true) }
                entries[key] = entry
            }
        }
        return ByteBuffer(bytes: encoded)
    }

    /// The byte range of the value of top-level key `name` in a JSON object
    /// (keys inside nested objects, and strings that look like keys, are
    /// skipped: a status named "meta" cannot be mistaken for it).
    static func topLevelValue(named name: String, in json: [UInt8]) -> Range<Int>? {
        let target = Array("\"\(name)\"".utf8)
        var i = skipSpaces(json, from: 0)
        guard i < json.count, json[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        // Member by member: the key (a string), ':', the value, ','.
        while true {
            i = skipSpaces(json, from: i)
            guard i < json.count, json[i] == UInt8(ascii: "\""), let keyEnd = valueEnd(in: json, from: i) else { return nil }
            let key = json[i..<keyEnd]
            i = skipSpaces(json, from: keyEnd)
            guard i < json.count, json[i] == UInt8(ascii: ":") else { return nil }
            let start = skipSpaces(json, from: i + 1)
            guard let end = valueEnd(in: json, from: start) else { return nil }
            if key.elementsEqual(target) { return start..<end }
            i = skipSpaces(json, from: end)
            guard i < json.count, json[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
    }

    private static func skipSpaces(_ json: [UInt8], from start: Int) -> Int {
        var i = start
        while i < json.count, json[i] == UInt8(ascii: " ") || json[i] == UInt8(ascii: "\n") { i += 1 }
        return i
    }

    /// The index just past the JSON value starting at `start`.
    private static func valueEnd(in json: [UInt8], from start: Int) -> Int? {
        var depth = 0, inString = false, escaped = false
        var i = start
        while i < json.count {
            let byte = json[i]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 { return i + 1 }
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                    if depth < 0 { return i }
                case UInt8(ascii: ","):
                    if depth == 0 { return i }
                default: break
                }
            }
            i += 1
        }
        return depth == 0 ? json.count : nil
    }
}
