import AloftCore
import AloftServer
import AloftStore
import CompressNIO
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// A SQLite database file of one test's own, removed afterwards with its write-ahead log (`-wal`, `-shm`).
func withScratchSQLite(_ body: (_ path: String) async throws -> Void) async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-\(UUID().uuidString).sqlite").path
    defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
    try await body(path)
}

/// A fresh server (in-memory SQLite, temporary data directory) and helpers to drive it like a client would.
struct TestFleet: Sendable {
    static let adminToken = "test-admin-token-0123456789"
    static let signingKey = ReleasePrivateKey.generate()

    let client: any TestClientProtocol
    let dataDirectory: String

    /// Builds the real application and runs `body` against its router; removes the data directory afterwards.
    static func run(
        pollInterval: Int = 300, rateLimits: RateLimits = .standard, database: FleetDatabase = .sqliteMemory,
        clock: @escaping @Sendable () -> Date = { Date() }, rateLimitClock: @escaping RateLimiter.Clock = RateLimiter.monotonicClock,
        cacheRefreshInterval: Duration = .milliseconds(500), _ body: @Sendable (TestFleet) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-server-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "aloft.test")
        logger.logLevel = .warning
        let app = try await buildApplication(
            AloftServerConfiguration(
                dataDirectory: directory, adminToken: adminToken, database: database, pollInterval: pollInterval, rateLimits: rateLimits,
                logger: logger, clock: clock, rateLimitClock: rateLimitClock, cacheRefreshInterval: cacheRefreshInterval)
        )
        try await app.test(.router) { client in
            try await body(TestFleet(client: client, dataDirectory: directory))
        }
    }

    // MARK: Requests

    /// Sends a request; `token` nil sends no Authorization header.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = TestFleet.adminToken, body: ByteBuffer? = nil, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.executeRequest(uri: uri, method: method, headers: headers, body: body)
    }

    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = TestFleet.adminToken, json: String) async throws -> TestResponse {
        try await send(method, uri, token: token, body: ByteBuffer(string: json), headers: [.contentType: "application/json"])
    }

    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = TestFleet.adminToken, encoding value: some Encodable
    ) async throws -> TestResponse {
        let data = try JSONEncoder().encode(value)
        return try await send(method, uri, token: token, json: String(decoding: data, as: UTF8.self))
    }

    // MARK: Fleet setup

    /// Registers a device and returns its token.
    func registerDevice(_ id: String, channel: String = "stable") async throws -> String {
        let response = try await send(.post, "/api/v1/admin/devices", json: #"{"id":"\#(id)","channel":"\#(channel)"}"#)
        try #require(response.status == .created, "registering \(id): \(response.status) \(response.text)")
        return try #require(response.object["token"] as? String)
    }

    /// Uploads a blob and returns its SHA-256.
    @discardableResult
    func putBlob(_ bytes: [UInt8]) async throws -> String {
        let sha = Digest.sha256Hex(bytes)
        let response = try await send(.put, "/api/v1/admin/blobs/\(sha)", body: ByteBuffer(bytes: bytes))
        try #require(response.status == .created || response.status == .ok, "uploading blob: \(response.status) \(response.text)")
        return sha
    }

    /// Uploads the files and the file list (unless `upload` is false) and publishes a signed release of them, with its
    /// legacy envelope when `release.legacy` says so.
    @discardableResult
    func publish(_ release: TestRelease, upload: Bool = true) async throws -> TestResponse {
        if upload {
            for file in release.files { try await putBlob(file.bytes) }
            for image in release.firmware { try await putBlob(image.bytes) }
            try await putBlob(release.fileList)
        }
        return try await send(.post, "/api/v1/admin/releases", encoding: release.publication)
    }

    /// A check-in; `fields` is more of the body as JSON members (`"ota":true,"fw_state":"trial"`).
    func checkIn(
        _ id: String, token: String, sequence: Int = 0, version: String? = nil, board: String = "esp32", micropython: String = "1.22.0",
        agent: String? = nil, rejected: Int? = nil, format: Int? = nil, free: Int = 1_500_000, fields: String? = nil
    ) async throws -> TestResponse {
        let versionJSON = version.map { "\"\($0)\"" } ?? "null"
        let rejectedJSON = rejected.map { ",\"rejected\":\($0)" } ?? ""
        let agentJSON = agent.map { ",\"agent\":\"\($0)\"" } ?? ""
        let formatJSON = format.map { ",\"format\":\($0)" } ?? ""
        let moreJSON = fields.map { "," + $0 } ?? ""
        return try await send(
            .post, "/api/v1/device/checkin", token: token,
            json:
                #"{"id":"\#(id)","version":\#(versionJSON),"sequence":\#(sequence),"board":"\#(board)","micropython":"\#(micropython)","mpy":2822,"free":\#(free)\#(agentJSON)\#(rejectedJSON)\#(formatJSON)\#(moreJSON)}"#
        )
    }

    /// The sequence of the release a check-in offers (nil for "none"), with the manifest read as a device of that format
    /// reads it: format 2 with its file list from the server, format 1 whole.
    func offeredSequence(
        _ id: String, token: String, sequence: Int = 0, board: String = "esp32", micropython: String = "1.22.0", rejected: Int? = nil,
        format: Int? = nil
    ) async throws -> Int? {
        let response = try await checkIn(id, token: token, sequence: sequence, board: board, micropython: micropython, rejected: rejected, format: format)
        try #require(response.status == .ok, "\(response.text)")
        guard response.object["action"] as? String == "update" else { return nil }
        let offered = try JSONDecoder().decode(OfferedRelease.self, from: Data(response.body.readableBytesView))
        if format == 2 {
            #expect(offered.zlib == nil, "a format-2 answer has no zlib map")
            let header = try offered.release.parsedHeader()
            let list = try await send(.get, "/api/v1/blobs/\(header.files.sha256)", token: token, headers: [.acceptEncoding: "deflate"])
            var body = list.body
            let bytes = list.headers[.contentEncoding] == "deflate"
                ? Array(try body.decompress(with: .zlib, configuration: ZlibConfiguration(windowSize: Int32(10))).readableBytesView) : list.bytes
            return try header.release(fileList: bytes).sequence
        }
        #expect(offered.zlib != nil, "a format-1 answer has the zlib map")
        return try offered.release.parsedLegacyManifest().sequence
    }
}

