// swift-tools-version:6.1
// Tally: an embedded analytics engine over a local SQLite file.
//
// Layers (each depends only on the ones above it):
//   TallyCore    what an embedder links: schema, engine, rollups, cache, answers
//   TallyReport  offline HTML/Markdown/CSV reports
//   TallyHTTP    Hummingbird routes a host server mounts
//   TallyRedis   a shared cache level in Redis (RESP over SwiftNIO)
//   TallyWorkloads  benchmark workloads, linked only by the CLI and Benchmarks/
//   TallyCLI     the `tally` executable: the only place that chooses log/metrics backends
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    // As Hummingbird's Package.swift: `any` spelled out, imports stated
    // where members are used, and `public import` saying what an API exposes.
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Tally",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "TallyCore", targets: ["TallyCore"]),
        .library(name: "TallyReport", targets: ["TallyReport"]),
        .library(name: "TallyHTTP", targets: ["TallyHTTP"]),
        .library(name: "TallyRedis", targets: ["TallyRedis"]),
        .executable(name: "tally", targets: ["TallyCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "TallyCore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TallyReport",
            dependencies: ["TallyCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TallyHTTP",
            dependencies: [
                "TallyCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // A Redis client (RESP2 over SwiftNIO) and the shared cache level's
        // store on it. It depends on TallyCore, never the other way round:
        // an embedder that shares no cache links no networking code.
        .target(
            name: "TallyRedis",
            dependencies: [
                "TallyCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/TallyRedis",
            swiftSettings: swiftSettings
        ),
        // What `tally bench` and `Benchmarks/` time: not part of any product.
        .target(
            name: "TallyWorkloads",
            dependencies: [
                "TallyCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "TallyCLI",
            dependencies: [
                "TallyCore",
                "TallyRedis",
                "TallyReport",
                "TallyHTTP",
                "TallyWorkloads",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers every test target shares: temporary files, generated
        // databases, the SQL recorder, gates for ordering tasks.
        .target(
            name: "TallyTestSupport",
            dependencies: [
                "TallyCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Tests/TallyTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyCoreTests",
            dependencies: [
                "TallyCore",
                "TallyTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyReportTests",
            dependencies: ["TallyReport", "TallyCore", "TallyTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyHTTPTests",
            dependencies: [
                "TallyHTTP",
                "TallyCore",
                "TallyTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyRedisTests",
            dependencies: [
                "TallyRedis",
                "TallyCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                "TallyTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/TallyRedisTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyCLITests",
            dependencies: ["TallyCLI", "TallyCore", "TallyTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)

// package-benchmark only when benchmarks run (as Hummingbird gates its own):
// an embedder resolving TallyCore never fetches it.
//   TALLY_BENCHMARKS=1 swift package benchmark
if Context.environment["TALLY_BENCHMARKS"] != nil {
    // The trait list is what makes it resolve on this toolchain.
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "TallyBenchmarks",
            dependencies: [
                "TallyCore",
                "TallyWorkloads",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TallyBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}
