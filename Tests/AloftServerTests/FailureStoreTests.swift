import AloftCore
import Foundation
import Logging
import Testing

@testable import AloftStore

/// The store's memory of a device's failures with each release, on SQLite and (under scripts/with-postgres.sh) PostgreSQL.
@Suite struct FailureStoreTests {
    static let noFlash = "insufficient storage: need 843776 bytes, 307200 free"

    @Test(arguments: AccessStoreTests.databases) func failedEventsAreRememberedPerReleaseUntilInstalledOrCleared(database: FleetDatabase) async throws {
        if case .postgres = database { try await PostgresTestDatabase.migrated.value }
        let store = try await FluentFleetStore.open(database, logger: Logger(label: "aloft.test.failures"))
        let run = UUID().uuidString.prefix(8).lowercased()  // ids unique per run: a PostgreSQL database may be reused
        let id = "dev-\(run)", other = "other-\(run)"
        for device in [id, other] { _ = try await store.createDevice(NewDevice(id: device, channel: "stable-\(run)", tokenHash: DeviceTokenHash.random())) }
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        try await store.recordCheckIn(
            DeviceCheckIn(deviceID: id, version: "1.0.0", sequence: 1, board: "esp32", micropython: "1.24.1", agent: "0.4.0", mpy: nil, free: 307_200, at: t0))
        func failed(_ sequence: Int, _ reason: String?, at: Date, device: String? = nil) async throws {
            try await store.recordEvent(
                DeviceEvent(deviceID: device ?? id, type: "failed", version: "1.\(sequence).0", sequence: sequence, reason: reason, at: at))
        }
        #expect(try await store.failures(deviceID: id) == [])

        // Three passing failures, then a lasting one: four attempts, the last one's kind, reason and time.
        for n in 0..<3 { try await failed(2, "HTTP 503 for main.py", at: t0.addingTimeInterval(Double(n) * 60)) }
        #expect(try await store.failures(deviceID: id) == [
            ReleaseFailure(sequence: 2, version: "1.2.0", attempts: 3, kind: .passing, reason: "HTTP 503 for main.py", at: t0.addingTimeInterval(120))
        ])
        try await failed(2, Self.noFlash, at: t0.addingTimeInterval(600))
        let remembered = ReleaseFailure(sequence: 2, version: "1.2.0", attempts: 4, kind: .noFlash, reason: Self.noFlash, at: t0.addingTimeInterval(600), free: 307_200)
        #expect(try await store.failures(deviceID: id) == [remembered])
        // Another release, another device: their own rows. A failure without a reason is passing; one without a sequence is about no release.
        try await failed(3, nil, at: t0)
        try await failed(2, "incompatible: board esp32 not in rp2", at: t0, device: other)
        try await store.recordEvent(DeviceEvent(deviceID: id, type: "failed", version: nil, sequence: nil, reason: "no %s", at: t0))
        let all = try await store.failures(deviceIDs: [id, other, "nobody-\(run)"])
        #expect(all[id]?.map(\.sequence) == [2, 3])
        #expect(all[id]?.last?.kind == .passing && all[id]?.last?.reason == "no reason given")
        #expect(all[other]?.map(\.kind) == [.lasting])
        #expect(all["nobody-\(run)"] == nil)
        // Other events change nothing; installed (or confirmed) of a release forgets it.
        try await store.recordEvent(DeviceEvent(deviceID: id, type: "downloading", version: "1.2.0", sequence: 2, reason: nil, at: t0))
        #expect(try await store.failures(deviceID: id).first == remembered)
        try await store.recordEvent(DeviceEvent(deviceID: id, type: "installed", version: "1.3.0", sequence: 3, reason: nil, at: t0))
        #expect(try await store.failures(deviceID: id) == [remembered])
        try await store.recordEvent(DeviceEvent(deviceID: other, type: "confirmed", version: "1.2.0", sequence: 2, reason: nil, at: t0))
        #expect(try await store.failures(deviceID: other) == [])

        // Cleared by an operator: one release, then all; what was cleared comes back.
        try await failed(4, "sha256 mismatch for main.py", at: t0)
        #expect(try await store.clearFailures(deviceID: id, sequence: 4).map(\.sequence) == [4])
        #expect(try await store.clearFailures(deviceID: id, sequence: 4) == [])
        try await failed(5, "HTTP 503 for main.py", at: t0)
        #expect(try await store.clearFailures(deviceID: id, sequence: nil).map(\.sequence) == [2, 5])
        #expect(try await store.failures(deviceID: id) == [])
        // And counted from 1 again.
        try await failed(2, Self.noFlash, at: t0)
        #expect(try await store.failures(deviceID: id).map(\.attempts) == [1])
        await store.shutdown()
    }
}
