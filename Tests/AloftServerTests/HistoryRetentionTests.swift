import AloftCore
@testable import AloftServer
import AloftStore
import Foundation
import Logging
import Testing

/// Events and blob requests older than the retention go; newer ones and each device's last event stay.
@Suite struct HistoryRetentionTests {
    static let day: TimeInterval = 86_400

    /// A store with two devices: dev-1 has events and downloads 40 and 10 days old, dev-2 only one event 40 days old.
    static func store(now: Date) async throws -> FluentFleetStore {
        let store = try await FluentFleetStore.open(.sqliteMemory, logger: Logger(label: "aloft.test.retention"))
        for id in ["dev-1", "dev-2"] {
            _ = try await store.createDevice(NewDevice(id: id, channel: "stable", tokenHash: String(repeating: id == "dev-1" ? "a" : "b", count: 64)))
        }
        for age in [40.0, 10.0] {
            let at = now.addingTimeInterval(-age * day)
            try await store.recordEvent(DeviceEvent(deviceID: "dev-1", type: "confirmed", version: "1.0.\(Int(age))", sequence: Int(age), reason: nil, at: at))
            try await store.recordDownload(BlobDownload(deviceID: "dev-1", sha256: String(repeating: "c", count: 64), encoding: "raw", bytes: Int(age), status: 200, at: at))
        }
        try await store.recordEvent(
            DeviceEvent(deviceID: "dev-2", type: "rolled_back", version: "2.0.0", sequence: 2, reason: "main.py raised", at: now.addingTimeInterval(-40 * day)))
        return store
    }

    @Test func theStorePrunesBeforeACutoffInOneGo() async throws {
        let now = Date()
        let store = try await Self.store(now: now)
        #expect(try await store.pruneHistory(before: now.addingTimeInterval(-30 * Self.day)) == HistoryPruned(events: 2, downloads: 1))
        #expect(try await store.events(deviceID: "dev-1", limit: nil).map(\.sequence) == [10])
        #expect(try await store.downloads(deviceID: "dev-1", limit: nil).map(\.bytes) == [10])
        #expect(try await store.events(deviceID: "dev-2", limit: nil).isEmpty)
        // the device record keeps what happened last, even when its event is gone
        let dev2 = try #require(try await store.device(id: "dev-2"))
        #expect(dev2.lastEvent?.type == "rolled_back" && dev2.lastEvent?.reason == "main.py raised")
        #expect(try await store.pruneHistory(before: now.addingTimeInterval(-30 * Self.day)) == HistoryPruned(events: 0, downloads: 0))
        await store.shutdown()
    }

    @Test func theServicePrunesWhatIsOlderThanTheRetention() async throws {
        let now = Date()
        let store = try await Self.store(now: now)
        let service = HistoryRetentionService(store: store, retention: .seconds(30 * 86_400), interval: .seconds(3600), logger: Logger(label: "aloft.test"))
        #expect(await service.prune(now: now) == HistoryPruned(events: 2, downloads: 1))
        #expect(await service.prune(now: now.addingTimeInterval(25 * Self.day)) == HistoryPruned(events: 1, downloads: 1))
        // a store that fails (here: closed) is logged and skipped, never thrown: the server goes on
        await store.shutdown()
        #expect(await service.prune(now: now) == nil)
    }

    @Test func aRetentionMustBePositive() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-retention-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = AloftServerConfiguration(
            dataDirectory: directory, adminToken: "t", database: .sqliteMemory, historyRetention: .zero)
        await #expect(throws: AloftError("the history retention must be positive (or none, to keep the history)")) {
            _ = try await buildApplication(configuration)
        }
    }
}
