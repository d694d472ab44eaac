import SQLKit
import Foundation
import Logging
import Testing

@testable import AloftStore

/// The same store code on PostgreSQL. Runs only when `ALOFT_TEST_POSTGRES_URL` names a database
/// (e.g. `postgres://aloft@127.0.0.1:55432/aloft_test`); names are unique per run, so the database may be reused.
@Suite(.enabled(if: PostgresTestDatabase.url != nil, "set ALOFT_TEST_POSTGRES_URL to run against PostgreSQL"))
struct PostgresStoreTests {

    @Test func storesAndReadsBackEverything() async throws {
        let database = FleetDatabase.postgres(url: try #require(PostgresTestDatabase.url))
        let run = UUID().uuidString.prefix(8).lowercased()
        let channel = "pg-\(run)"
        let deviceID = "pg-dev-\(run)"
        let tokenHash = DeviceTokenHash.random()

        try await PostgresTestDatabase.migrated.value
        let store = try await FluentFleetStore.open(database, logger: Logger(label: "aloft.test.pg"))
        _ = try await store.createDevice(NewDevice(id: deviceID, channel: channel, tokenHash: tokenHash))
        await #expect(throws: StoreError.deviceExists(deviceID)) {
            try await store.createDevice(NewDevice(id: deviceID, channel: channel, tokenHash: DeviceTokenHash.random()))
        }
        // Concurrent publishers: whatever is accepted is strictly increasing, and nothing is accepted twice.
        let accepted = await withTaskGroup(of: Int?.self) { group in
            for sequence in 1...10 {
                group.addTask { try? await store.publish(FluentFleetStoreTests.release(sequence, channel: channel)).sequence }
            }
            var accepted: [Int] = []
            for await sequence in group { if let sequence { accepted.append(sequence) } }
            return accepted
        }
        let stored = try await store.releases(channel: channel).map(\.sequence)
        #expect(stored == accepted.sorted(by: >))
        let latest = try #require(stored.first)
        await #expect(throws: StoreError.sequenceNotIncreasing(channel: channel, sequence: latest, latest: latest)) {
            try await store.publish(FluentFleetStoreTests.release(latest, channel: channel))
        }
        try await store.recordCheckIn(
            DeviceCheckIn(
                deviceID: deviceID, version: nil, sequence: 0, board: "esp32", micropython: "1.22.0", agent: "0.2.0+pg", mpy: 6,
                free: 9_000_000_000, at: Date())
        )
        try await store.recordEvent(
            DeviceEvent(deviceID: deviceID, type: "installed", version: "1.0.\(latest)", sequence: latest, reason: "ok", at: Date()))
        try await store.recordDownload(
            BlobDownload(deviceID: deviceID, sha256: String(repeating: "c", count: 64), encoding: "raw", bytes: 5, status: 206, at: Date()))
        await store.shutdown()

