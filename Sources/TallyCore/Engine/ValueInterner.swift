import Foundation
import GRDBSQLite

/// Maps the values of one column, read straight from a stepped statement, to
/// small dense codes (0, 1, 2, …) without allocating per row.
///
/// Every lookup is one probe of an open-addressing table keyed by a
/// multiplicative hash. A text is summarised by its length and two 8-byte
/// words (its first and its last eight bytes, zero-padded): for texts of up to
/// 16 bytes (every enum value of the contract) those three numbers *are* the
/// text, so a hit is decided by integer compares, without `memcmp` and
/// without the data-dependent branches of a linear search, which random
/// values mispredict on most rows.
///
/// Values are read through `sqlite3_value` pointers (`sqlite3_column_value`
/// once per column per row): each `sqlite3_column_*` call re-validates the
/// statement and the column index and passes through the connection's mutex
/// hooks, which cost more per row than the lookup itself.
///
/// A blob and a text with the same bytes are different keys, as in SQL's
/// `GROUP BY`; a real that is exactly an integer is that integer's key.
///
/// The interner owns its buffers and frees them in `deinit`; it cannot be
/// copied, so no copy can free them twice. The scan loop reaches interners
/// through an `UnsafeMutablePointer`, which keeps Swift's dynamic
/// exclusivity checks and array bounds checks off the per-row path.
struct ValueInterner: ~Copyable {
    /// Storage class of each stored value, as `sqlite3_value_type` reports it.
    private var types: UnsafeMutablePointer<Int32>
    /// Integer value, bit pattern of a real, or offset of text in `bytes`.
    private var payloads: UnsafeMutablePointer<Int64>
    private var lengths: UnsafeMutablePointer<Int32>
    /// First and last eight bytes of each text (see `words`).
    private var heads: UnsafeMutablePointer<UInt64>
    private var tails: UnsafeMutablePointer<UInt64>
    private var hashes: UnsafeMutablePointer<UInt64>
    private var capacity: Int
    private(set) var count = 0
    private var bytes: UnsafeMutablePointer<UInt8>
    private var byteCount = 0
    private var byteCapacity: Int
    /// Open-addressing table of codes (-1 = empty), at most a quarter full.
    private var table: UnsafeMutablePointer<Int32>
    private var tableShift: UInt64
    private var tableMask: Int
    /// Set when SQLite returned no bytes for a non-empty text (out of memory).
    private(set) var readFailed = false
    /// Whether the database stores text as UTF-8, so that a text's stored
    /// bytes are its UTF-8 bytes (see `code(_:)`).
    private let utf8Database: Bool

    /// - parameter utf8Database: whether the database's `PRAGMA encoding` is
    ///   UTF-8; for UTF-16 files texts are converted to UTF-8 as they are read.
    init(utf8Database: Bool = true) {
        self.utf8Database = utf8Database
        capacity = 16
        types = .allocate(capacity: capacity)
        payloads = .allocate(capacity: capacity)
        lengths = .allocate(capacity: capacity)
        heads = .allocate(capacity: capacity)
        tails = .allocate(capacity: capacity)
        hashes = .allocate(capacity: capacity)
        byteCapacity = 256
        bytes = .allocate(capacity: byteCapacity)
        let size = 64
        table = .allocate(capacity: size)
        table.initialize(repeating: -1, count: size)
        tableShift = UInt64(64 - size.trailingZeroBitCount)
        tableMask = size - 1
    }

    deinit {
        types.deallocate()
        payloads.deallocate()
        lengths.deallocate()
        heads.deallocate()
        tails.deallocate()
        hashes.deallocate()
        bytes.deallocate()
        table.deallocate()
    }

    /// The code of a value of the current row (from `sqlite3_column_value`).
    @inline(__always)
    mutating func code(_ value: OpaquePointer?) -> Int32 {
        let type = sqlite3_value_type(value)
        switch type {
        case SQLITE_INTEGER:
            return code(integer: sqlite3_value_int64(value))
        case SQLITE_NULL:
            return code(type: SQLITE_NULL, payload: 0)
        case SQLITE_FLOAT:
            return code(real: sqlite3_value_double(value))
        default:
            // Text or blob, keyed by type and bytes.
            let pointer = Self.bytes(of: value, type: type, utf8Database: utf8Database)
            let length = Int(sqlite3_value_bytes(value))
            if pointer == nil && length > 0 {
                // SQLite could not allocate the text's conversion: report it
                // after the scan rather than group the row under a wrong key.
                readFailed = true
                return code(bytes: nil, length: 0, type: type)
            }
            return code(bytes: pointer, length: length, type: type)
        }
    }

