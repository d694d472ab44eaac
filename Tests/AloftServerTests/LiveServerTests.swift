import AloftCore
import AloftServer
import AloftTools
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@Suite struct LiveServerTests {
    /// `aloft devices list` reads every page through the admin client.
    @Test func theAdminClientFollowsEveryPageOfDevices() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-live-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "aloft.test.live")
        logger.logLevel = .warning
        let app = try await buildApplication(
            AloftServerConfiguration(host: "127.0.0.1", port: 0, dataDirectory: directory, adminToken: TestFleet.adminToken, logger: logger))
        try await app.test(.live) { client in
            let fleet = TestFleet(client: client, dataDirectory: directory)
            for i in 0..<7 { _ = try await fleet.registerDevice("d-\(i)", channel: i < 5 ? "stable" : "beta") }
            let admin = try AdminClient(server: "http://127.0.0.1:\(client.port!)", adminToken: TestFleet.adminToken)
            #expect(try await admin.devices(pageSize: 2).map(\.id) == (0..<7).map { "d-\($0)" }, "4 pages of 2")
            #expect(try await admin.devices(channel: "stable", pageSize: 2).map(\.id) == (0..<5).map { "d-\($0)" })
            #expect(try await admin.devices(channel: "beta").map(\.id) == ["d-5", "d-6"], "one page of the server's size")
        }
    }

    /// A real socket, the default SQLite file in the data directory, and a blob larger than one read chunk.
    @Test func servesOverARealSocket() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-live-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reportedPort = Mutex<Int?>(nil)
        var logger = Logger(label: "aloft.test.live")
        logger.logLevel = .warning
        let app = try await buildApplication(
            AloftServerConfiguration(
                host: "127.0.0.1", port: 0, dataDirectory: directory, adminToken: TestFleet.adminToken, logger: logger,
                onServerRunning: { port in reportedPort.withLock { $0 = port } }
            )
        )
        let big = randomBytes(400_000, seed: 1) + Array(String(repeating: "compressible ", count: 20_000).utf8)
        try await app.test(.live) { client in
            let fleet = TestFleet(client: client, dataDirectory: directory)
            #expect(reportedPort.withLock { $0 } == client.port)

            let token = try await fleet.registerDevice("dev-1")
            let release = TestRelease(files: [.init(path: "data/big.bin", bytes: big), .init(path: "main.py", bytes: Array("print(1)\n".utf8))])
            #expect(try await fleet.publish(release).status == .created)
            let checkIn = try await fleet.checkIn("dev-1", token: token)
            #expect(checkIn.object["action"] as? String == "update")

            let sha = Digest.sha256Hex(big)
            let whole = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token)
            #expect(whole.status == .ok)
            #expect(whole.bytes == big)
            let part = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.range: "bytes=131000-263000"])
            #expect(part.status == .partialContent)
            #expect(part.bytes == Array(big[131_000...263_000]))

            let downloads = try await fleet.send(.get, "/api/v1/admin/devices/dev-1/downloads").object["downloads"] as? [[String: Any]]
            #expect(downloads?.map { $0["bytes"] as? Int } == [263_000 - 131_000 + 1, big.count])
        }
        #expect(FileManager.default.fileExists(atPath: "\(directory)/aloft.sqlite"))
    }
}
