import Foundation
import Hummingbird
import HummingbirdTesting
import TallyCore
import TallyHTTP
import TallyTestSupport
import Testing

/// The HTTP examples of the doc comments and the README, verbatim (the
/// TallyCore suite "documentation examples" checks they are here).
@Suite("HTTP documentation examples", .serialized)
struct HTTPDocumentationExampleTests {
    static func inDirectory<T>(_ body: () async throws -> T) async throws -> T {
        let dir = try TemporaryDirectory()
        for name in ["tally.sqlite", "shop.sqlite"] {
            try generatedDatabase(in: dir, bookings: 200, name: name).close()
        }
        return try await CurrentDirectory.with(dir.path("")) { try await body() }
    }

    @Test("TallyHTTPService: routes mounted beside the host's own")
    func serviceExample() async throws {
        try await Self.inDirectory {
            let database = try TallyDatabase.openReadOnly(path: "tally.sqlite")
            let service = TallyHTTPService(engine: TallyEngine(database: database))
            let router = Router()
            router.get("/") { _, _ in "my app" }
            addTallyRoutes(to: router, atPath: "/stats", service: service)
            try await Application(router: router).test(.router) { client in
                try await client.execute(uri: "/", method: .get) { #expect(String(buffer: $0.body) == "my app") }
                try await client.execute(uri: "/stats/api/dashboard", method: .get) { #expect($0.status == .ok) }
            }
        }
    }

    @Test("the README's host application")
    func readmeExample() async throws {
        // As written it serves until SIGTERM: compiled here, not run.
        let serve: @Sendable () async throws -> Void = {
            let database = try TallyDatabase.openReadOnly(path: "shop.sqlite")
            let service = TallyHTTPService(engine: TallyEngine(database: database))
            let router = Router()
            router.get("/hello") { _, _ in "host route" }
            addTallyRoutes(to: router, atPath: "/stats", service: service)  // GET /stats/api/dashboard, …
            try await Application(router: router).runService()
        }
        _ = serve
        // The same application, answering in process.
        try await Self.inDirectory {
            let database = try TallyDatabase.openReadOnly(path: "shop.sqlite")
            let service = TallyHTTPService(engine: TallyEngine(database: database))
            let router = Router()
            router.get("/hello") { _, _ in "host route" }
            addTallyRoutes(to: router, atPath: "/stats", service: service)
            try await Application(router: router).test(.router) { client in
                try await client.execute(uri: "/hello", method: .get) { #expect(String(buffer: $0.body) == "host route") }
                try await client.execute(uri: "/stats/api/dashboard", method: .get) { #expect($0.status == .ok) }
            }
        }
    }
}
