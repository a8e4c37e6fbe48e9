import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TallyCore
import TallyHTTP
import TallyTestSupport
import Testing

/// A generated database in a temporary directory.
final class Fixture: Sendable {
    let directory: TemporaryDirectory
    let path: String
    let database: TallyDatabase
    var writer: DatabasePool { database.writer! }

    init(bookings: Int = 1_500) throws {
        directory = try TemporaryDirectory()
        path = directory.path("t.sqlite")
        database = try TallyDatabase.openForWriting(path: path)
        _ = try DataGenerator(bookings: bookings, seed: 3).run(in: database.writer!)
    }

    func service(
        settings: TallyDatabase.PoolSettings = .init(), metricsText: (@Sendable () -> String)? = { "# HELP tally_test 1\n" }
    )
        throws -> TallyHTTPService
    {
        TallyHTTPService(
            engine: TallyEngine(database: try TallyDatabase.openReadOnly(path: path, settings: settings)),
            metricsText: metricsText)
    }

    /// A host application with its own route, Tally's mounted under `path`.
    func app(at path: String = "") throws -> some ApplicationProtocol {
        let router = Router()
        router.get("/hello") { _, _ in "host route" }
        addTallyRoutes(to: router, atPath: path, service: try service())
        return Application(router: router)
    }
}

func json(_ buffer: ByteBuffer) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as! [String: Any]
}

