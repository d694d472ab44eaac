import AloftCore
import Foundation
import Logging
import SQLKit
import Testing

@testable import AloftStore

@Suite struct FluentFleetStoreTests {
    static let logger = Logger(label: "aloft.test.store")

    static func release(_ sequence: Int, channel: String = "stable") -> NewRelease {
        NewRelease(
            channel: channel, sequence: sequence, version: "1.0.\(sequence)", created: "2026-11-29T02:33:34Z",
            envelope: #"{"manifest":"{}","signatures":[]}"#, legacyEnvelope: sequence % 2 == 1 ? #"{"manifest":"[]","signatures":[]}"# : nil,
            fileCount: 1, totalSize: 10, publishedAt: Date()
        )
    }

    @Test func persistsInAnSQLiteFileAcrossReopen() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = FleetDatabase.sqlite(path: "\(directory)/fleet.sqlite")

        let first = try await FluentFleetStore.open(database, logger: Self.logger)
        _ = try await first.createDevice(NewDevice(id: "dev-1", channel: "stable", tokenHash: String(repeating: "a", count: 64)))
        _ = try await first.publish(Self.release(1))
        _ = try await first.publish(Self.release(2))
        try await first.recordCheckIn(
            DeviceCheckIn(
                deviceID: "dev-1", version: "1.0.1", sequence: 1, board: "esp32", micropython: "1.22.0", agent: "0.2.0", mpy: 2822, free: 100,
                at: Date())
        )
        try await first.recordEvent(DeviceEvent(deviceID: "dev-1", type: "installed", version: "1.0.2", sequence: 2, reason: nil, at: Date()))
        try await first.recordDownload(
            BlobDownload(deviceID: "dev-1", sha256: String(repeating: "b", count: 64), encoding: "zlib", bytes: 7, status: 200, at: Date()))
        await first.shutdown()