    /// The bytes of a text or blob value, as UTF-8 for a text; read its
    /// length with `sqlite3_value_bytes` afterwards. In a UTF-8 database
    /// `sqlite3_value_blob` returns a text's stored bytes as they are, where
    /// `sqlite3_value_text` would first copy them to add a NUL; a UTF-16
    /// text must be converted.
    @inline(__always)
    static func bytes(of value: OpaquePointer?, type: Int32, utf8Database: Bool) -> UnsafeRawPointer? {
        type == SQLITE_TEXT && !utf8Database ? UnsafeRawPointer(sqlite3_value_text(value)) : sqlite3_value_blob(value)
    }

    /// The code of a value given as a `StatValue` (filter constants), interned up front.
    mutating func code(of value: StatValue) -> Int32 {
        switch value {
        case .null: return code(type: SQLITE_NULL, payload: 0)
        case .integer(let v): return code(integer: v)
        case .real(let v): return code(real: v)
        case .text(let s):
            var s = s
            return s.withUTF8 { buffer in
                code(bytes: UnsafeRawPointer(buffer.baseAddress), length: buffer.count, type: SQLITE_TEXT)
            }
        case .blob(let data):
            return data.withUnsafeBytes { buffer in
                code(bytes: buffer.baseAddress, length: buffer.count, type: SQLITE_BLOB)
            }
        }
    }

    @inline(__always)
    private mutating func code(integer: Int64) -> Int32 {
        code(type: SQLITE_INTEGER, payload: integer)
    }

    /// Keys compare as SQLite compares them: 1.0 is the group of 1.
    @inline(__always)
    private mutating func code(real: Double) -> Int32 {
        if let exact = Int64(exactly: real) { return code(type: SQLITE_INTEGER, payload: exact) }
        return code(type: SQLITE_FLOAT, payload: Int64(bitPattern: real.bitPattern))
    }

    /// Integers, reals (by bit pattern) and NULL.
    @inline(__always)
    private mutating func code(type: Int32, payload: Int64) -> Int32 {
        let hash = (UInt64(bitPattern: payload) ^ UInt64(type) &* 0xD6E8_FEB8_6659_FD93) &* 0x9E37_79B9_7F4A_7C15
        var slot = Int(truncatingIfNeeded: hash >> tableShift)
        while true {
            let code = table[slot]
            if code < 0 { return insert(type: type, payload: payload, text: nil, length: 0, head: 0, tail: 0, hash: hash, slot: slot) }
            if types[Int(code)] == type, payloads[Int(code)] == payload { return code }
            slot = (slot + 1) & tableMask
        }
    }

    /// Texts and blobs: `type` is `SQLITE_TEXT` or `SQLITE_BLOB`.
    @inline(__always)
    private mutating func code(bytes text: UnsafeRawPointer?, length: Int, type: Int32) -> Int32 {
        let (head, tail) = Self.words(text, length)
        let hash = Self.textHash(text, length, head: head, tail: tail) ^ UInt64(type)
        var slot = Int(truncatingIfNeeded: hash >> tableShift)
        while true {
            let code = Int(table[slot])
            if code < 0 { return insert(type: type, payload: 0, text: text, length: length, head: head, tail: tail, hash: hash, slot: slot) }
            if heads[code] == head, tails[code] == tail, lengths[code] == Int32(truncatingIfNeeded: length), types[code] == type,
                length <= 16 || memcmp(bytes + Int(payloads[code]) + 8, text! + 8, length - 16) == 0
            {
                return Int32(truncatingIfNeeded: code)
            }
            slot = (slot + 1) & tableMask
        }
    }

