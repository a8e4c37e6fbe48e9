import Foundation
import GRDB
import GRDBSQLite
import TallyTestSupport
import Testing

@testable import TallyCore

/// The interner keys texts by their length and first and last eight bytes,
/// so these values are chosen to share as much of that as possible.
@Suite("Value interner")
struct ValueInternerTests {
    /// A value as SQLite stores it, and the key it must group under
    /// (SQLite's own equality: 1.0 is 1, a text is never a number).
    enum Sample: Hashable {
        case null, integer(Int64), real(Double), text(String), blob([UInt8])

        var expectedKey: String {
            switch self {
            case .null: "null"
            case .integer(let v): "int:\(v)"
            case .real(let v): Int64(exactly: v).map { "int:\($0)" } ?? "real:\(v.bitPattern)"
            // A blob is never equal to a text with the same bytes (SQL's GROUP BY).
            case .text(let s): "text:" + Array(s.utf8).map(String.init).joined(separator: ",")
            case .blob(let b): "blob:" + b.map(String.init).joined(separator: ",")
            }
        }

        var statValue: StatValue? {
            switch self {
            case .null: .null
            case .integer(let v): .integer(v)
            case .real(let v): .real(v)
            case .text(let s): .text(s)
            case .blob(let b): .blob(Data(b))
            }
        }
    }

    static func adversarialSamples() -> [Sample] {
        var samples: [Sample] = [
            .null, .text(""), .blob([]), .integer(0), .integer(1), .integer(-1), .integer(.max), .integer(.min),
            .real(1.0), .real(-0.0), .real(2.5), .real(.infinity), .real(-2.5), .text("1"), .text("0"),
            .text("é"), .text("e\u{301}"), .text("\u{0}"), .text("a\u{0}b"), .blob([0x61, 0x62]), .text("ab"),
            .blob(Array("PENDING".utf8)), .blob(Array(String(repeating: "A", count: 20).utf8)),
        ]
        // Every length from 1 to 40, in families that share the head, the
        // tail or both, and differ in one byte at every position.
        for length in 1...40 {
            let base = String(repeating: "A", count: length)
            samples.append(.text(base))
            samples.append(.text(String(repeating: "\u{0}", count: length)))
            for position in 0..<length {
                var bytes = Array(base.utf8)
                bytes[position] = UInt8(ascii: "B")
                samples.append(.text(String(decoding: bytes, as: UTF8.self)))
            }
        }
        for status in ["PENDING", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "CANCELLED", "pending", "COMPLETED ", " COMPLETED"] {
            samples.append(.text(status))
        }
        return samples
    }

    @Test("codes follow SQLite's equality over adversarial values, and filter constants get the same codes")
    func adversarial() throws {
        try check(Self.adversarialSamples())
    }

    @Test("thousands of distinct values (the table grows many times), in random order")
    func manyValues() throws {
        var rng = SplitMix64(seed: 7)
        var samples: [Sample] = []
        for _ in 0..<20_000 {
            switch rng.next() % 3 {
            case 0: samples.append(.integer(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 60)))
            case 1: samples.append(.integer(Int64(rng.next() % 3_000)))
            default: samples.append(.text("org-\(rng.next() % 5_000)-" + String(repeating: "x", count: Int(rng.next() % 20))))
            }
        }
        try check(samples)
    }

    @Test("long texts that differ only in the middle get distinct hashes (no single probe chain)")
    func middleBytesAreHashed() throws {
        for (prefix, suffix) in [
            ("organization-", "-eu-west"), ("", "-constant-suffix"), ("same-head-", ""), ("a-prefix-of-16b-", "-and-16-b-suffix"),
        ] {
            var hashes = Set<UInt64>()
            for i in 0..<1_000 {
                var text = "\(prefix)\(i)\(suffix)"
                text.withUTF8 { buffer in
                    let pointer = UnsafeRawPointer(buffer.baseAddress)
                    let (head, tail) = ValueInterner.words(pointer, buffer.count)
                    hashes.insert(ValueInterner.textHash(pointer, buffer.count, head: head, tail: tail))
                }
            }
            #expect(hashes.count == 1_000, "\(prefix)…\(suffix): \(hashes.count) distinct hashes")
        }
    }

    /// Steps `SELECT v FROM t` over the samples (twice, so every value is
    /// seen again after all have been inserted) and checks the codes are a
    /// bijection with the expected keys, and that decoding gives the value back.
    private func check(_ samples: [Sample]) throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (v)")
            let insert = try db.makeStatement(sql: "INSERT INTO t (v) VALUES (?)")
            let insertText = try db.makeStatement(sql: "INSERT INTO t (v) VALUES (CAST(? AS TEXT))")
            for sample in samples + samples.reversed() {
                switch sample {
                case .null: try insert.execute(arguments: [DatabaseValue.null])
                case .integer(let v): try insert.execute(arguments: [v])
                case .real(let v): try insert.execute(arguments: [v])
                case .text(let s):
                    // Bound as bytes: a NUL inside stays part of the text.
                    try insertText.execute(arguments: [Data(s.utf8)])
                case .blob(let b): try insert.execute(arguments: [Data(b)])
                }
            }
        }
        var interner = ValueInterner()
        var codeOfKey: [String: Int32] = [:]
        var keyOfCode: [Int32: String] = [:]
        let expected = (samples + samples.reversed()).map(\.expectedKey)
        try queue.read { db in
            let statement = try db.makeStatement(sql: "SELECT v FROM t ORDER BY rowid")
            let handle = statement.sqliteStatement
            var row = 0
            while sqlite3_step(handle) == SQLITE_ROW {
                let code = interner.code(sqlite3_column_value(handle, 0))
                let key = expected[row]
                if let known = codeOfKey[key] {
                    #expect(known == code, "row \(row): \(key) got code \(code), earlier \(known)")
                } else {
                    #expect(keyOfCode[code] == nil, "row \(row): \(key) got the code of \(keyOfCode[code] ?? "")")
                    codeOfKey[key] = code
                    keyOfCode[code] = key
                }
                row += 1
            }
            sqlite3_reset(handle)
            #expect(row == expected.count)
            let textsWithNUL = samples.filter { if case .text(let s) = $0 { s.utf8.contains(0) } else { false } }.count
            #expect(
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t WHERE typeof(v) = 'text' AND instr(v, char(0)) > 0") == 2 * textsWithNUL,
                "texts with a NUL inside are stored whole")
        }
        #expect(interner.count == Set(expected).count)
        #expect(Set(codeOfKey.values) == Set(0..<Int32(interner.count)), "codes are dense")
        for sample in samples {
            guard let value = sample.statValue, let code = codeOfKey[sample.expectedKey] else { continue }
            #expect(interner.code(of: value) == code, "filter constant \(value)")
            if case .text(let s) = sample { #expect(interner.value(code) == .text(s)) }
            if case .integer(let v) = sample { #expect(interner.value(code) == .integer(v)) }
            if case .blob(let b) = sample { #expect(interner.value(code) == .blob(Data(b))) }
        }
        #expect(interner.count == Set(expected).count, "filter constants added nothing")
    }
}
