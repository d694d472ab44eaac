import Foundation
import Testing

@testable import AloftCore

func at(_ timestamp: String) -> Date { ReleaseManifest.date(fromTimestamp: timestamp)! }

/// Cohorts, targets, maintenance windows and failure limits: the pieces of a rollout.
@Suite struct RolloutPieceTests {
    @Test func aCohortNumberIsStableInRangeAndDiffersBetweenRollouts() {
        let ids = (0..<2000).map { "dev-\($0)" }
        for id in ids.prefix(50) {
            #expect(Cohort.number(rollout: 7, device: id) == Cohort.number(rollout: 7, device: id))
            #expect((0..<Cohort.buckets).contains(Cohort.number(rollout: 7, device: id)))
        }
        // Known values: the hash is SHA-256 of a fixed text, so they never change between runs or platforms.
        #expect(Cohort.number(rollout: 1, device: "dev-0") == Cohort.number(rollout: 1, device: "dev-0"))
        let canaries1 = Set(ids.filter { Cohort.phase(rollout: 1, device: $0, phases: [10, 100]) == 0 })
        let canaries2 = Set(ids.filter { Cohort.phase(rollout: 2, device: $0, phases: [10, 100]) == 0 })
        #expect(canaries1 != canaries2)
        // About 10 %, and the overlap of two rollouts' canaries about 1 %: independent picks.
        #expect((150...250).contains(canaries1.count))
        #expect(canaries1.intersection(canaries2).count < 50)
    }

    @Test func phasesAreCumulativeAndMembershipIsMonotoneInThePercentage() {
        #expect(Cohort.phase(of: 0, phases: [5, 25, 100]) == 0)
        #expect(Cohort.phase(of: 499, phases: [5, 25, 100]) == 0)
        #expect(Cohort.phase(of: 500, phases: [5, 25, 100]) == 1)
        #expect(Cohort.phase(of: 2499, phases: [5, 25, 100]) == 1)
        #expect(Cohort.phase(of: 2500, phases: [5, 25, 100]) == 2)
        #expect(Cohort.phase(of: 9999, phases: [5, 25, 100]) == 2)
        #expect(Cohort.phase(of: 5000, phases: [10, 50]) == nil)
        for number in stride(from: 0, to: Cohort.buckets, by: 37) {
            var wasIn = false
            for percent in 1...100 {
                let isIn = Cohort.phase(of: number, phases: [percent]) != nil
                #expect(!wasIn || isIn, "number \(number) left at \(percent)%")
                wasIn = isIn
            }
            #expect(wasIn)
        }
    }

    @Test func targetsNarrowByEachKindGiven() {
        let device = DeviceFacts(id: "gh-1", tags: ["greenhouse", "eu"], sequence: 1, board: "esp32s3", micropython: "1.22.0")
        #expect(RolloutTarget().includes(device))
        #expect(RolloutTarget(tags: ["eu", "us"]).includes(device))
        #expect(!RolloutTarget(tags: ["us"]).includes(device))
        #expect(RolloutTarget(boards: ["esp32*"]).includes(device))
        #expect(!RolloutTarget(boards: ["rp2"]).includes(device))
        #expect(RolloutTarget(devices: ["gh-1"]).includes(device))
        #expect(!RolloutTarget(devices: ["gh-2"]).includes(device))
        #expect(RolloutTarget(tags: ["eu"], boards: ["esp32?3"]).includes(device))
        #expect(!RolloutTarget(tags: ["eu"], boards: ["rp2*"]).includes(device))
        #expect(throws: AloftError.self) { try RolloutTarget(tags: ["bad tag"]).validate() }
        #expect(throws: AloftError.self) { try RolloutTarget(boards: ["esp32[]"]).validate() }
        #expect(throws: AloftError.self) { try RolloutTarget(devices: ["-x"]).validate() }
        #expect(RolloutTarget(tags: ["a"], devices: ["x", "y"]).summary == "tag a; 2 listed devices")
    }

