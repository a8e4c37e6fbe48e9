import Foundation
import GRDBSQLite

/// Maps the values of one column, read straight from a stepped statement, to
/// small dense codes (0, 1, 2, …) without allocating per row.
///
/// Text is compared as bytes against the values already seen: for the
/// low-cardinality columns of a dashboard (a status, a role) that is a linear
/// scan over a handful of candidates, most recent hit first; past
/// `linearLimit` distinct values a hash table takes over (organization ids).
///
/// Storage is manually managed (`deallocate()` must be called): the scan
/// loop reaches interners through an `UnsafeMutablePointer`, which keeps
/// Swift's dynamic exclusivity checks and array bounds checks off the
/// per-row path.
struct ValueInterner {
    /// Storage class of each stored value, as `sqlite3_column_type` reports it.
    private var types: UnsafeMutablePointer<Int32>
    /// Integer value, bit pattern of a real, or offset of text in `bytes`.
    private var payloads: UnsafeMutablePointer<Int64>
    private var lengths: UnsafeMutablePointer<Int32>
    /// The first eight bytes of each text (zero-padded): most comparisons
    /// of short enum values end on one integer compare, without `memcmp`.
    private var prefixes: UnsafeMutablePointer<UInt64>
    private var hashes: UnsafeMutablePointer<UInt64>
    private var capacity: Int
    private(set) var count = 0
    private var bytes: UnsafeMutablePointer<UInt8>
    private var byteCount = 0
    private var byteCapacity: Int
    /// Open-addressing table of codes (-1 = empty), used past `linearLimit`.
    private var table: UnsafeMutablePointer<Int32>?
    private var tableSize = 0
    /// The code returned last: consecutive rows often repeat a value.
    private var last: Int32 = -1

    static let linearLimit = 12

    init() {
        capacity = 16
        types = .allocate(capacity: capacity)
        payloads = .allocate(capacity: capacity)
        lengths = .allocate(capacity: capacity)
        prefixes = .allocate(capacity: capacity)
        hashes = .allocate(capacity: capacity)
        byteCapacity = 256
        bytes = .allocate(capacity: byteCapacity)
    }

    func deallocate() {
        types.deallocate()
        payloads.deallocate()
        lengths.deallocate()
        prefixes.deallocate()
        hashes.deallocate()
        bytes.deallocate()
        table?.deallocate()
    }