/// A clock a test sets: soak times and maintenance windows without sleeping.
final class TestClock: Sendable {
    private let time: Mutex<Date>

    init(_ start: Date) { time = Mutex(start) }

    var now: Date { time.withLock { $0 } }
    func advance(by seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
    func set(_ date: Date) { time.withLock { $0 = date } }
    var read: @Sendable () -> Date { { self.now } }
}

/// A check-in answer that offers a release.
struct OfferedRelease: Decodable {
    var release: SignedRelease
    var zlib: [String: Int]?
}

/// A release built from file contents, signed with the test key.
struct TestRelease: Sendable {
    struct File: Sendable {
        var path: String
        var bytes: [UInt8]
        var sha256: String { Digest.sha256Hex(bytes) }
    }

    /// A firmware image of the release and its bytes (deterministic, incompressible).
    struct Firmware: Sendable {
        var image: FirmwareImage
        var bytes: [UInt8]

        init(build: String = "ESP32_GENERIC-OTA", chip: String = "esp32", micropython: String = "1.26.0", size: Int = 4096, seed: UInt64 = 26) {
            bytes = randomBytes(size, seed: seed)
            image = FirmwareImage(build: build, chip: chip, micropython: micropython, mpy: 6, sha256: Digest.sha256Hex(bytes), size: size)
        }
    }

    var files: [File]
    var firmware: [Firmware]
    var manifest: ReleaseManifest
    /// Whether publishing includes the format-1 envelope, as `aloft release publish` does for up to 256 files.
    var legacy = true
    /// What the publication says of `firmwareWithoutRollback` (nil leaves it out).
    var firmwareWithoutRollback: Bool?

    init(
        version: String = "1.0.0", sequence: Int = 1, channel: String = "stable", compat: Compatibility = Compatibility(),
        files: [File] = TestRelease.defaultFiles, firmware: [Firmware] = []
    ) {
        self.files = files
        self.firmware = firmware
        self.manifest = ReleaseManifest(
            version: SemanticVersion(version)!, sequence: sequence, channel: channel, created: "2026-11-29T02:33:34Z", compat: compat,
            files: files.map { FileEntry(path: $0.path, sha256: $0.sha256, size: $0.bytes.count) }, firmware: firmware.isEmpty ? nil : firmware.map(\.image)
        )
    }

    /// The file list the manifest names.
    var fileList: [UInt8] { Array(manifest.fileList.utf8) }

    /// The format-2 envelope, signed with the test key.
    var envelope: SignedRelease { try! TestFleet.signingKey.sign(manifest) }

    /// The format-1 envelope, signed with the test key; a release too large for format 1 (which a signer refuses) gets
    /// well-formed text over 256 files and a dummy signature, since the server never verifies signatures.
    var legacyEnvelope: SignedRelease {
        (try? SignedRelease(signingLegacy: manifest, with: [TestFleet.signingKey]))
            ?? SignedRelease(manifest: Self.legacyText(manifest), signatures: Self.dummySignatures)
    }

    /// A well-formed signature that verifies nothing: the server never checks signatures, devices do.
    static var dummySignatures: [ReleaseSignature] { [ReleaseSignature(keyid: "0123456789abcdef", sig: Data(count: 64).base64EncodedString())] }

    /// What `aloft release publish` posts.
    var publication: ReleasePublication {
        ReleasePublication(envelope, legacy: legacy ? legacyEnvelope : nil, firmwareWithoutRollback: firmwareWithoutRollback)
    }

    /// A format-1 text of any number of files.
    static func legacyText(_ manifest: ReleaseManifest) -> String {
        var small = manifest
        small.files = Array(manifest.files.prefix(1))
        let files = manifest.files.map { #"{"path":"\#($0.path)","sha256":"\#($0.sha256)","size":\#($0.size)}"# }.joined(separator: ",")
        let one = small.files.map { #"{"path":"\#($0.path)","sha256":"\#($0.sha256)","size":\#($0.size)}"# }.joined(separator: ",")
        return (try! small.legacyCanonicalJSON()).replacingOccurrences(of: "[\(one)]", with: "[\(files)]")
    }

    /// A compressible main.py and a small incompressible data file.
    static var defaultFiles: [File] {
        [
            File(path: "main.py", bytes: Array(String(repeating: "print('hello from aloft')\n", count: 40).utf8)),
            File(path: "lib/blob.bin", bytes: randomBytes(300, seed: 7)),
        ]
    }
}

/// Deterministic bytes that do not compress.
func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object (empty when it is not one).
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }

    var bytes: [UInt8] { Array(body.readableBytesView) }

    var errorCode: String? { object["error"] as? String }
}