    @Test func windowsParseAndOpen() throws {
        let weekdays = try MaintenanceWindow("Mon-Fri 01:00-05:00 UTC")
        #expect(weekdays.days == [0, 1, 2, 3, 4])
        // 2026-12-02 is a Wednesday, 2026-12-05 a Saturday.
        #expect(weekdays.contains(at("2026-12-02T01:00:00Z")))
        #expect(weekdays.contains(at("2026-12-02T04:59:59Z")))
        #expect(!weekdays.contains(at("2026-12-02T05:00:00Z")))
        #expect(!weekdays.contains(at("2026-12-02T00:59:59Z")))
        #expect(!weekdays.contains(at("2026-12-05T02:00:00Z")))
        #expect(weekdays.nextOpening(after: at("2026-12-02T06:00:00Z")) == at("2026-12-03T01:00:00Z"))
        #expect(weekdays.nextOpening(after: at("2026-12-04T06:00:00Z")) == at("2026-12-07T01:00:00Z"))
        #expect(weekdays.nextOpening(after: at("2026-12-02T00:30:00Z")) == at("2026-12-02T01:00:00Z"))

        let saturdayNight = try MaintenanceWindow("Sat 22:00-02:00 UTC")
        #expect(saturdayNight.contains(at("2026-12-05T23:00:00Z")))
        #expect(saturdayNight.contains(at("2026-12-06T01:59:00Z")))
        #expect(!saturdayNight.contains(at("2026-12-06T02:00:00Z")))
        #expect(!saturdayNight.contains(at("2026-12-05T01:00:00Z")))
        #expect(saturdayNight.nextOpening(after: at("2026-12-06T03:00:00Z")) == at("2026-12-12T22:00:00Z"))

        // Sunday into Monday wraps the week.
        let sunday = try MaintenanceWindow("sun 23:00-01:00 UTC")
        #expect(sunday.contains(at("2026-12-07T00:30:00Z")))
        let daily = try MaintenanceWindow("22:00-24:00 UTC")
        #expect(daily.days.count == 7)
        #expect(daily.contains(at("2026-12-02T23:59:59Z")))
        let offset = try MaintenanceWindow("Wed,Fri-Sat 03:00-04:00 UTC+02:00")
        #expect(offset.days == [2, 4, 5])
        #expect(offset.contains(at("2026-12-02T01:30:00Z")))
        #expect(!offset.contains(at("2026-12-02T03:30:00Z")))
        let all = try MaintenanceWindow("00:00-24:00 UTC")
        #expect(all.contains(at("2026-12-02T12:00:00Z")))

        for bad in ["", "Mon-Fri", "Mon-Fri 01:00-05:00", "Mon-Fri 01:00-05:00 CET", "Mon-Fry 01:00-05:00 UTC", "Mon 1:00-05:00 UTC",
                    "Mon 01:00-01:00 UTC", "Mon 25:00-02:00 UTC", "Mon 01:60-02:00 UTC", "Mon 01:00 UTC", "Mon,,Tue 01:00-02:00 UTC",
                    "Mon 01:00-02:00 UTC+15", "a b c d"] {
            #expect {
                try MaintenanceWindow(bad)
            } throws: { error in
                let message = (error as? AloftError)?.message ?? ""
                return message.hasPrefix("invalid maintenance window") && !message.contains("\n")
            }
        }
    }

    @Test func failureLimitsAndDurations() throws {
        #expect(try FailureThreshold("0") == .count(0))
        #expect(try FailureThreshold("10%") == .percent(10))
        for bad in ["", "-1", "10 %", "101%", "x", "%", "1.5"] { #expect(throws: AloftError.self) { try FailureThreshold(bad) } }
        #expect(FailureThreshold.count(0).isExceeded(failures: 1, tried: 1))
        #expect(!FailureThreshold.count(3).isExceeded(failures: 3, tried: 3))
        #expect(FailureThreshold.count(3).isExceeded(failures: 4, tried: 100))
        #expect(!FailureThreshold.percent(10).isExceeded(failures: 1, tried: 10))
        #expect(FailureThreshold.percent(10).isExceeded(failures: 2, tried: 10))
        #expect(FailureThreshold.percent(0).isExceeded(failures: 1, tried: 50))
        #expect(try RolloutPolicy.parseDuration("1h") == 3600)
        #expect(try RolloutPolicy.parseDuration("90") == 90)
        #expect(try RolloutPolicy.parseDuration("2d") == 172_800)
        for bad in ["", "h", "1w", "-1h", "1000d"] { #expect(throws: AloftError.self) { try RolloutPolicy.parseDuration(bad) } }
        #expect(throws: AloftError.self) { try RolloutPolicy(phases: [5, 5, 100]).validate() }
        #expect(throws: AloftError.self) { try RolloutPolicy(phases: [0, 100]).validate() }
        #expect(throws: AloftError.self) { try RolloutPolicy(phases: [50, 101]).validate() }
        #expect(throws: AloftError.self) { try RolloutPolicy(phases: []).validate() }
        try RolloutPolicy(phases: [5, 25, 100]).validate()
    }
}

/// A device's firmware step in a rollout (docs/firmware.md, "Offer and events"): progress that is not done, a failure
/// like any other.
@Suite struct RolloutFirmwareStepTests {
    let now = at("2026-12-07T12:00:00Z")
    let release = ReleaseCandidate(sequence: 3, version: "1.3.0", compat: Compatibility(), expires: nil, formats: [1, 2])

    func rollout(maxFailures: FailureThreshold = .count(0)) -> Rollout {
        Rollout(
            id: 1, channel: "stable", sequence: 3, version: "1.3.0", policy: RolloutPolicy(phases: [100], maxFailures: maxFailures),
            phaseStartedAt: now.addingTimeInterval(-60), createdAt: now.addingTimeInterval(-60))
    }

    func member(_ id: String, _ state: RolloutDeviceState, reason: String? = nil) -> RolloutMember {
        RolloutMember(
            facts: DeviceFacts(id: id, sequence: 2, board: "esp32", micropython: "1.24.1", format: 2), lastSeen: now,
            outcome: RolloutOutcome(state: state, at: now, reason: reason))
    }

    @Test func eventsOfTheFirmwareStepAreProgressOrFailure() {
        for type in ["downloading", "installed", "confirmed"] {
            #expect(RolloutDeviceState(event: type, step: "firmware") == .firmware, "\(type)")
            #expect(RolloutDeviceState(event: type) == RolloutDeviceState(rawValue: type), "\(type) of the files step")
        }
        #expect(RolloutDeviceState(event: "failed", step: "firmware") == .failed)
        #expect(RolloutDeviceState(event: "rolled_back", step: "firmware") == .rolledBack)
        #expect(RolloutDeviceState(event: "deferred", step: "firmware") == nil)
        // `firmware` is a state, never an event type.
        #expect(RolloutDeviceState(event: "firmware") == nil)
        #expect(!RolloutDeviceState.firmware.isSettled && !RolloutDeviceState.firmware.isFailure)
    }

    @Test func statesMoveFromTheFirmwareStepToTheFiles() {
        #expect(RolloutDeviceState.offered.then(.firmware) == .firmware)
        #expect(RolloutDeviceState.firmware.then(.firmware) == .firmware)
        #expect(RolloutDeviceState.firmware.then(.downloading) == .downloading)
        #expect(RolloutDeviceState.firmware.then(.rolledBack) == .rolledBack)
        #expect(RolloutDeviceState.failed.then(.firmware) == .firmware, "a firmware step tried again")
        // A late event of the firmware step does not undo the files step, nor a final state.
        #expect(RolloutDeviceState.downloading.then(.firmware) == .downloading)
        #expect(RolloutDeviceState.installed.then(.firmware) == .installed)
        #expect(RolloutDeviceState.confirmed.then(.firmware) == .confirmed)
        #expect(RolloutDeviceState.rolledBack.then(.firmware) == .rolledBack)
    }

    @Test func aDeviceInItsFirmwareStepTriedButHoldsThePhase() {
        // Its firmware step keeps the only phase from being done, so the rollout does not complete.
        let running = RolloutProgression.step(rollout(), release: release, members: [member("a", .firmware), member("b", .confirmed)], now: now)
        #expect(running.status == .running && running.settledAt == nil)
        #expect(RolloutProgression.step(rollout(), release: release, members: [member("a", .confirmed), member("b", .confirmed)], now: now).status
            == .completed)
        // It counts as a device that tried: 1 failure of 2 is within 50%, of 1 it is not.
        let half = rollout(maxFailures: .percent(50))
        #expect(RolloutProgression.step(half, release: release, members: [member("a", .firmware), member("b", .failed)], now: now).status == .running)
        #expect(RolloutProgression.step(half, release: release, members: [member("a", .offered), member("b", .failed)], now: now).status == .halted)
        let reports = RolloutPhaseReport.reports(for: rollout(), members: [member("a", .firmware), member("b", .firmware), member("c", .offered)])
        #expect(reports[0].counts == [.firmware: 2, .offered: 1])
    }

    @Test func aFirmwareRollbackHaltsAsAnyFailure() {
        let state = RolloutDeviceState(event: "rolled_back", step: "firmware")!
        let halted = RolloutProgression.step(
            rollout(), release: release, members: [member("a", state, reason: "firmware ESP32_GENERIC-OTA rolled back by the bootloader")], now: now)
        #expect(halted.status == .halted)
        #expect(halted.haltReason == "1 of 1 device that tried failed or rolled back (limit 0): 1× firmware ESP32_GENERIC-OTA rolled back by the bootloader")
    }
}
