import AloftCore
import Foundation
import SQLKit
import Testing

@testable import AloftStore

/// What the store keeps of firmware (docs/firmware.md): each check-in's firmware fields, the step of events, a release's
/// images and `firmwareWithoutRollback`. The same checks run on PostgreSQL in PostgresStoreTests.
@Suite struct FirmwareStoreTests {
    static let at = Date(timeIntervalSince1970: 1_796_000_000)
    static let image = FirmwareImage(
        build: "ESP32_GENERIC-OTA", chip: "esp32", micropython: "1.26.0", mpy: 6, sha256: String(repeating: "a", count: 64), size: 1_703_936)
    static let report = FirmwareReport(
        build: "ESP32_GENERIC-OTA", ota: true, chip: "esp32", slot: 0x180000, running: "ota_0", state: "trial", rollback: false,
        sha256: String(repeating: "b", count: 64), rejected: String(repeating: "c", count: 64))

    /// Everything the firmware path stores, on `store`, with names unique to `run` (a PostgreSQL database is shared).
    static func exercise(_ store: FluentFleetStore, run: String) async throws {
        let channel = "fw-\(run)", ids = (0..<3).map { "fw-dev-\($0)-\(run)" }
        for id in ids { _ = try await store.createDevice(NewDevice(id: id, channel: channel, tokenHash: DeviceTokenHash.random())) }
        // The release the devices say they run: a release at or below what a device reported is refused (ChannelSequence).
        _ = try await store.publish(FluentFleetStoreTests.release(1, channel: channel))
        func checkIn(_ id: String, _ firmware: FirmwareReport, after seconds: TimeInterval) -> DeviceCheckIn {
            DeviceCheckIn(
                deviceID: id, version: "1.0.1", sequence: 1, board: "ESP32_GENERIC-OTA", micropython: "1.24.1", agent: "0.4.0", mpy: 2822, free: 1,
                format: 2, firmware: firmware, at: at.addingTimeInterval(seconds))
        }
        // One batch: a device that says everything, one that says only `ota` (a board without an OTA table), one that says
        // nothing (an agent before 0.4.0): every column's values mixed with nulls in one statement.
        let sparse = FirmwareReport(ota: false)
        try await store.recordCheckIn(checkIn(ids[0], report, after: 0))
        try await store.recordCheckIn(checkIn(ids[1], sparse, after: 0))
        try await store.recordCheckIn(checkIn(ids[2], FirmwareReport(), after: 0))
        #expect(try await store.devices(channel: channel).map(\.firmware) == [report, sparse, FirmwareReport()])
        // The next check-in says what it runs now: a field it leaves out is cleared, as board and micropython are.
        var confirmed = report
        confirmed.state = "valid"
        confirmed.rejected = nil
        try await store.recordCheckIn(checkIn(ids[0], confirmed, after: 10))
        try await store.recordCheckIn(checkIn(ids[1], report, after: 10))
        let devices = try await store.devices(channel: channel)
        #expect(devices.map(\.firmware) == [confirmed, report, FirmwareReport()])
        #expect(devices[0].firmware.firmware?.onTrial == false && devices[1].firmware.firmware?.onTrial == true)

        // Events keep their step, and the device's last event too.
        try await store.recordEvent(
            DeviceEvent(deviceID: ids[0], type: "installed", version: "1.0.2", sequence: 2, reason: nil, step: "firmware", at: at.addingTimeInterval(20)))
        #expect(try await store.events(deviceID: ids[0], limit: nil).map(\.step) == ["firmware"])
        #expect(try await store.device(id: ids[0])?.lastEvent?.step == "firmware")
        try await store.recordEvent(DeviceEvent(deviceID: ids[0], type: "downloading", version: "1.0.2", sequence: 2, reason: nil, at: at.addingTimeInterval(30)))
        #expect(try await store.events(deviceID: ids[0], limit: nil).map(\.step) == [nil, "firmware"])
        #expect(try await store.device(id: ids[0])?.lastEvent?.step == nil)

        // A release's images and its permission come back as published; a release without them has none.
        var release = FluentFleetStoreTests.release(2, channel: channel)
        release.firmware = [image]
        release.firmwareWithoutRollback = true
        let published = try await store.publish(release)
        #expect(published.firmware == [image] && published.firmwareWithoutRollback)
        let read = try #require(try await store.release(channel: channel, sequence: 2))
        #expect(read == release.with(publishedAt: read.publishedAt))
        let plain = try #require(try await store.release(channel: channel, version: "1.0.1"))
        #expect(plain.firmware == [] && !plain.firmwareWithoutRollback)
        #expect(try await store.releases(channel: channel).map(\.firmware) == [[image], []])

        // A rollout counts the firmware step, then the files; a late firmware event does not undo the files step.
        let rollout = try await store.createRollout(NewRollout(channel: channel, sequence: 2, version: "1.0.2", policy: RolloutPolicy(), createdAt: at))
        try await store.recordOffer(rollout: rollout.id, deviceID: ids[1], at: at)
        func outcome(_ type: String, step: String?, reason: String? = nil, after seconds: TimeInterval) async throws -> RolloutDeviceState? {
            try await store.recordEvent(
                DeviceEvent(deviceID: ids[1], type: type, version: "1.0.2", sequence: 2, reason: reason, step: step, at: at.addingTimeInterval(seconds)))
            return try await store.rolloutOutcomes(rollout: rollout.id)[ids[1]]?.state
        }
        #expect(try await outcome("downloading", step: "firmware", after: 1) == .firmware)
        #expect(try await outcome("confirmed", step: "firmware", after: 2) == .firmware)
        #expect(try await outcome("downloading", step: nil, after: 3) == .downloading)
        #expect(try await outcome("confirmed", step: "firmware", after: 4) == .downloading)
        #expect(try await outcome("rolled_back", step: "firmware", reason: "firmware rolled back", after: 5) == .rolledBack)
        #expect(try await store.rolloutOutcomes(rollout: rollout.id)[ids[1]]?.reason == "firmware rolled back")
    }

