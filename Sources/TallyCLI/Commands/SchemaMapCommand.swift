import ArgumentParser
import Foundation
import TallyCore

/// `tally schema-map guess`: a starter map for an app's own database.
struct SchemaMapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema-map",
        abstract: "Write a starter schema map for a database an app (Prisma, Django, Rails) already has.",
        discussion: """
            A schema map tells every reading command (and `rollups enable`) which of the app's tables \
            and columns hold Tally's, and how to convert their values: timestamps (epoch-ms, epoch-s, \
            iso8601, julian-day; text is always read as ISO 8601, naive text as UTC unless the column \
            names a "zone"), money (minor, or \
            major converted exactly to cents), booleans (1/0, 't'/'f', 'true'/'false') and enum values \
            (the app's 'completed' or Rails' 3 as COMPLETED). Nothing is written to the app's database.

              guess   inspect the file (names by the Prisma, Django and Rails
                      conventions, conversions by sampling the stored values) and
                      print a map on stdout, with a "note" on every guess

            Examples:
              tally schema-map guess --db dev.db > dev.map.json
              tally dashboard --db dev.db --schema-map dev.map.json
              tally rollups enable --db dev.db --schema-map dev.map.json
            """)

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case guess
    }

    @Argument(help: "guess.")
    var action: Action

    @OptionGroup var database: DatabaseOption

    func run() async throws {
        let guess = try SchemaMapGuesser.guess(path: database.db)
        FileHandle.standardOutput.write(Data(guess.json.utf8))
    }
}
