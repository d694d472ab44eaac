// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "aloft",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "aloft", targets: ["aloft"]),
        .library(name: "AloftCore", targets: ["AloftCore"]),
        .library(name: "AloftAPI", targets: ["AloftAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/vapor/fluent-kit.git", from: "1.57.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    ],
    targets: [
        // Domain: manifests, versions, signing, path rules, the protocol's byte formats (SHA-256, zlib). No HTTP, no
        // database.
        .target(
            name: "AloftCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The HTTP API's one definition: every request and response body, and the operations the OpenAPI document is built
        // from. The server and the CLI's client both use it. No HTTP, no database.
        .target(name: "AloftAPI", dependencies: ["AloftCore"]),
        // Persistence behind a protocol; FluentKit with SQLite (default) or PostgreSQL.
        .target(
            name: "AloftStore",
            dependencies: [
                "AloftCore",
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "FluentSQL", package: "fluent-kit"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Hummingbird application: device API, management API, blob serving.
        .target(
            name: "AloftServer",
            dependencies: [
                "AloftAPI",
                "AloftCore",
                "AloftStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // What the CLI does, as a library: release building and publishing, device images, the simulator. The device
        // files it hands out (device/aloft, boot.py, device/sim) are compiled in by the EmbedDevice plugin.
        .target(
            name: "AloftTools",
            dependencies: [
                "AloftAPI",
                "AloftCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            plugins: ["EmbedDevice"]
        ),
        .executableTarget(name: "EmbedDeviceFiles"),
        .plugin(name: "EmbedDevice", capability: .buildTool(), dependencies: ["EmbedDeviceFiles"]),
        .executableTarget(
            name: "aloft",
            dependencies: [
                "AloftCore",
                "AloftServer",
                "AloftStore",
                "AloftTools",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What several test targets share (a seeded generator); not a product.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "AloftCoreTests", dependencies: ["AloftCore", "TestSupport"]),
        .testTarget(
            name: "AloftServerTests",
            dependencies: [
                "AloftAPI",
                "AloftServer",
                "AloftStore",
                "AloftCore",
                // The admin client against a live server (LiveServerTests).
                "AloftTools",
                "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                // Migration tests write rows of an older schema.
                .product(name: "SQLKit", package: "sql-kit"),
            ]
        ),
        // AloftTools without a server or MicroPython: release folders and the agent package.
        .testTarget(
            name: "AloftToolsTests",
            dependencies: [
                "AloftTools", "AloftCore", .product(name: "CompressNIO", package: "compress-nio"), .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "DeviceAgentTests", dependencies: ["AloftTools", "AloftCore", "TestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "AloftCore",
                "TestSupport",
                // Test certificates for the HTTPS tests are made in-process, so no openssl is needed.
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"]
        ),
    ]
)