    /// The code of the value in column `column` of the current row.
    @inline(__always)
    mutating func code(_ statement: OpaquePointer, _ column: Int32) -> Int32 {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return code(type: SQLITE_INTEGER, payload: sqlite3_column_int64(statement, column), text: nil, length: 0)
        case SQLITE_NULL:
            return code(type: SQLITE_NULL, payload: 0, text: nil, length: 0)
        case SQLITE_FLOAT:
            // Keys compare as SQLite compares them: 1.0 is the group of 1.
            let real = sqlite3_column_double(statement, column)
            if let exact = Int64(exactly: real) { return code(type: SQLITE_INTEGER, payload: exact, text: nil, length: 0) }
            return code(type: SQLITE_FLOAT, payload: Int64(bitPattern: real.bitPattern), text: nil, length: 0)
        default:
            // Text (blobs are read as their bytes too and keyed as text).
            let pointer = UnsafeRawPointer(sqlite3_column_text(statement, column))
            let length = sqlite3_column_bytes(statement, column)
            return code(type: SQLITE_TEXT, payload: 0, text: pointer, length: length)
        }
    }

    /// The code of a value given as a `StatValue` (filter constants), interned up front.
    mutating func code(of value: StatValue) -> Int32 {
        switch value {
        case .null: return code(type: SQLITE_NULL, payload: 0, text: nil, length: 0)
        case .integer(let v): return code(type: SQLITE_INTEGER, payload: v, text: nil, length: 0)
        case .real(let v):
            if let exact = Int64(exactly: v) { return code(type: SQLITE_INTEGER, payload: exact, text: nil, length: 0) }
            return code(type: SQLITE_FLOAT, payload: Int64(bitPattern: v.bitPattern), text: nil, length: 0)
        case .text(let s):
            var s = s
            return s.withUTF8 { buffer in
                code(type: SQLITE_TEXT, payload: 0, text: UnsafeRawPointer(buffer.baseAddress), length: Int32(buffer.count))
            }
        }
    }

    @inline(__always)
    private mutating func code(type: Int32, payload: Int64, text: UnsafeRawPointer?, length: Int32) -> Int32 {
        // For text, `payload` carries the prefix; `insert` stores the offset instead.
        let payload = type == SQLITE_TEXT ? Int64(bitPattern: Self.prefix(text, length)) : payload
        if last >= 0, matches(Int(last), type: type, payload: payload, text: text, length: length) {
            return last
        }
        if table == nil {
            for i in 0..<count where matches(i, type: type, payload: payload, text: text, length: length) {
                last = Int32(i)
                return last
            }
            last = insert(type: type, payload: payload, text: text, length: length, hash: Self.hash(type: type, payload: payload, text: text, length: length))
            return last
        }
        let hash = Self.hash(type: type, payload: payload, text: text, length: length)
        let mask = tableSize - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let code = table![slot]
            if code < 0 { break }
            if hashes[Int(code)] == hash, matches(Int(code), type: type, payload: payload, text: text, length: length) {
                last = code
                return code
            }
            slot = (slot + 1) & mask
        }
        last = insert(type: type, payload: payload, text: text, length: length, hash: hash)
        return last
    }

    @inline(__always)
    private func matches(_ i: Int, type: Int32, payload: Int64, text: UnsafeRawPointer?, length: Int32) -> Bool {
        guard types[i] == type else { return false }
        guard type == SQLITE_TEXT else { return payloads[i] == payload }
        guard lengths[i] == length, prefixes[i] == UInt64(bitPattern: payload) else { return false }
        return length <= 8 || memcmp(bytes + Int(payloads[i]) + 8, text! + 8, Int(length) - 8) == 0
    }

    /// The first eight bytes of a text, zero-padded, without reading past its end.
    @inline(__always)
    private static func prefix(_ text: UnsafeRawPointer?, _ length: Int32) -> UInt64 {
        guard let text else { return 0 }
        if length >= 8 { return text.loadUnaligned(as: UInt64.self) }
        var value: UInt64 = 0
        for k in 0..<Int(length) { value |= UInt64(text.load(fromByteOffset: k, as: UInt8.self)) << (8 * UInt64(k)) }
        return value
    }

    private mutating func insert(type: Int32, payload: Int64, text: UnsafeRawPointer?, length: Int32, hash: UInt64) -> Int32 {
        if count == capacity {
            let newCapacity = capacity * 2
            types = Self.grow(types, count, newCapacity)
            payloads = Self.grow(payloads, count, newCapacity)
            lengths = Self.grow(lengths, count, newCapacity)
            prefixes = Self.grow(prefixes, count, newCapacity)
            hashes = Self.grow(hashes, count, newCapacity)
            capacity = newCapacity
        }
        let code = count
        types[code] = type
        lengths[code] = length
        prefixes[code] = type == SQLITE_TEXT ? UInt64(bitPattern: payload) : 0
        hashes[code] = hash
        if type == SQLITE_TEXT {
            let n = Int(length)
            if byteCount + n > byteCapacity {
                var newCapacity = byteCapacity * 2
                while newCapacity < byteCount + n { newCapacity *= 2 }
                bytes = Self.grow(bytes, byteCount, newCapacity)
                byteCapacity = newCapacity
            }
            payloads[code] = Int64(byteCount)
            if n > 0 { (bytes + byteCount).update(from: text!.assumingMemoryBound(to: UInt8.self), count: n) }
            byteCount += n
        } else {
            payloads[code] = payload
        }
        count += 1
        if table != nil {
            if count * 2 > tableSize { rebuildTable() } else { place(code) }
        } else if count > Self.linearLimit {
            rebuildTable()
        }
        return Int32(code)
    }

    private static func grow<T>(_ pointer: UnsafeMutablePointer<T>, _ count: Int, _ capacity: Int) -> UnsafeMutablePointer<T> {
        let new = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        new.moveInitialize(from: pointer, count: count)
        pointer.deallocate()
        return new
    }

    private mutating func rebuildTable() {
        table?.deallocate()
        var size = 64
        while size < count * 4 { size <<= 1 }
        table = .allocate(capacity: size)
        table!.initialize(repeating: -1, count: size)
        tableSize = size
        for i in 0..<count { place(i) }
    }

    private mutating func place(_ i: Int) {
        let mask = tableSize - 1
        var slot = Int(truncatingIfNeeded: hashes[i]) & mask
        while table![slot] >= 0 { slot = (slot + 1) & mask }
        table![slot] = Int32(i)
    }

    /// FNV-1a over the value's bytes, mixed with its type.
    @inline(__always)
    private static func hash(type: Int32, payload: Int64, text: UnsafeRawPointer?, length: Int32) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(type)
        if type == SQLITE_TEXT {
            if let text {
                for k in 0..<Int(length) {
                    h = (h ^ UInt64(text.load(fromByteOffset: k, as: UInt8.self))) &* 0x100_0000_01B3
                }
            }
        } else {
            h = (h ^ UInt64(bitPattern: payload)) &* 0x100_0000_01B3
            h ^= h >> 29
        }
        return h
    }

    /// The value behind a code, decoded once per group when results are built.
    func value(_ code: Int32) -> StatValue {
        let i = Int(code)
        switch types[i] {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(payloads[i])
        case SQLITE_FLOAT: return .real(Double(bitPattern: UInt64(bitPattern: payloads[i])))
        default:
            let buffer = UnsafeBufferPointer(start: bytes + Int(payloads[i]), count: Int(lengths[i]))
            return .text(String(decoding: buffer, as: UTF8.self))
        }
    }
}