        let reopened = try await FluentFleetStore.open(database, logger: Logger(label: "aloft.test.pg"))
        let device = try #require(try await reopened.device(tokenHash: tokenHash))
        #expect(device.free == 9_000_000_000)
        #expect(device.agent == "0.2.0+pg")
        #expect(device.sequence == 0)  // what the check-in said; the installed event is history
        #expect(device.lastEvent?.sequence == latest)
        #expect(device.lastEvent?.reason == "ok")
        // The census groups in SQL on PostgreSQL too (COUNT is a bigint there).
        #expect(try await reopened.deviceCensus().filter { $0.channel == channel }
            == [DeviceCensusRow(channel: channel, version: nil, state: "installed", count: 1)])
        #expect(try await reopened.releaseSequences(channel: channel, above: 0) == stored)
        // Both envelopes come back as stored (odd sequences have a legacy one in this fixture).
        for record in try await reopened.releases(channel: channel) {
            let expected = FluentFleetStoreTests.release(record.sequence, channel: channel)
            #expect(record.envelope == expected.envelope && record.legacyEnvelope == expected.legacyEnvelope, "\(record.sequence)")
        }
        #expect(try await reopened.events(deviceID: deviceID, limit: 5).count == 1)
        #expect(try await reopened.downloads(deviceID: deviceID, limit: nil).first?.status == 206)
        // history retention: an event from 2001 goes, today's stays (other runs' rows are all newer than 2001)
        let old = Date(timeIntervalSince1970: 1_000_000_000)
        try await reopened.recordEvent(DeviceEvent(deviceID: deviceID, type: "failed", version: "0.0.1", sequence: 1, reason: "old", at: old))
        let pruned = try await reopened.pruneHistory(before: old.addingTimeInterval(1))
        #expect(pruned.events >= 1)
        #expect(try await reopened.events(deviceID: deviceID, limit: nil).map(\.type) == ["installed"])
        await reopened.shutdown()
    }

    @Test func storesRollouts() async throws {
        try await PostgresTestDatabase.migrated.value
        let store = try await FluentFleetStore.open(.postgres(url: try #require(PostgresTestDatabase.url)), logger: Logger(label: "aloft.test.pg"))
        try await RolloutStoreTests.exercise(store, run: UUID().uuidString.prefix(8).lowercased())
        await store.shutdown()
    }

    /// READ COMMITTED lets two publishers of a channel both pass the sequence check; the advisory lock keeps them apart.
    /// Without it (the second half) the same publishers store higher sequences before lower ones, so the first half's
    /// assertion is one the lock makes true, not the unique index or the sorted listing.
    @Test func concurrentPublishersAreStoredInSequenceOrderOnlyWithTheLock() async throws {
        let url = try #require(PostgresTestDatabase.url)
        try await PostgresTestDatabase.migrated.value
        let run = UUID().uuidString.prefix(8).lowercased()
        for lock in [true, false] {
            let store = try await FluentFleetStore.open(
                .postgres(url: url), logger: Logger(label: "aloft.test.pg"), migrations: FluentFleetStore.migrations,
                publishSerialization: FluentFleetStoreTests.widenedGap(lock: lock))
            let channel = "order-\(run)-\(lock)"
            let accepted = await FluentFleetStoreTests.publishConcurrently(store, channel: channel, count: 10)
            let stored = try await FluentFleetStoreTests.insertionOrder(store, channel: channel)
            #expect(stored.sorted() == accepted.sorted() && !stored.isEmpty)
            if lock {
                #expect(stored == stored.sorted(), "with the lock, stored in the order \(stored)")
            } else {
                #expect(stored != stored.sorted(), "without the lock the race shows: stored in the order \(stored)")
            }
            await store.shutdown()
        }
    }

    @Test func storesFirmware() async throws {
        try await PostgresTestDatabase.migrated.value
        let store = try await FluentFleetStore.open(.postgres(url: try #require(PostgresTestDatabase.url)), logger: Logger(label: "aloft.test.pg"))
        try await FirmwareStoreTests.exercise(store, run: UUID().uuidString.prefix(8).lowercased())
        await store.shutdown()
    }

    @Test func filtersAndPagesDevices() async throws {
        try await PostgresTestDatabase.migrated.value
        let store = try await FluentFleetStore.open(.postgres(url: try #require(PostgresTestDatabase.url)), logger: Logger(label: "aloft.test.pg"))
        try await DevicePageStoreTests.exercise(store, run: UUID().uuidString.prefix(8).lowercased())
        await store.shutdown()
    }
}

enum PostgresTestDatabase {
    static var url: String? { ProcessInfo.processInfo.environment["ALOFT_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// Migrates the test database once. Suites run in parallel, and two first opens of a fresh database would both
    /// try to create the same tables; every PostgreSQL test awaits this before opening a store.
    static let migrated = Task {
        guard let url else { return }
        await (try FluentFleetStore.open(.postgres(url: url), logger: Logger(label: "aloft.test.pg"))).shutdown()
    }
}

enum DeviceTokenHash {
    static func random() -> String {
        String((0..<64).map { _ in "0123456789abcdef".randomElement()! })
    }
}
