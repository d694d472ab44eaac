import AloftCore
import Foundation
import Logging
import Testing

@testable import AloftStore

/// Tags, pins, held releases, rollouts and their per-device outcomes in the store; the same checks run on PostgreSQL
/// in PostgresStoreTests.
@Suite struct RolloutStoreTests {
    static let at = Date(timeIntervalSince1970: 1_796_000_000)

    /// Everything the rollout path stores, on `store`, with names unique to `run` (a PostgreSQL database is shared).
    static func exercise(_ store: FluentFleetStore, run: String) async throws {
        let channel = "ro-\(run)", id = "ro-dev-\(run)", other = "ro-other-\(run)"
        _ = try await store.createDevice(NewDevice(id: id, channel: channel, tokenHash: DeviceTokenHash.random(), tags: ["lab", "eu", "lab"]))
        _ = try await store.createDevice(NewDevice(id: other, channel: channel, tokenHash: DeviceTokenHash.random()))
        #expect(try await store.device(id: id)?.tags == ["eu", "lab"])
        let tagged = try await store.updateDeviceTags(id: id, add: ["greenhouse", "eu"], remove: ["lab", "absent"])
        #expect(tagged.tags == ["eu", "greenhouse"])
        #expect(try await store.updateDeviceTags(id: id, add: [], remove: ["eu", "greenhouse"]).tags == [])
        _ = try await store.updateDeviceTags(id: id, add: ["eu"], remove: [])
        await #expect(throws: StoreError.deviceNotFound("nobody-\(run)")) { try await store.updateDeviceTags(id: "nobody-\(run)", add: ["a"], remove: []) }
        #expect(try await store.setDevicePin(id: id, version: "1.0.1").pin == "1.0.1")
        #expect(try await store.setDevicePin(id: id, version: nil).pin == nil)
        #expect(try await store.devices(channel: channel).map(\.id) == [id, other].sorted())

        var held = FluentFleetStoreTests.release(2, channel: channel)
        held.held = true
        _ = try await store.publish(FluentFleetStoreTests.release(1, channel: channel))
        #expect(try await store.publish(held).held)
        #expect(try await store.release(channel: channel, version: "1.0.2")?.held == true)
        #expect(try await store.release(channel: channel, version: "1.0.1")?.held == false)
        #expect(try await store.release(channel: channel, version: "9.9.9") == nil)
        var sameVersion = FluentFleetStoreTests.release(3, channel: channel)
        sameVersion.version = "1.0.2"
        await #expect(throws: StoreError.versionExists(channel: channel, version: "1.0.2", sequence: 2)) { try await store.publish(sameVersion) }

        // What a check-in says about rejection and format is kept, for progression and `devices list`. (After the publishes:
        // a release at or below a sequence a device rolled back from is refused.)
        try await store.recordCheckIn(
            DeviceCheckIn(deviceID: id, version: "1.0.1", sequence: 1, board: "esp32", micropython: "1.22.0", agent: nil, mpy: nil, free: nil,
                          rejected: 3, format: 2, at: at))
        let seen = try #require(try await store.device(id: id))
        #expect(seen.rejected == 3 && seen.format == 2 && seen.lastSeen == at)

        let policy = RolloutPolicy(
            phases: [10, 100], target: RolloutTarget(tags: ["eu"]), maxFailures: .percent(10), minDevices: 2, soak: 60,
            window: try MaintenanceWindow("Sat 22:00-02:00 UTC"), manual: true)
        var rollout = try await store.createRollout(NewRollout(channel: channel, sequence: 2, version: "1.0.2", policy: policy, createdAt: at))
        #expect(rollout.status == .running && rollout.phase == 0 && rollout.phaseStartedAt == at && rollout.policy == policy)
        #expect(try await store.rollout(id: rollout.id) == rollout)
        rollout.phase = 1
        rollout.settledAt = at.addingTimeInterval(5)
        rollout.status = .halted
        rollout.haltReason = "1 of 1 device that tried failed"
        try await store.updateRollout(rollout)
        #expect(try await store.rollout(id: rollout.id) == rollout)
        #expect(try await store.rollouts(channel: channel).map(\.id) == [rollout.id])
        #expect(try await store.rollouts(channel: nil).contains(rollout))
        var missing = rollout
        missing.id = 987_654_321
        await #expect(throws: StoreError.rolloutNotFound(987_654_321)) { try await store.updateRollout(missing) }

        // Outcomes: an offer once, then what the device's events about the rollout's release say.
        try await store.recordOffer(rollout: rollout.id, deviceID: id, at: at)
        try await store.recordOffer(rollout: rollout.id, deviceID: id, at: at.addingTimeInterval(99))
        #expect(try await store.rolloutOutcomes(rollout: rollout.id) == [id: RolloutOutcome(state: .offered, at: at)])
        func report(_ type: String, sequence: Int, reason: String? = nil, after seconds: TimeInterval) async throws {
            try await store.recordEvent(DeviceEvent(deviceID: id, type: type, version: "1.0.\(sequence)", sequence: sequence, reason: reason, at: at.addingTimeInterval(seconds)))
        }
        try await report("downloading", sequence: 2, after: 1)
        try await report("installed", sequence: 1, after: 2)  // another release: no change
        try await report("deferred", sequence: 2, after: 3)  // says nothing about the release
        #expect(try await store.rolloutOutcomes(rollout: rollout.id)[id] == RolloutOutcome(state: .downloading, at: at.addingTimeInterval(1)))
        try await report("installed", sequence: 2, after: 4)
        try await report("rolled_back", sequence: 2, reason: "main.py raised", after: 5)
        try await report("confirmed", sequence: 2, after: 6)  // late and out of order: a rollback stays
        #expect(try await store.rolloutOutcomes(rollout: rollout.id)[id] == RolloutOutcome(state: .rolledBack, at: at.addingTimeInterval(5), reason: "main.py raised"))
        // A device the rollout never offered the release to gets no outcome from its events.
        try await store.recordEvent(DeviceEvent(deviceID: other, type: "confirmed", version: "1.0.2", sequence: 2, reason: nil, at: at))
        #expect(try await store.rolloutOutcomes(rollout: rollout.id)[other] == nil)
    }

    @Test func storesRolloutsOnSQLite() async throws {
        let store = try await FluentFleetStore.open(.sqliteMemory, logger: FluentFleetStoreTests.logger)
        try await Self.exercise(store, run: "sqlite")
        await store.shutdown()
    }
}
