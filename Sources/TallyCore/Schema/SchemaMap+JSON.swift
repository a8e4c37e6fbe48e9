public import Foundation

/// A map's JSON: parsed by hand rather than by `Decodable`, so that a typo
/// (`"timestmap"`) is an error naming its entry instead of a silently
/// ignored key, and written in Tally's table and column order.
extension SchemaMap {
    /// Parses a map file's contents.
    ///
    /// - throws: `TallyError.Kind.invalidInput` naming the entry that is wrong.
    public init(json data: Data) throws {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw TallyError.invalid("schema map: not valid JSON (\(Self.describe(error)))")
        }
        guard case .object(let object) = root else { throw Self.error("(top level)", "expected an object with \"tables\"") }
        try Self.checkKeys(object, allowed: ["tables"], at: "(top level)")
        guard case .object(let tablesObject)? = object["tables"] else {
            throw Self.error("tables", "expected an object mapping Tally's tables to the app's")
        }
        var tables: [String: Table?] = [:]
        for (name, value) in tablesObject where name != "note" {
            let entry = "tables.\(name)"
            if case .null = value {
                tables[name] = .some(nil)
                continue
            }
            guard case .object(let tableObject) = value else { throw Self.error(entry, "expected an object or null") }
            try Self.checkKeys(tableObject, allowed: ["table", "columns"], at: entry)
            guard case .string(let appTable)? = tableObject["table"] else {
                throw Self.error(entry, "\"table\" must be the app's table name")
            }
            var columns: [String: Column?] = [:]
            if let columnsValue = tableObject["columns"] {
                guard case .object(let columnsObject) = columnsValue else { throw Self.error("\(entry).columns", "expected an object") }
                for (columnName, columnValue) in columnsObject where columnName != "note" {
                    columns[columnName] = try Self.column(columnValue, at: "\(entry).columns.\(columnName)")
                }
            }
            tables[name] = Table(appTable, columns: columns)
        }
        try self.init(tables: tables)
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
        default: "\(error)"
        }
    }

    private static func column(_ value: JSONValue, at entry: String) throws -> Column? {
        switch value {
        case .null: return nil
        case .string(let name): return Column(name)
        case .object(let object):
            try checkKeys(object, allowed: ["column", "timestamp", "zone", "money", "minorDigits", "boolean", "values"], at: entry)
            guard case .string(let name)? = object["column"] else { throw error(entry, "\"column\" must be the app's column name") }
            var column = Column(name)
            if let format = object["timestamp"] {
                guard case .string(let text) = format, let parsed = TimestampFormat(rawValue: text) else {
                    throw error(entry, "\"timestamp\" must be one of \(TimestampFormat.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                column.timestamp = parsed
            }
            if let zone = object["zone"] {
                guard case .string(let name) = zone else { throw error(entry, "\"zone\" must be a tz database name such as Europe/Paris") }
                do {
                    column.zone = try Zone(name)
                } catch let failure as TallyError {
                    throw error(entry, failure.message)
                }
            }
            if let unit = object["money"] {
                guard case .string(let text) = unit, let parsed = MoneyUnit(rawValue: text) else {
                    throw error(entry, "\"money\" must be minor or major")
                }
                column.money = parsed
            }
            if let digits = object["minorDigits"] {
                guard case .number(let number) = digits, let exact = Int(exactly: number) else {
                    throw error(entry, "\"minorDigits\" must be an integer")
                }
                column.minorDigits = exact
            }
            if let flag = object["boolean"] {
                guard case .bool(let on) = flag else { throw error(entry, "\"boolean\" must be true or false") }
                column.boolean = on
            }
            if let values = object["values"] {
                guard case .object(let mapping) = values else { throw error(entry, "\"values\" must map stored values to Tally's names") }
                for (stored, name) in mapping where stored != "note" {
                    guard case .string(let name) = name else {
                        throw error(entry, "value \"\(stored.quotedForMessage())\" must map to a text (one of Tally's names)")
                    }
                    column.values[stored] = name
                }
            }
            return column
        default:
            throw error(entry, "expected a column name, an object or null")
        }
    }

    private static func checkKeys(_ object: [String: JSONValue], allowed: Set<String>, at entry: String) throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) && $0 != "note" }) {
            throw error(entry, "unknown key \"\(unknown.quotedForMessage())\" (expected \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// The map as JSON, in Tally's table and column order, with a note per
    /// table and column where `notes` has one (keyed `table` or
    /// `table.column`).
    public func json(notes: [String: String] = [:]) -> String {
        func string(_ text: String) -> String {
            let data = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed])) ?? Data("\"\"".utf8)
            return String(decoding: data, as: UTF8.self)
        }
        var tableEntries: [String] = []
        // JSON has no room for a note on a null: the notes of what the app
        // lacks go in the enclosing object's note list.
        var absentTableNotes: [String] = []
        for schema in TallySchema.tables {
            guard case .some(.some(let table)) = tables[schema.name] else {
                tableEntries.append("  \(string(schema.name)): null")
                if let note = notes[schema.name] { absentTableNotes.append("\(schema.name): \(note)") }
                continue
            }
            var tableNotes = notes[schema.name].map { [$0] } ?? []
            var columnEntries: [String] = []
            for name in schema.columns {
                guard let mapped = table.columns[name] else { continue }
                let columnNote = notes["\(schema.name).\(name)"]
                guard let column = mapped else {
                    columnEntries.append("    \(string(name)): null")
                    if let columnNote { tableNotes.append("\(name): \(columnNote)") }
                    continue
                }
                var fields = ["\"column\": \(string(column.column))"]
                if let format = column.timestamp { fields.append("\"timestamp\": \(string(format.rawValue))") }
                if let zone = column.zone { fields.append("\"zone\": \(string(zone.identifier))") }
                if let unit = column.money { fields.append("\"money\": \(string(unit.rawValue))") }
                if column.money == .major, column.minorDigits != 2 { fields.append("\"minorDigits\": \(column.minorDigits)") }
                if column.boolean { fields.append("\"boolean\": true") }
                if !column.values.isEmpty {
                    let pairs = column.values.sorted { $0.key < $1.key }.map { "\(string($0.key)): \(string($0.value))" }
                    fields.append("\"values\": {\(pairs.joined(separator: ", "))}")
                }
                if let columnNote { fields.append("\"note\": \(string(columnNote))") }
                columnEntries.append(
                    fields.count == 1 ? "    \(string(name)): \(string(column.column))" : "    \(string(name)): {\(fields.joined(separator: ", "))}")
            }
            let note: String
            switch tableNotes.count {
            case 0: note = ""
            case 1: note = "\"note\": \(string(tableNotes[0])), "
            default: note = "\"note\": [\(tableNotes.map(string).joined(separator: ", "))], "
            }
            tableEntries.append(
                "  \(string(schema.name)): {\(note)\"table\": \(string(table.table)), \"columns\": {\n"
                    + columnEntries.joined(separator: ",\n") + "}}")
        }
        if !absentTableNotes.isEmpty {
            tableEntries.insert("  \"note\": [\n    " + absentTableNotes.map(string).joined(separator: ",\n    ") + "]", at: 0)
        }
        let lines = ["{\"tables\": {", tableEntries.joined(separator: ",\n"), "}}"]
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Any JSON value, decoded strictly: `true` is a boolean and `1` a number,
/// never one for the other.
enum JSONValue: Decodable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}
