import Foundation
import GRDBSQLite

/// Maps the values of one column, read straight from a stepped statement, to
/// small dense codes (0, 1, 2, …) without allocating per row.
///
/// Text is compared as bytes against the values already seen: for the
/// low-cardinality columns of a dashboard (a status, a role) that is a linear
/// scan over a handful of candidates; past `linearLimit` distinct values a
/// hash table takes over (organization ids).
struct ValueInterner {
    /// Storage class of a stored value, as `sqlite3_column_type` reports it.
    private var types: [Int32] = []
    /// Integer value, bit pattern of a real, or offset of text in `bytes`.
    private var payloads: [Int64] = []
    private var lengths: [Int32] = []
    private var bytes: [UInt8] = []
    /// Open-addressing table of codes (-1 = empty), used past `linearLimit`.
    private var table: [Int32] = []
    private var hashes: [UInt64] = []

    static let linearLimit = 12

    var count: Int { types.count }

    /// The code of the value in column `column` of the current row.
    @inline(__always)
    mutating func code(_ statement: OpaquePointer, _ column: Int32) -> Int32 {
        let type = sqlite3_column_type(statement, column)
        switch type {
        case SQLITE_INTEGER:
            return code(integer: sqlite3_column_int64(statement, column))
        case SQLITE_NULL:
            return code(type: SQLITE_NULL, payload: 0, text: nil, length: 0)
        case SQLITE_FLOAT:
            // Keys compare as SQLite compares them: 1.0 is the group of 1.
            let real = sqlite3_column_double(statement, column)
            if let exact = Int64(exactly: real) { return code(integer: exact) }
            return code(type: SQLITE_FLOAT, payload: Int64(bitPattern: real.bitPattern), text: nil, length: 0)
        default:
            // Text (blobs are read as their bytes too and keyed as text).
            let pointer = UnsafeRawPointer(sqlite3_column_text(statement, column))
            let length = sqlite3_column_bytes(statement, column)
            return code(type: SQLITE_TEXT, payload: 0, text: pointer, length: length)
        }
    }

    @inline(__always)
    mutating func code(integer value: Int64) -> Int32 {
        code(type: SQLITE_INTEGER, payload: value, text: nil, length: 0)
    }

    /// The code of a value given as a `StatValue` (filter constants), interned up front.
    mutating func code(of value: StatValue) -> Int32 {
        switch value {
        case .null: return code(type: SQLITE_NULL, payload: 0, text: nil, length: 0)
        case .integer(let v): return code(integer: v)
        case .real(let v):
            // SQLite compares 1.0 = 1: a whole real filter matches integer cells.
            if let exact = Int64(exactly: v) { return code(integer: exact) }
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
        if table.isEmpty {
            for i in 0..<types.count where types[i] == type && matches(i, payload: payload, text: text, length: length) {
                return Int32(i)
            }
            return insert(type: type, payload: payload, text: text, length: length, hash: nil)
        }
        let hash = Self.hash(type: type, payload: payload, text: text, length: length)
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let code = table[slot]
            if code < 0 { break }
            let i = Int(code)
            if hashes[i] == hash, types[i] == type, matches(i, payload: payload, text: text, length: length) {
                return code
            }
            slot = (slot + 1) & mask
        }
        return insert(type: type, payload: payload, text: text, length: length, hash: hash)
    }

    @inline(__always)
    private func matches(_ i: Int, payload: Int64, text: UnsafeRawPointer?, length: Int32) -> Bool {
        guard types[i] == SQLITE_TEXT else { return payloads[i] == payload }
        guard lengths[i] == length else { return false }
        if length == 0 { return true }
        let offset = Int(payloads[i])
        return bytes.withUnsafeBufferPointer { stored in
            memcmp(stored.baseAddress! + offset, text!, Int(length)) == 0
        }
    }

    private mutating func insert(type: Int32, payload: Int64, text: UnsafeRawPointer?, length: Int32, hash: UInt64?) -> Int32 {
        let code = Int32(types.count)
        types.append(type)
        lengths.append(length)
        if type == SQLITE_TEXT {
            payloads.append(Int64(bytes.count))
            if length > 0 {
                bytes.append(contentsOf: UnsafeRawBufferPointer(start: text, count: Int(length)))
            }
        } else {
            payloads.append(payload)
        }
        hashes.append(hash ?? Self.hash(type: type, payload: payload, text: text, length: length))
        if !table.isEmpty {
            if types.count * 2 > table.count { rebuildTable() } else { place(Int(code)) }
        } else if types.count > Self.linearLimit {
            rebuildTable()
        }
        return code
    }

    private mutating func rebuildTable() {
        var size = 64
        while size < types.count * 4 { size <<= 1 }
        table = Array(repeating: -1, count: size)
        for i in 0..<types.count { place(i) }
    }

    private mutating func place(_ i: Int) {
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: hashes[i]) & mask
        while table[slot] >= 0 { slot = (slot + 1) & mask }
        table[slot] = Int32(i)
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
            let offset = Int(payloads[i])
            return .text(String(decoding: bytes[offset..<offset + Int(lengths[i])], as: UTF8.self))
        }
    }
}