    /// A text's hash: its two words and length and, past 16 bytes, every
    /// middle byte too, so that ids differing only in the middle
    /// (`org-000123-eu-west`) do not all collide into one probe chain.
    @inline(__always)
    static func textHash(_ text: UnsafeRawPointer?, _ length: Int, head: UInt64, tail: UInt64) -> UInt64 {
        var hash = (head &* 0x9E37_79B9_7F4A_7C15) ^ ((tail ^ UInt64(length)) &* 0xC2B2_AE3D_27D4_EB4F)
        if length > 16, let text {
            // 8-byte chunks from offset 8; the last may overlap the tail.
            var offset = 8
            while offset < length - 8 {
                hash = (hash ^ text.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
                hash ^= hash >> 29
                offset += 8
            }
        }
        return hash
    }

    /// The first eight bytes of a text and, past eight bytes, its last eight
    /// (overlapping the first when shorter than 16), zero-padded, read
    /// without touching a byte outside the text. For a given length the pair
    /// determines texts of up to 16 bytes exactly; longer texts compare their
    /// middle bytes too.
    @inline(__always)
    static func words(_ text: UnsafeRawPointer?, _ length: Int) -> (head: UInt64, tail: UInt64) {
        guard let text, length > 0 else { return (0, 0) }
        if length >= 8 {
            let head = UInt64(littleEndian: text.loadUnaligned(as: UInt64.self))
            return (head, length > 8 ? UInt64(littleEndian: text.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)) : 0)
        }
        if length >= 4 {
            // Two overlapping 4-byte loads, read little-endian so that byte k
            // lands in bits 8k..8k+7 on any machine; the shared bytes OR
            // onto themselves.
            let low = UInt64(UInt32(littleEndian: text.loadUnaligned(as: UInt32.self)))
            let high = UInt64(UInt32(littleEndian: text.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self)))
            return (low | high << (UInt64(length - 4) &* 8), 0)
        }
        let first = UInt64(text.load(as: UInt8.self))
        let middle = UInt64(text.load(fromByteOffset: length >> 1, as: UInt8.self))
        let last = UInt64(text.load(fromByteOffset: length - 1, as: UInt8.self))
        return (first | middle << (UInt64(length >> 1) &* 8) | last << (UInt64(length - 1) &* 8), 0)
    }

    private mutating func insert(
        type: Int32, payload: Int64, text: UnsafeRawPointer?, length: Int,
        head: UInt64, tail: UInt64, hash: UInt64, slot: Int
    ) -> Int32 {
        if count == capacity {
            let newCapacity = capacity * 2
            types = Self.grow(types, count, newCapacity)
            payloads = Self.grow(payloads, count, newCapacity)
            lengths = Self.grow(lengths, count, newCapacity)
            heads = Self.grow(heads, count, newCapacity)
            tails = Self.grow(tails, count, newCapacity)
            hashes = Self.grow(hashes, count, newCapacity)
            capacity = newCapacity
        }
        let code = count
        types[code] = type
        lengths[code] = Int32(truncatingIfNeeded: length)
        heads[code] = head
        tails[code] = tail
        hashes[code] = hash
        if type == SQLITE_TEXT || type == SQLITE_BLOB {
            if byteCount + length > byteCapacity {
                var newCapacity = byteCapacity * 2
                while newCapacity < byteCount + length { newCapacity *= 2 }
                bytes = Self.grow(bytes, byteCount, newCapacity)
                byteCapacity = newCapacity
            }
            payloads[code] = Int64(byteCount)
            if length > 0 { (bytes + byteCount).update(from: text!.assumingMemoryBound(to: UInt8.self), count: length) }
            byteCount += length
        } else {
            payloads[code] = payload
        }
        count += 1
        table[slot] = Int32(code)
        if count * 4 > tableMask + 1 { rebuildTable() }
        return Int32(code)
    }

    private static func grow<T>(_ pointer: UnsafeMutablePointer<T>, _ count: Int, _ capacity: Int) -> UnsafeMutablePointer<T> {
        let new = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        new.moveInitialize(from: pointer, count: count)
        pointer.deallocate()
        return new
    }

    /// Doubles the table and places every code again.
    private mutating func rebuildTable() {
        let size = (tableMask + 1) * 2
        table.deallocate()
        table = .allocate(capacity: size)
        table.initialize(repeating: -1, count: size)
        tableShift = UInt64(64 - size.trailingZeroBitCount)
        tableMask = size - 1
        for code in 0..<count {
            var slot = Int(truncatingIfNeeded: hashes[code] >> tableShift)
            while table[slot] >= 0 { slot = (slot + 1) & tableMask }
            table[slot] = Int32(code)
        }
    }

    /// The value behind a code, decoded once per group when results are built.
    func value(_ code: Int32) -> StatValue {
        let i = Int(code)
        switch types[i] {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(payloads[i])
        case SQLITE_FLOAT: return .real(Double(bitPattern: UInt64(bitPattern: payloads[i])))
        case SQLITE_BLOB:
            return .blob(Data(UnsafeBufferPointer(start: bytes + Int(payloads[i]), count: Int(lengths[i]))))
        default:
            let buffer = UnsafeBufferPointer(start: bytes + Int(payloads[i]), count: Int(lengths[i]))
            return .text(String(decoding: buffer, as: UTF8.self))
        }
    }
}
