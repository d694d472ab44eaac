import AloftStore
import Foundation
import Logging
import Testing

@Suite struct FluentFleetStoreTests {
    static let logger = Logger(label: "aloft.test.store")

    static func release(_ sequence: Int, channel: String = "stable") -> NewRelease {
        NewRelease(
            channel: channel, sequence: sequence, version: "1.0.\(sequence)", created: "2026-11-29T02:33:34Z",
            envelope: #"{"manifest":"{}","signatures":[]}"#,
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

    @Test func concurrentPublishesKeepSequencesStrictlyIncreasing() async throws {
        let store = try await FluentFleetStore.open(.sqliteMemory, logger: Self.logger)
        let accepted = await withTaskGroup(of: Int?.self) { group in
            for sequence in 1...20 {
                group.addTask { try? await store.publish(Self.release(sequence)).sequence }
            }
            var accepted: [Int] = []
            for await sequence in group { if let sequence { accepted.append(sequence) } }
            return accepted
        }
        #expect(!accepted.isEmpty)
        let stored = try await store.releases(channel: "stable").map(\.sequence)
        #expect(stored.sorted() == accepted.sorted())
        #expect(Set(stored).count == stored.count)
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
}