    @Test func storesFirmwareOnSQLite() async throws {
        let store = try await FluentFleetStore.open(.sqliteMemory, logger: FluentFleetStoreTests.logger)
        try await Self.exercise(store, run: "sqlite")
        await store.shutdown()
    }

    /// Rows from before migration v9 read as a device that reported no firmware, a files-step event, a release without
    /// firmware; the next check-in fills the device's columns.
    @Test func rowsFromBeforeFirmwareReadAsNone() async throws {
        try await withScratchSQLite { path in
            let before = try await FluentFleetStore.open(
                .sqlite(path: path), logger: FluentFleetStoreTests.logger, migrations: Array(FluentFleetStore.migrations.prefix(8)))
            let sql = try #require(try before.db() as? any SQLDatabase)
            try await sql.raw("INSERT INTO devices (id, channel, token_hash, sequence, created_at) VALUES ('old', 'stable', 'h', 0, \(bind: Self.at))").run()
            try await sql.raw("INSERT INTO events (device_id, type, at) VALUES ('old', 'confirmed', \(bind: Self.at))").run()
            try await sql.raw(
                """
                INSERT INTO releases (channel, sequence, version, created, envelope, file_count, total_size, published_at)
                VALUES ('stable', 1, '1.0.0', '2026-11-29T02:33:34Z', '{}', 1, 10, \(bind: Self.at))
                """
            ).run()
            await before.shutdown()

            let after = try await FluentFleetStore.open(.sqlite(path: path), logger: FluentFleetStoreTests.logger)
            #expect(try await after.device(id: "old")?.firmware == FirmwareReport())
            #expect(try await after.events(deviceID: "old", limit: nil).map(\.step) == [nil])
            let release = try #require(try await after.release(channel: "stable", sequence: 1))
            #expect(release.firmware == [] && !release.firmwareWithoutRollback)
            try await after.recordCheckIn(
                DeviceCheckIn(
                    deviceID: "old", version: nil, sequence: 0, board: nil, micropython: nil, agent: "0.4.0", mpy: nil, free: nil, firmware: Self.report,
                    at: Self.at))
            #expect(try await after.device(id: "old")?.firmware == Self.report)
            await after.shutdown()
        }
    }
}
