import AloftCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SQLKit
import Testing

@testable import AloftStore

/// Check-ins written in batches, and the change generation that servers' caches follow.
@Suite struct CheckInBatchingTests {
    static let logger = Logger(label: "aloft.test.batch")

    static func checkIn(_ id: String, sequence: Int, at: Date) -> DeviceCheckIn {
        DeviceCheckIn(deviceID: id, version: "1.0.\(sequence)", sequence: sequence, board: "esp32", micropython: "1.22.0", agent: nil, mpy: nil, free: nil, at: at)
    }

    @Test func aCheckInIsReadBackAtOnceWrittenSoonAndKeptOverAShutdown() async throws {
        try await withScratchSQLite { path in try await Self.aCheckInIsReadBackAtOnceWrittenSoonAndKeptOverAShutdown(path) }
    }

    static func aCheckInIsReadBackAtOnceWrittenSoonAndKeptOverAShutdown(_ path: String) async throws {
        let store = try await FluentFleetStore.open(.sqlite(path: path), logger: Self.logger)
        _ = try await store.createDevice(NewDevice(id: "d", channel: "stable", tokenHash: String(repeating: "1", count: 64)))
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)

        try await store.recordCheckIn(Self.checkIn("d", sequence: 1, at: t0))
        #expect(try await store.device(id: "d")?.sequence == 1, "a read through the store sees a check-in it took")
        // An older check-in (another server's, written late) does not overwrite a newer one.
        try await store.recordCheckIn(Self.checkIn("d", sequence: 7, at: t0.addingTimeInterval(-5)))
        #expect(try await store.device(id: "d")?.sequence == 1)

        // Another store on the same database (another server) sees it once the batch is written, without a read here.
        try await store.recordCheckIn(Self.checkIn("d", sequence: 2, at: t0.addingTimeInterval(1)))
        let other = try await FluentFleetStore.open(.sqlite(path: path), logger: Self.logger)
        let sql = try #require(other.db() as? any SQLDatabase)
        struct Row: Decodable { var sequence: Int }
        var seen = 0
        for _ in 0..<100 where seen != 2 {
            try await Task.sleep(for: .milliseconds(20))
            seen = try await sql.raw("SELECT sequence FROM devices WHERE id = 'd'").first(decoding: Row.self)?.sequence ?? 0
        }
        #expect(seen == 2, "the batch was written within 2 s")
        await other.shutdown()