@Suite("HTTP routes")
struct HTTPTests {
    @Test("dashboard: contract JSON, ETag, 304 without recomputation")
    func dashboardETag() async throws {
        let fixture = try Fixture()
        let service = try fixture.service()
        let router = Router()
        addTallyRoutes(to: router, service: service)
        try await Application(router: router).test(.router) { client in
            let etag = try await client.execute(uri: "/api/dashboard", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(response.headers[.cacheControl] == "private, max-age=5")
                let body = try json(response.body)
                #expect(Set(body.keys) == ["users", "drivers", "vehicles", "bookings", "payments", "modules", "meta"])
                #expect((body["meta"] as? [String: Any])?["cache"] as? String == "miss")
                return try #require(response.headers[.eTag])
            }
            try await client.execute(uri: "/api/dashboard", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
                #expect(response.headers[.eTag] == etag)
            }
            #expect(service.engine.cache?.snapshot.loadsSucceeded == 1)
            #expect(service.engine.cache?.snapshot.requests == 1)  // the 304 computed nothing, looked nothing up
            // A write changes the version: the old ETag no longer matches.
            try await fixture.writer.write {
                try $0.execute(sql: "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 5, 'COMPLETED', 1)")
            }
            try await client.execute(uri: "/api/dashboard", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.eTag] != etag)
            }
        }
    }

    @Test(
        "bad input is a 400 with a JSON error, never a 500",
        arguments: [
            "/api/revenue?period=fortnight", "/api/revenue?tz=Mars/Olympus", "/api/revenue?from=2024-13-45",
            "/api/revenue?from=2024-02-01&to=2024-01-01", "/api/revenue?from=%27;%20DROP%20TABLE%20payments;%20--",
            "/api/bookings?limit=0", "/api/bookings?limit=1001", "/api/bookings?limit=-5", "/api/bookings?limit=abc",
            "/api/bookings?limit=99999999999999999999999", "/api/bookings?cursor=not-a-cursor!", "/api/bookings?cursor=djE6eDp5",
            "/api/organizations?cursor=%00%00", "/api/organizations?limit=1e3",
            "/api/dashboard?strategy=magic", "/api/revenue?period=day&period=month",
            "/api/revenue?tz=" + String(repeating: "A", count: 300),
        ])
    func badInput(uri: String) async throws {
        let fixture = try Fixture(bookings: 200)
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .badRequest, "\(uri)")
                let body = try json(response.body)
                #expect(body.keys.sorted() == ["error"])
                #expect((body["error"] as? String)?.isEmpty == false)
            }
        }
        // The database is unchanged.
        let count = try await fixture.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM payments") }
        #expect(count ?? 0 > 0)
    }

    @Test("revenue matches the engine; health and metrics answer")
    func revenueHealthMetrics() async throws {
        let fixture = try Fixture(bookings: 500)
        let expected = try await TallyEngine(database: fixture.database, cache: .disabled)
            .revenue(RevenueQuery(period: "quarter", timeZone: "Europe/Paris", from: "2024-01-01", to: "2025-01-01"))
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/api/revenue?period=quarter&tz=Europe/Paris&from=2024-01-01&to=2025-01-01", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                let buckets = body["buckets"] as! [[String: Any]]
                #expect(buckets.map { $0["start"] as! String } == expected.buckets.map(\.start))
                #expect(buckets.map { ($0["amount"] as! NSNumber).int64Value } == expected.buckets.map { $0.amount.integer! })
                #expect(body["from"] as? String == "2024-01-01T00:00:00+01:00")
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("tally_test"))
            }
            try await client.execute(uri: "/hello", method: .get) { #expect(String(buffer: $0.body) == "host route") }
        }
    }

    @Test("mounted under /stats by a host application")
    func mounted() async throws {
        let fixture = try Fixture(bookings: 200)
        try await fixture.app(at: "/stats").test(.router) { client in
            try await client.execute(uri: "/stats/api/dashboard", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/stats/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/hello", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/dashboard", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test("bookings: newest first, every row once, stable under concurrent inserts; status filter")
    func bookingsPagination() async throws {
        let fixture = try Fixture(bookings: 1_200)
        let all = try await fixture.writer.read { try Int64.fetchAll($0, sql: "SELECT id FROM bookings ORDER BY createdAt DESC, id DESC") }
        try await fixture.app().test(.router) { client in
            var seen: [Int64] = []
            var cursor: String?
            var pages = 0
            repeat {
                let uri = "/api/bookings?limit=100" + (cursor.map { "&cursor=\($0)" } ?? "")
                cursor = try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok)
                    let body = try json(response.body)
                    seen += (body["bookings"] as! [[String: Any]]).map { ($0["id"] as! NSNumber).int64Value }
                    return body["nextCursor"] as? String
                }
                pages += 1
                // Inserts between pages, newer than everything: never shown, never shifting.
                try await fixture.writer.write {
                    try $0.execute(
                        sql: """
                            INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt)
                            VALUES (1, 'RIDE', 'PENDING', 1, 0, 9999999999999)
                            """)
                }
            } while cursor != nil && pages < 100
            #expect(seen == all)
            #expect(pages == 12)
            try await client.execute(uri: "/api/bookings?limit=1000&status=CANCELLED", method: .get) { response in
                let rows = try json(response.body)["bookings"] as! [[String: Any]]
                #expect(!rows.isEmpty && rows.allSatisfy { $0["status"] as? String == "CANCELLED" })
            }
            // A status outside the enum is a filter like any other (no row here has it).
            try await client.execute(uri: "/api/bookings?status=LOST", method: .get) { response in
                #expect(response.status == .ok)
                let rows = try json(response.body)["bookings"] as! [[String: Any]]
                #expect(rows.isEmpty)
            }
        }
    }

    @Test("organizations: pages with active module counts, batched")
    func organizationsPagination() async throws {
        let fixture = try Fixture(bookings: 5_000)  // 10 organizations
        let expected = try await TallyEngine(database: fixture.database, cache: .disabled).moduleCounts().organizations
        try await fixture.app().test(.router) { client in
            var seen: [[String: Any]] = []
            var cursor: String?
            repeat {
                cursor = try await client.execute(uri: "/api/organizations?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""), method: .get) {
                    response in
                    #expect(response.status == .ok)
                    let body = try json(response.body)
                    seen += body["organizations"] as! [[String: Any]]
                    return body["nextCursor"] as? String
                }
            } while cursor != nil
            #expect(seen.map { $0["id"] as! String } == expected.map(\.id))
            #expect(seen.map { ($0["activeModules"] as! NSNumber).int64Value } == expected.map(\.activeModules))
        }
    }

    @Test("pagination uses the documented indexes, with no sort")
    func paginationPlans() async throws {
        let fixture = try Fixture(bookings: 300)
        let plans = try await fixture.writer.read { try QueryPlanExplainer.explainAll(in: $0) }.filter { $0.strategy == "keyset" }
        #expect(plans.count == 7)
        for plan in plans {
            let index =
                plan.purpose.contains("organizations")
                ? "sqlite_autoindex_organizations_1"
                : plan.purpose.contains("status") ? "idx_bookings_status_createdAt" : "idx_bookings_createdAt"
            #expect(plan.indexes.contains(index), "\(plan.purpose): \(plan.plan)")
            #expect(!plan.tempBTree, "\(plan.purpose): \(plan.plan)")
        }
    }

    @Test("a live server on loopback: 400 concurrent requests, one computation, all answered")
    func liveLoad() async throws {
        let fixture = try Fixture(bookings: 2_000)
        let service = try fixture.service()
        let router = Router()
        addTallyRoutes(to: router, service: service)
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<400 {
                    group.addTask {
                        let uri = i % 4 == 0 ? "/api/revenue?period=month" : "/api/dashboard"
                        return try await client.execute(uri: uri, method: .get) { $0.status }
                    }
                }
                var statuses: [HTTPResponse.Status] = []
                for try await status in group { statuses.append(status) }
                #expect(statuses.count == 400)
                #expect(statuses.allSatisfy { $0 == .ok })
            }
        }
        #expect(service.engine.cache?.snapshot.loadsSucceeded == 2)  // one dashboard, one revenue
    }
}