        let second = try await FluentFleetStore.open(database, logger: Self.logger)
        let device = try #require(try await second.device(tokenHash: String(repeating: "a", count: 64)))
        #expect(device.id == "dev-1")
        #expect(device.board == "esp32")
        #expect(device.agent == "0.2.0")
        #expect(device.free == 100)
        #expect(device.version == "1.0.1")  // what the check-in said; the event is history
        #expect(device.sequence == 1)
        #expect(device.lastEvent?.type == "installed" && device.lastEvent?.version == "1.0.2")
        #expect(device.lastSeen != nil)
        #expect(try await second.releases(channel: "stable").map(\.sequence) == [2, 1])
        #expect(try await second.releaseSequences(channel: "stable", above: 1) == [2])
        #expect(try await second.release(channel: "stable", sequence: 1)?.version == "1.0.1")
        #expect(try await second.release(channel: "stable", sequence: 1) == Self.release(1).with(publishedAt: try #require(await second.release(channel: "stable", sequence: 1)?.publishedAt)))
        #expect(try await second.releases(channel: "stable").map(\.legacyEnvelope) == [nil, #"{"manifest":"[]","signatures":[]}"#])
        #expect(try await second.releases(channel: "stable").map(\.envelope) == [#"{"manifest":"{}","signatures":[]}"#, #"{"manifest":"{}","signatures":[]}"#])
        #expect(try await second.events(deviceID: "dev-1", limit: nil).count == 1)
        #expect(try await second.downloads(deviceID: "dev-1", limit: 10).first?.bytes == 7)
        await second.shutdown()
    }

    @Test func publishRequiresAHigherSequencePerChannel() async throws {
        let store = try await FluentFleetStore.open(.sqliteMemory, logger: Self.logger)
        _ = try await store.publish(Self.release(5))
        await #expect(throws: StoreError.sequenceNotIncreasing(channel: "stable", sequence: 5, latest: 5)) {
            try await store.publish(Self.release(5))
        }
        await #expect(throws: StoreError.sequenceNotIncreasing(channel: "stable", sequence: 4, latest: 5)) {
            try await store.publish(Self.release(4))
        }
        _ = try await store.publish(Self.release(1, channel: "beta"))
        #expect(try await store.latestRelease(channel: "stable")?.sequence == 5)
        #expect(try await store.releases(channel: nil).count == 2)
        await store.shutdown()
    }

    /// After a restore from an older backup the database knows releases up to 2 while a device reports 4 (published after
    /// the backup) and another rolled back from 5: a release at or below 5 would be a replay to them, so the store refuses it.
    @Test(arguments: AccessStoreTests.databases) func publishRequiresASequenceAboveWhatDevicesReported(database: FleetDatabase) async throws {
        if case .postgres = database { try await PostgresTestDatabase.migrated.value }
        let store = try await FluentFleetStore.open(database, logger: Self.logger)
        let run = UUID().uuidString.prefix(8).lowercased()  // a PostgreSQL database may be reused
        let (stable, beta) = ("stable-\(run)", "beta-\(run)")
        do {
            _ = try await store.publish(Self.release(1, channel: stable))
            _ = try await store.publish(Self.release(2, channel: stable))
            #expect(try await store.highestReportedSequence(channel: stable) == nil)
            for (id, sequence, rejected) in [("dev-1", 4, nil), ("dev-2", 2, 5), ("dev-3", 1, nil)] as [(String, Int, Int?)] {
                _ = try await store.createDevice(NewDevice(id: "\(id)-\(run)", channel: id == "dev-3" ? beta : stable, tokenHash: DeviceTokenHash.random()))
                try await store.recordCheckIn(
                    DeviceCheckIn(
                        deviceID: "\(id)-\(run)", version: nil, sequence: sequence, board: "esp32", micropython: "1.22.0", agent: nil, mpy: nil,
                        free: nil, rejected: rejected, at: Date()))
            }
            #expect(try await store.highestReportedSequence(channel: stable) == 5)
            #expect(try await store.highestReportedSequence(channel: beta) == 1)
            await #expect(throws: StoreError.sequenceNotAboveDevices(channel: stable, sequence: 5, reported: 5)) {
                try await store.publish(Self.release(5, channel: stable))
            }
            #expect(try await store.publish(Self.release(6, channel: stable)).sequence == 6)
        } catch {
            await store.shutdown()
            throw error
        }
        await store.shutdown()
    }

    /// Publishers of sequences 1…count at once, each held between its checks and its insert longer the lower its sequence,
    /// so that without serialization the higher ones would be stored first. Returns the sequences accepted.
    @Test(arguments: AccessStoreTests.databases) func groupsAReleasesFailuresByReason(database: FleetDatabase) async throws {
        if case .postgres = database { try await PostgresTestDatabase.migrated.value }
        let store = try await FluentFleetStore.open(database, logger: Self.logger)
        let run = UUID().uuidString.prefix(8).lowercased()  // a PostgreSQL database may be reused
        let (stable, beta) = ("stable-\(run)", "beta-\(run)")
        for (id, channel) in [("a", stable), ("b", stable), ("c", beta)] {
            _ = try await store.createDevice(NewDevice(id: "\(id)-\(run)", channel: channel, tokenHash: DeviceTokenHash.random()))
        }
        func event(_ id: String, _ type: String, sequence: Int = 2, reason: String?, step: String? = nil) async throws {
            try await store.recordEvent(
                DeviceEvent(deviceID: "\(id)-\(run)", type: type, version: "1.1.0", sequence: sequence, reason: reason, step: step, at: Date()))
        }
        try await event("a", "rolled_back", reason: "main.py raised")
        try await event("b", "rolled_back", reason: "main.py raised")
        try await event("b", "rolled_back", reason: "main.py raised")
        try await event("a", "failed", reason: nil, step: "firmware")
        try await event("a", "installed", reason: nil)
        try await event("a", "failed", sequence: 1, reason: "another release")
        try await event("c", "failed", reason: "another channel")
        #expect(
            try await store.releaseFailures(channel: stable, sequence: 2) == [
                ReleaseFailureRow(type: "rolled_back", step: nil, reason: "main.py raised", count: 3, devices: 2),
                ReleaseFailureRow(type: "failed", step: "firmware", reason: nil, count: 1, devices: 1),
            ])
        #expect(try await store.releaseFailures(channel: stable, sequence: 3) == [])
        await store.shutdown()
    }

    static func publishConcurrently(_ store: FluentFleetStore, channel: String, count: Int) async -> [Int] {
        await withTaskGroup(of: Int?.self) { group in
            for sequence in 1...count {
                group.addTask { try? await store.publish(Self.release(sequence, channel: channel)).sequence }
            }
            var accepted: [Int] = []
            for await sequence in group { if let sequence { accepted.append(sequence) } }
            return accepted
        }
    }

    /// The gap between check and insert that ``publishConcurrently(_:channel:count:)`` relies on.
    static func widenedGap(lock: Bool = true, count: Int = 10) -> PublishSerialization {
        PublishSerialization(lock: lock) { release in try? await Task.sleep(for: .milliseconds(30 * (count + 1 - release.sequence))) }
    }

    /// The channel's sequences in the order they were stored (ids are given at insert).
    static func insertionOrder(_ store: FluentFleetStore, channel: String) async throws -> [Int] {
        let sql = try #require(try store.db() as? any SQLDatabase)
        struct Row: Decodable { var sequence: Int }
        return try await sql.raw("SELECT sequence FROM releases WHERE channel = \(bind: channel) ORDER BY id").all(decoding: Row.self).map(\.sequence)
    }

    /// What a device sees is every release above the last it saw: a release stored after a higher one would never be
    /// offered to a device that saw the higher one. So the order of storing must be the order of sequences.
    @Test func concurrentPublishesKeepSequencesStrictlyIncreasing() async throws {
        let store = try await FluentFleetStore.open(.sqliteMemory, logger: Self.logger, migrations: FluentFleetStore.migrations, publishSerialization: Self.widenedGap())
        let accepted = await Self.publishConcurrently(store, channel: "stable", count: 10)
        #expect(!accepted.isEmpty)
        let stored = try await Self.insertionOrder(store, channel: "stable")
        #expect(stored.sorted() == accepted.sorted())
        #expect(stored == stored.sorted() && Set(stored).count == stored.count, "stored in the order \(stored)")
        await store.shutdown()
    }

    @Test func duplicateDeviceIsRefused() async throws {
        let store = try await FluentFleetStore.open(.sqliteMemory, logger: Self.logger)
        _ = try await store.createDevice(NewDevice(id: "d", channel: "stable", tokenHash: String(repeating: "1", count: 64)))
        await #expect(throws: StoreError.deviceExists("d")) {
            try await store.createDevice(NewDevice(id: "d", channel: "beta", tokenHash: String(repeating: "2", count: 64)))
        }
        await #expect(throws: StoreError.deviceNotFound("nobody")) {
            try await store.recordEvent(DeviceEvent(deviceID: "nobody", type: "failed", version: nil, sequence: nil, reason: nil, at: Date()))
        }
        await store.shutdown()
    }

    /// A database from before format 2 holds format-1 envelopes only; after migration v5 they are the releases' legacy
    /// envelopes, still offered to agents before 0.3.0, and releases published from then on have both.
    @Test func releasesFromBeforeFormat2AreKeptAsLegacyOnly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = FleetDatabase.sqlite(path: "\(directory)/fleet.sqlite")
        let old = TestRelease(version: "1.0.0", sequence: 1)
        let oldEnvelope = String(decoding: try JSONEncoder().encode(old.legacyEnvelope), as: UTF8.self)

        let before = try await FluentFleetStore.open(database, logger: Self.logger, migrations: Array(FluentFleetStore.migrations.prefix(4)))
        let sql = try #require(try before.db() as? any SQLDatabase)
        try await sql.insert(into: "releases")
            .columns("channel", "sequence", "version", "created", "envelope", "file_count", "total_size", "published_at")
            .values(
                SQLBind("stable"), SQLBind(1), SQLBind("1.0.0"), SQLBind(old.manifest.created), SQLBind(oldEnvelope), SQLBind(2),
                SQLBind(old.manifest.totalSize), SQLBind(Date()))
            .run()
        await before.shutdown()

        let after = try await FluentFleetStore.open(database, logger: Self.logger)
        let record = try #require(try await after.release(channel: "stable", sequence: 1))
        #expect(record.envelope == nil && record.legacyEnvelope == oldEnvelope)
        await after.shutdown()

        // The server on that database: format-1 devices still get the old release, format-2 devices wait for a new one.
        try await TestFleet.run(database: database) { fleet in
            for file in old.files { try await fleet.putBlob(file.bytes) }
            let token = try await fleet.registerDevice("dev-1")
            #expect(try await fleet.offeredSequence("dev-1", token: token) == 1)
            #expect(try await fleet.offeredSequence("dev-1", token: token, format: 2) == nil)
            let listed = try #require(try await fleet.send(.get, "/api/v1/admin/releases").object["releases"] as? [[String: Any]])
            #expect(listed.first?["legacy"] as? Bool == true)

            #expect(try await fleet.publish(TestRelease(version: "1.1.0", sequence: 2)).status == .created)
            #expect(try await fleet.offeredSequence("dev-1", token: token) == 2)
            #expect(try await fleet.offeredSequence("dev-1", token: token, format: 2) == 2)
        }
    }
}

extension ReleaseRecord {
    func with(publishedAt: Date) -> ReleaseRecord {
        var copy = self
        copy.publishedAt = publishedAt
        return copy
    }
}
