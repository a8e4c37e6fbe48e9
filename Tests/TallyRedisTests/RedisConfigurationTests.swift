import TallyRedis
import Testing

@Suite("Redis URL")
struct RedisConfigurationTests {
    @Test("host and port")
    func hostAndPort() throws {
        let configuration = try RedisConfiguration(url: "redis://cache.internal:6380")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.password == nil)
        #expect(configuration.username == nil)
        #expect(configuration.database == 0)
    }

    @Test("the port defaults to 6379, a trailing slash is database 0")
    func defaults() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost/")
        #expect(configuration.host == "localhost")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
    }

    @Test("password, database, and the password masked in the description")
    func passwordAndDatabase() throws {
        let configuration = try RedisConfiguration(url: "REDIS://:s3cr%40t@127.0.0.1:6379/5")
        #expect(configuration.password == "s3cr@t")
        #expect(configuration.username == nil)
        #expect(configuration.database == 5)
        #expect(configuration.description == "redis://:***@127.0.0.1:6379/5")
    }

    @Test("ACL user and password; a raw '@' in the password")
    func userAndPassword() throws {
        let configuration = try RedisConfiguration(url: "redis://cache:p@ss@10.0.0.1:7000")
        #expect(configuration.username == "cache")
        #expect(configuration.password == "p@ss")
        #expect(configuration.host == "10.0.0.1")
        #expect(configuration.port == 7000)
    }

    @Test("IPv6 host in brackets")
    func ipv6() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:6390/2")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 6390)
        #expect(configuration.database == 2)
        #expect(configuration.description == "redis://[::1]:6390/2")
    }

    /// A bad URL, and the words its error must contain.
    static let invalid: [(url: String, says: String)] = [
        ("http://localhost:6379", "does not start with redis://"),
        ("localhost:6379", "does not start with redis://"),
        ("redis://", "has no host"),
        ("redis://:6379", "has no host"),
        ("redis://localhost:abc", "port 'abc'"),
        ("redis://localhost:0", "port '0'"),
        ("redis://localhost:65536", "port '65536'"),
        ("redis://localhost:", "port ''"),
        ("redis://localhost:6379/x", "database 'x'"),
        ("redis://localhost:6379/-1", "database '-1'"),
        ("redis://localhost:6379/1/2", "database '1/2'"),
        ("redis://secret@localhost", "credentials without a ':'"),
        ("redis://:@localhost", "empty password"),
        ("redis://:a%zz@localhost", "invalid percent-escape"),
        ("redis://[::1:6379", "closing ']'"),
        ("redis://localhost:6379?db=1", "query"),
    ]

    @Test("a bad URL is one sentence naming what is wrong", arguments: invalid.indices)
    func invalidURL(_ index: Int) {
        let (url, says) = Self.invalid[index]
        let error = #expect(throws: RedisError.self, "\(url)") { try RedisConfiguration(url: url) }
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains(says) == true, "\(error?.message ?? "") should say \(says)")
        #expect(error?.message.hasSuffix(".") == true)
    }

    @Test("the password never appears in an error")
    func passwordNotInError() {
        let error = #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis://:hunter2@localhost:99999") }
        #expect(error?.message.contains("hunter2") == false)
        #expect(error?.message.contains(":***@") == true)
    }
}