@Suite("HTTP failures")
struct HTTPFailureTests {
    @Test("a database that stops answering is a 500 with a JSON error that names no server path")
    func databaseGone() async throws {
        let fixture = try Fixture(bookings: 100)
        let database = try TallyDatabase.openReadOnly(path: fixture.path)
        let service = TallyHTTPService(engine: TallyEngine(database: database, cache: .disabled))
        let router = Router()
        addTallyRoutes(to: router, service: service)
        try database.close()
        try await Application(router: router).test(.router) { client in
            for uri in ["/health", "/api/dashboard", "/api/bookings"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .internalServerError, "\(uri)")
                    let body = try json(response.body)
                    #expect(body.keys.sorted() == ["error"])
                    #expect(!(body["error"] as! String).contains(fixture.directory.url.path), "no server path")
                }
            }
        }
    }

    @Test("every reader busy past the pool timeout: 503 with Retry-After and a JSON error")
    func poolTimeout() async throws {
        let fixture = try Fixture(bookings: 100)
        let service = try fixture.service(settings: .init(maximumReaderCount: 1, readerTimeout: .milliseconds(20)))
        let router = Router()
        addTallyRoutes(to: router, service: service)
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let slow = Task {
            try await service.engine.read { db in
                holding.signal()
                release.wait()
                return try Int.fetchOne(db, sql: "SELECT 1")
            }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                holding.wait(); continuation.resume()
            }
        }
        try await Application(router: router).test(.router) { client in
            for uri in ["/api/dashboard", "/api/bookings", "/health"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .serviceUnavailable, "\(uri)")
                    #expect(response.headers[.retryAfter] == "1")
                    let body = try json(response.body)
                    #expect(body.keys.sorted() == ["error"])
                }
            }
        }
        release.signal()
        _ = try await slow.value
    }
}

@Suite("HTTP hostile parameters")
struct HTTPFuzzTests {
    static let values = [
        "", "-1", "0", "1", "1001", "99999999999999999999999", "abc", "%00", "%27%3B%20DROP%20TABLE%20payments%3B%20--",
        "%E6%97%A5%E6%9C%AC", "%F0%9F%99%82", "2024-02-30", "2024-01-01T00:00:00Z", "Europe%2FParis", "month",
        "djE6MTo", "djE6eDp5", "djFvOg", "%2E%2E%2F%2E%2E", String(repeating: "x", count: 2_000), "%FF%FE", "%",
    ]

    @Test("random garbage in every parameter: a 200 or a 400 with a JSON error, never a 500")
    func garbage() async throws {
        let fixture = try Fixture(bookings: 300)
        let before = try await fixture.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM payments") }
        let routes: [(String, [String])] = [
            ("/api/revenue", ["period", "from", "to", "tz", "strategy"]), ("/api/dashboard", ["strategy"]),
            ("/api/bookings", ["limit", "cursor", "status"]), ("/api/organizations", ["limit", "cursor"]),
        ]
        var rng = SplitMix64(seed: 20_261_122)
        var uris: [String] = []
        for (route, parameters) in routes {
            for _ in 0..<40 {
                let query = parameters.filter { _ in Bool.random(using: &rng) }
                    .map { "\($0)=\(Self.values.randomElement(using: &rng)!)" }.joined(separator: "&")
                uris.append(query.isEmpty ? route : route + "?" + query)
            }
        }
        let requests = uris
        try await fixture.app().test(.router) { client in
            for uri in requests {
                do {
                    try await client.execute(uri: uri, method: .get) { response in
                        #expect(response.status == .ok || response.status == .badRequest, "\(uri.prefix(200)) → \(response.status)")
                        if response.status == .badRequest {
                            let body = try json(response.body)
                            #expect(body.keys.sorted() == ["error"])
                        }
                    }
                }
            }
        }
        let after = try await fixture.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM payments") }
        #expect(before == after)
    }
}