        // The last check-in before a clean shutdown is written by it.
        try await store.recordCheckIn(Self.checkIn("d", sequence: 3, at: t0.addingTimeInterval(2)))
        await store.shutdown()
        let reopened = try await FluentFleetStore.open(.sqlite(path: path), logger: Self.logger)
        let device = try await reopened.device(id: "d")
        #expect(device?.sequence == 3 && device?.lastSeen == t0.addingTimeInterval(2))
        await reopened.shutdown()
    }

    /// More check-ins than one statement carries, with every optional field both set and left out (and one column nil in
    /// every row, whose type PostgreSQL must still see as an integer), one of them older than what its row holds: each row
    /// gets exactly its device's newest check-in, and the older one is left out.
    static func writesBatchesOfManyStatements(_ database: FleetDatabase, channel: String) async throws {
        let store = try await FluentFleetStore.open(database, logger: Self.logger)
        let count = FluentFleetStore.checkInRowsPerStatement * 2 + 3
        let ids = (0..<count).map { "\(channel)-\($0)" }
        for id in ids { _ = try await store.createDevice(NewDevice(id: id, channel: channel, tokenHash: DeviceTokenHash.random())) }
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let newest = Self.checkIn(ids[0], sequence: 5, at: t0.addingTimeInterval(10))
        try await store.recordCheckIn(newest)
        try await store.settle()

        var want: [String: DeviceCheckIn] = [ids[0]: newest]
        for (i, id) in ids.enumerated() {
            let checkIn = DeviceCheckIn(
                deviceID: id, version: i % 3 == 0 ? nil : "1.\(i).0", sequence: i, board: i % 2 == 0 ? "esp32-s3" : nil,
                micropython: "1.2\(i % 10).0", agent: i % 5 == 0 ? nil : "0.3.\(i)", mpy: nil, free: i % 4 == 0 ? nil : i * 1000,
                rejected: i % 7 == 0 ? i : nil, format: i % 2 == 0 ? 2 : nil, at: t0.addingTimeInterval(Double(i % 5)))
            try await store.recordCheckIn(checkIn)
            if i != 0 { want[id] = checkIn }
        }
        try await store.settle()
        let rows = try await store.devices(channel: channel)
        #expect(rows.count == count)
        for row in rows {
            let c = try #require(want[row.id])
            let stored = DeviceCheckIn(
                deviceID: row.id, version: row.version, sequence: row.sequence, board: row.board, micropython: row.micropython, agent: row.agent,
                mpy: row.mpy, free: row.free, rejected: row.rejected, format: row.format, at: row.lastSeen ?? .distantPast)
            #expect(stored == c, "\(row.id)")
        }
        await store.shutdown()
    }

    @Test func writesBatchesOfManyStatementsOnSQLite() async throws {
        try await withScratchSQLite { path in try await Self.writesBatchesOfManyStatements(.sqlite(path: path), channel: "lite") }
    }

    @Test(.enabled(if: PostgresTestDatabase.url != nil, "set ALOFT_TEST_POSTGRES_URL to run against PostgreSQL"))
    func writesBatchesOfManyStatementsOnPostgreSQL() async throws {
        try await PostgresTestDatabase.migrated.value
        try await Self.writesBatchesOfManyStatements(
            .postgres(url: try #require(PostgresTestDatabase.url)), channel: "pg-\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// A database that fails a write (down, locked): the batch is not lost, and a check-in taken meanwhile wins over it.
    @Test func aFailedWriteKeepsItsBatchUnderNewerCheckIns() async throws {
        struct Down: Error {}
        let buffer = CheckInBuffer()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        buffer.add(Self.checkIn("a", sequence: 1, at: t0))
        buffer.add(Self.checkIn("b", sequence: 1, at: t0))
        buffer.add(Self.checkIn("a", sequence: 9, at: t0.addingTimeInterval(-1)))  // older than the one held: dropped
        await #expect(throws: Down.self) {
            try await buffer.flush { batch in
                #expect(batch.count == 2)
                buffer.add(Self.checkIn("a", sequence: 2, at: t0.addingTimeInterval(1)))
                throw Down()
            }
        }
        #expect(buffer.count == 2)
        var written: [String: Int] = [:]
        try await buffer.flush { batch in for c in batch { written[c.deviceID] = c.sequence } }
        #expect(written == ["a": 2, "b": 1], "a's newer check-in, and b's from the failed batch")
        #expect(buffer.count == 0)
    }

    @Test func whatServersCacheMovesTheChangeGeneration() async throws {
        let store = try await FluentFleetStore.open(.sqliteMemory, logger: Self.logger)
        var generation = try await store.changeGeneration()
        var local = store.localChangeCount
        func expectMoved(_ what: String, _ moved: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let now = try await store.changeGeneration()
            #expect((now > generation) == moved, "\(what): generation \(generation) → \(now)", sourceLocation: sourceLocation)
            #expect((store.localChangeCount > local) == moved, "\(what): local count", sourceLocation: sourceLocation)
            generation = now
            local = store.localChangeCount
        }
        _ = try await store.createDevice(NewDevice(id: "d", channel: "stable", tokenHash: String(repeating: "1", count: 64)))
        try await expectMoved("a new device (nothing cached knows it)", false)
        try await store.recordCheckIn(Self.checkIn("d", sequence: 1, at: Date()))
        _ = try await store.device(id: "d")
        try await expectMoved("a check-in", false)
        _ = try await store.updateDeviceTags(id: "d", add: ["eu"], remove: [])
        try await expectMoved("tags")
        _ = try await store.setDevicePin(id: "d", version: "1.0.1")
        try await expectMoved("a pin")
        try await store.revokeDevice(id: "d")
        try await expectMoved("a revocation")
        try await store.revokeDevice(id: "d")
        try await expectMoved("revoking again", false)
        try await store.replaceDeviceToken(id: "d", tokenHash: String(repeating: "2", count: 64))
        try await expectMoved("a new token")
        _ = try await store.publish(FluentFleetStoreTests.release(2))  // above the 1 the device reported
        try await expectMoved("a release")
        await store.shutdown()
    }
}

/// Two servers on one database (a SQLite file here, PostgreSQL when the tests have one): what one server changes reaches
/// the other's cache within a second.
@Suite struct TwoServerCacheTests {
    /// Polls `condition` every 20 ms for up to `limit` seconds; how long it took, or nil.
    static func within(_ limit: TimeInterval, _ condition: () async throws -> Bool) async throws -> TimeInterval? {
        let start = Date()
        while Date().timeIntervalSince(start) < limit {
            if try await condition() { return Date().timeIntervalSince(start) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    static func exercise(_ database: FleetDatabase, channel: String) async throws {
        // Polling every 200 ms leaves a loaded test machine (tests run in parallel) most of the second to answer in.
        try await TestFleet.run(database: database, cacheRefreshInterval: .milliseconds(200)) { a in
            try await TestFleet.run(database: database, cacheRefreshInterval: .milliseconds(200)) { b in
                let id = "two-\(channel)"
                let token = try await a.registerDevice(id, channel: channel)
                // Both servers have the token cached after a check-in each, and know the channel has no release.
                #expect(try await a.offeredSequence(id, token: token, format: 2) == nil)
                #expect(try await b.offeredSequence(id, token: token, format: 2) == nil)

                // A release published through A is offered by B within a second (its blobs are A's: blobs in the database
                // are not built yet, so B is only asked what it would offer).
                try await a.publish(TestRelease(version: "1.0.0", sequence: 1, channel: channel))
                var last = ""
                let offered = try await within(5) {
                    let answer = try await b.checkIn(id, token: token, format: 2)
                    last = "\(answer.status) \(answer.text.prefix(300))"
                    return answer.object["action"] as? String == "update"
                }
                #expect(offered.map { $0 <= 1.0 } == true, "B offered the release after \(offered.map { "\($0) s" } ?? "never"): \(last)")

                // A token revoked through B is refused by A within a second (A answers from its cache until then).
                #expect(try await b.send(.post, "/api/v1/admin/devices/\(id)/revoke").status == .noContent)
                #expect(try await b.checkIn(id, token: token).status == .unauthorized, "the server that revoked it refuses it at once")
                let refused = try await within(5) { try await a.checkIn(id, token: token).status == .unauthorized }
                #expect(refused.map { $0 <= 1.0 } == true, "A refused the revoked token after \(refused.map { "\($0) s" } ?? "never")")

                // A new token through A works on B at once (nothing cached about it), the old one on neither.
                let reissued = try await a.send(.post, "/api/v1/admin/devices/\(id)/token")
                let fresh = try #require(reissued.object["token"] as? String)
                #expect(try await b.checkIn(id, token: fresh).status == .ok)
                #expect(try await b.checkIn(id, token: token).status == .unauthorized)
                // What B's check-ins said reaches A's view of the device.
                #expect(try await b.checkIn(id, token: fresh, sequence: 1, version: "1.0.0").status == .ok)
                let seen = try await within(5) { try await a.send(.get, "/api/v1/admin/devices/\(id)").object["sequence"] as? Int == 1 }
                #expect(seen != nil, "B's check-in reached the database")
            }
        }
    }

    @Test func onOneSQLiteFile() async throws {
        try await withScratchSQLite { path in try await Self.exercise(.sqlite(path: path), channel: "lite") }
    }

    @Test(.enabled(if: PostgresTestDatabase.url != nil, "set ALOFT_TEST_POSTGRES_URL to run against PostgreSQL"))
    func onOnePostgreSQL() async throws {
        try await PostgresTestDatabase.migrated.value
        try await Self.exercise(.postgres(url: try #require(PostgresTestDatabase.url)), channel: "pg-\(UUID().uuidString.prefix(8).lowercased())")
    }
}
