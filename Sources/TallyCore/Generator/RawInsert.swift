import GRDB
import GRDBSQLite

/// A prepared INSERT stepped through SQLite's C API, so that inserting a row
/// binds a few integers and byte pointers and allocates nothing.
///
/// GRDB's `Statement.execute(arguments:)` builds a `StatementArguments` array
/// per row; at millions of rows per second that allocation dominates.
final class RawInsert {
    private let statement: Statement
    private let handle: OpaquePointer
    private let db: Database

    init(_ db: Database, sql: String) throws {
        self.db = db
        statement = try db.makeStatement(sql: sql)
        handle = statement.sqliteStatement
    }

    @inline(__always) func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    @inline(__always) func bind(_ index: Int32, _ value: Double) {
        sqlite3_bind_double(handle, index, value)
    }

    @inline(__always) func bindNull(_ index: Int32) {
        sqlite3_bind_null(handle, index)
    }

    /// Binds text that stays valid until the next bind of this parameter
    /// (SQLITE_STATIC: SQLite does not copy it).
    @inline(__always) func bind(_ index: Int32, _ text: TextBytes) {
        sqlite3_bind_text(handle, index, text.pointer, Int32(text.count), sqliteStatic)
    }

    @inline(__always) func step() throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        if code != SQLITE_DONE {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                sql: statement.sql)
        }
    }
}

/// `SQLITE_STATIC`, which the C macro defines as `(sqlite3_destructor_type)0`.
let sqliteStatic: sqlite3_destructor_type? = nil

/// A reusable, manually managed byte buffer for building text values without
/// allocating per row.
final class TextBytes {
    private(set) var pointer: UnsafeMutablePointer<CChar>
    private(set) var count = 0
    private let capacity: Int

    init(capacity: Int = 128) {
        self.capacity = capacity
        pointer = .allocate(capacity: capacity)
    }

    /// A buffer holding a fixed string, e.g. an enum value.
    convenience init(_ string: String) {
        self.init(capacity: string.utf8.count + 1)
        append(string)
    }

    deinit { pointer.deallocate() }

    @inline(__always) func clear() { count = 0 }

    @inline(__always) func append(_ string: StaticString) {
        string.withUTF8Buffer { bytes in
            for byte in bytes { appendByte(byte) }
        }
    }

    func append(_ string: String) {
        for byte in string.utf8 { appendByte(byte) }
    }

    @inline(__always) func append(_ other: TextBytes) {
        for i in 0..<other.count { appendByte(UInt8(bitPattern: other.pointer[i])) }
    }

    @inline(__always) func appendByte(_ byte: UInt8) {
        precondition(count < capacity, "TextBytes overflow")
        pointer[count] = CChar(bitPattern: byte)
        count += 1
    }

    /// Appends a non-negative integer in decimal.
    @inline(__always) func append(decimal value: Int64) {
        append(value, radix: 10, minimumDigits: 1)
    }

    /// Appends a non-negative integer in base 10 or 36, left-padded with zeros.
    func append(_ value: Int64, radix: Int64, minimumDigits: Int) {
        precondition(value >= 0)
        var digits: (UInt64, UInt64) = (0, 0)  // room for 16 digits, no heap
        var n = value
        var length = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                let d = UInt8(n % radix)
                buffer[length] = d < 10 ? 48 + d : 87 + d  // 0-9, a-z
                n /= radix
                length += 1
            } while n > 0 && length < 16
            while length < minimumDigits && length < 16 {
                buffer[length] = 48
                length += 1
            }
            for i in stride(from: length - 1, through: 0, by: -1) { appendByte(buffer[i]) }
        }
    }
}
