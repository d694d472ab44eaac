import Foundation
import Testing
import TestSupport

@testable import AloftCore

private let now = at("2026-12-02T12:00:00Z")

private func release(_ sequence: Int, held: Bool = false, boards: [String] = ["*"], formats: Set<Int> = [1, 2]) -> ReleaseCandidate {
    ReleaseCandidate(sequence: sequence, version: "1.\(sequence).0", held: held, compat: Compatibility(boards: boards), expires: nil, formats: formats)
}

private func device(_ id: String, _ sequence: Int = 1, tags: [String] = [], pin: String? = nil, rejected: Int? = nil, board: String = "esp32")
    -> DeviceFacts
{
    DeviceFacts(id: id, tags: tags, pin: pin, sequence: sequence, board: board, micropython: "1.22.0", rejected: rejected, format: 2)
}

private func rollout(
    _ id: Int = 1, sequence: Int = 3, phases: [Int] = [10, 50, 100], status: RolloutStatus = .running, phase: Int = 0,
    target: RolloutTarget = RolloutTarget(), window: MaintenanceWindow? = nil, maxFailures: FailureThreshold = .count(0), minDevices: Int = 1,
    soak: Int = 0, manual: Bool = false, started: Date = now.addingTimeInterval(-3600)
) -> Rollout {
    Rollout(
        id: id, channel: "stable", sequence: sequence, version: "1.\(sequence).0",
        policy: RolloutPolicy(phases: phases, target: target, maxFailures: maxFailures, minDevices: minDevices, soak: soak, window: window, manual: manual),
        status: status, phase: phase, phaseStartedAt: started, haltReason: status == .halted ? "1 of 1 device that tried failed" : nil,
        createdAt: started)
}

/// The first device id (dev-0, dev-1, …) whose phase in rollout `id` is `phase`.
private func id(inPhase phase: Int?, of rollout: Rollout) -> String {
    (0..<10_000).lazy.map { "dev-\($0)" }.first { rollout.phase(of: $0) == phase }!
}

/// The check-in decision: what is offered, and the reason.
@Suite struct DecisionTests {
    @Test func withoutRolloutsEveryDeviceGetsTheNewestRelease() {
        let releases = [release(1), release(2), release(3)]
        let d = ReleaseSelection.decide(for: device("a", 1), releases: releases, rollouts: [], now: now)
        #expect(d == CheckInDecision(offer: ReleaseOffer(sequence: 3, format: 2), reason: .newest(version: "1.3.0")))
        #expect(d.reason.description == "offered 1.3.0, the newest release of the channel")
        let current = ReleaseSelection.decide(for: device("a", 3), releases: releases, rollouts: [], now: now)
        #expect(current == CheckInDecision(offer: nil, reason: .upToDate))
        #expect(current.reason.description == "up to date")
        // What the old rule offers, the decision offers, for every sequence and rejection.
        for sequence in 0...4 {
            for rejected in [nil, 1, 2, 3] {
                let facts = device("a", sequence, rejected: rejected)
                #expect(ReleaseSelection.decide(for: facts, releases: releases, rollouts: [], now: now).offer
                    == ReleaseSelection.target(for: facts, among: releases, now: now))
            }
        }
    }

    @Test func aHeldReleaseWaitsForARollout() {
        let releases = [release(2), release(3, held: true)]
        let d = ReleaseSelection.decide(for: device("a", 1), releases: releases, rollouts: [], now: now)
        // Not offered; the older one is.
        #expect(d == CheckInDecision(offer: ReleaseOffer(sequence: 2, format: 2), reason: .newest(version: "1.2.0")))
        let upToDate = ReleaseSelection.decide(for: device("a", 2), releases: releases, rollouts: [], now: now)
        #expect(upToDate == CheckInDecision(offer: nil, reason: .held(version: "1.3.0")))
        #expect(upToDate.reason.description == "release 1.3.0 held until a rollout starts it")
        let r = rollout(phases: [100])
        #expect(ReleaseSelection.decide(for: device("a", 2), releases: releases, rollouts: [r], now: now).offer?.sequence == 3)
    }

    @Test func aRolloutOffersToItsCurrentPhaseOnly() {
        let r = rollout()
        let canary = id(inPhase: 0, of: r), second = id(inPhase: 1, of: r), last = id(inPhase: 2, of: r)
        let releases = [release(2), release(3)]
        let offered = ReleaseSelection.decide(for: device(canary, 2), releases: releases, rollouts: [r], now: now)
        #expect(offered == CheckInDecision(offer: ReleaseOffer(sequence: 3, format: 2), reason: .rollout(id: 1, phase: 0, percent: 10, version: "1.3.0")))
        #expect(offered.rollout == 1)
        let waiting = ReleaseSelection.decide(for: device(second, 2), releases: releases, rollouts: [r], now: now)
        #expect(waiting == CheckInDecision(offer: nil, reason: .notInPhase(rollout: 1, phase: 0, percent: 10)))
        #expect(waiting.reason.description == "not in phase 1 (10%) of rollout 1 yet")
        // A device further behind gets the release before it instead.
        #expect(ReleaseSelection.decide(for: device(second, 1), releases: releases, rollouts: [r], now: now).offer?.sequence == 2)
        var later = r
        later.phase = 1
        #expect(ReleaseSelection.decide(for: device(second, 2), releases: releases, rollouts: [later], now: now).offer?.sequence == 3)
        #expect(ReleaseSelection.decide(for: device(canary, 2), releases: releases, rollouts: [later], now: now).offer?.sequence == 3)
        #expect(ReleaseSelection.decide(for: device(last, 2), releases: releases, rollouts: [later], now: now).offer == nil)
        var done = r
        done.status = .completed
        done.phase = 2
        #expect(ReleaseSelection.decide(for: device(last, 2), releases: releases, rollouts: [done], now: now).offer?.sequence == 3)
    }

    @Test func stoppedRolloutsOfferNothingNew() {
        let releases = [release(3)]
        for (status, sentence) in [(RolloutStatus.halted, "rollout 1 halted: 1 of 1 device that tried failed"), (.paused, "rollout 1 is paused"),
                                   (.aborted, "rollout 1 was aborted")] {
            let r = rollout(phases: [100], status: status)
            let d = ReleaseSelection.decide(for: device("a", 2), releases: releases, rollouts: [r], now: now)
            #expect(d.offer == nil)
            #expect(d.reason.description == sentence)
            // A device that installed it already is up to date.
            #expect(ReleaseSelection.decide(for: device("a", 3), releases: releases, rollouts: [r], now: now).reason == .upToDate)
        }
    }

    @Test func theNewestRolloutOfAReleaseGovernsIt() {
        let aborted = rollout(1, phases: [100], status: .aborted)
        let again = rollout(2, phases: [100])
        #expect(ReleaseSelection.decide(for: device("a", 2), releases: [release(3)], rollouts: [again, aborted], now: now).reason
            == .rollout(id: 2, phase: 0, percent: 100, version: "1.3.0"))
        // A rollout of another release does not govern this one.
        #expect(ReleaseSelection.decide(for: device("a", 2), releases: [release(3)], rollouts: [rollout(3, sequence: 2, status: .halted)], now: now).reason
            == .newest(version: "1.3.0"))
    }

    @Test func targetsAndPhasesBeyondTheLast() {
        let r = rollout(phases: [100], target: RolloutTarget(tags: ["lab"]))
        let d = ReleaseSelection.decide(for: device("a", 2, tags: ["field"]), releases: [release(3)], rollouts: [r], now: now)
        #expect(d == CheckInDecision(offer: nil, reason: .notTargeted(rollout: 1, version: "1.3.0")))
        #expect(d.reason.description == "not a target of rollout 1 (1.3.0)")
        #expect(ReleaseSelection.decide(for: device("a", 2, tags: ["lab"]), releases: [release(3)], rollouts: [r], now: now).offer?.sequence == 3)
        let half = rollout(phases: [50], status: .completed)
        let outside = id(inPhase: nil, of: half)
        #expect(ReleaseSelection.decide(for: device(outside, 2), releases: [release(3)], rollouts: [half], now: now).reason
            == .beyondPhases(rollout: 1, percent: 50))
    }

    @Test func outsideTheWindowTheDeviceLearnsWhenItOpens() throws {
        let window = try MaintenanceWindow("Mon-Fri 01:00-05:00 UTC")
        let r = rollout(phases: [100], window: window)
        let d = ReleaseSelection.decide(for: device("a", 2), releases: [release(3)], rollouts: [r], now: now)
        #expect(d.offer == nil)
        #expect(d.retryAt == at("2026-12-03T01:00:00Z"))
        #expect(d.reason.description == "outside the maintenance window of rollout 1 (Mon-Fri 01:00-05:00 UTC), next opens at 2026-12-03T01:00:00Z")
        #expect(ReleaseSelection.decide(for: device("a", 2), releases: [release(3)], rollouts: [r], now: at("2026-12-03T02:00:00Z")).offer?.sequence == 3)
    }

    @Test func pinsWin() {
        let releases = [release(2), release(3), release(4, held: true)]
        let halted = rollout(sequence: 4, phases: [100], status: .halted)
        func decide(_ facts: DeviceFacts) -> CheckInDecision { ReleaseSelection.decide(for: facts, releases: releases, rollouts: [halted], now: now) }
        #expect(decide(device("a", 1, pin: "1.2.0")) == CheckInDecision(offer: ReleaseOffer(sequence: 2, format: 2), reason: .pinOffered(version: "1.2.0")))
        #expect(decide(device("a", 2, pin: "1.2.0")) == CheckInDecision(offer: nil, reason: .pinned(version: "1.2.0")))
        #expect(decide(device("a", 2, pin: "1.2.0")).reason.description == "pinned to 1.2.0")
        #expect(decide(device("a", 3, pin: "1.2.0")).reason == .pinOlder(version: "1.2.0"))
        #expect(decide(device("a", 1, pin: "9.9.9")).reason == .pinMissing(version: "9.9.9"))
        #expect(decide(device("a", 1, pin: "1.3.0", rejected: 3)).reason == .pinRejected(version: "1.3.0"))
        #expect(decide(device("a", 1, pin: "1.3.0", board: "rp2")).offer?.sequence == 3)
        // The pin takes a held release whose rollout halted.
        #expect(decide(device("a", 1, pin: "1.4.0")).offer?.sequence == 4)
        let unfit = ReleaseSelection.decide(for: device("a", 1, pin: "1.5.0"), releases: [release(5, boards: ["rp2"])], rollouts: [], now: now)
        #expect(unfit.reason == .pinUnfit(version: "1.5.0", why: "board esp32 is not in rp2"))
        #expect(unfit.reason.description == "pinned to 1.5.0, which does not fit it: board esp32 is not in rp2")
    }

    @Test func rejectedAndUnfitReleasesExplainThemselves() {
        #expect(ReleaseSelection.decide(for: device("a", 2, rejected: 3), releases: [release(2), release(3)], rollouts: [], now: now).reason
            == .rejected(version: "1.3.0"))
        #expect(ReleaseSelection.decide(for: device("a", 2), releases: [release(3, boards: ["rp2"])], rollouts: [], now: now).reason
            == .unfit(version: "1.3.0", why: "board esp32 is not in rp2"))
        var expiring = release(3)
        expiring.expires = "2026-01-01T00:00:00Z"
        #expect(ReleaseSelection.decide(for: device("a", 2), releases: [expiring], rollouts: [], now: now).reason == .expired(version: "1.3.0"))
        #expect(Set(DecisionReason.codes).count == DecisionReason.codes.count)
    }
}

/// How rollouts move: halting, advancing, soaking, waiting for resume, completing.
@Suite struct ProgressionTests {
    let release3 = release(3)

    func member(_ id: String, seen: Date? = now, _ state: RolloutDeviceState? = nil, reason: String? = nil, sequence: Int = 2) -> RolloutMember {
        RolloutMember(facts: device(id, sequence), lastSeen: seen, outcome: state.map { RolloutOutcome(state: $0, at: now, reason: reason) })
    }

    @Test func haltsAtTheFirstFailureWithALimitOfZero() {
        let r = rollout()
        let canary = id(inPhase: 0, of: r)
        let ok = RolloutProgression.step(r, release: release3, members: [member(canary, .installed)], now: now)
        #expect(ok.status == .running)
        let halted = RolloutProgression.step(r, release: release3, members: [member(canary, .rolledBack, reason: "main.py raised ValueError")], now: now)
        #expect(halted.status == .halted)
        #expect(halted.haltReason == "1 of 1 device that tried failed or rolled back (limit 0): 1× main.py raised ValueError")
        // Halted stays halted.
        #expect(RolloutProgression.step(halted, release: release3, members: [], now: now) == halted)
    }

    @Test func aPercentageLimitWaitsForMinDevices() {
        let r = rollout(phases: [100], maxFailures: .percent(20), minDevices: 3)
        // z was offered the release and has not reported since: it keeps the phase from being done.
        let two = [member("a", .failed, reason: "hash"), member("b", .confirmed), member("z", .offered)]
        #expect(RolloutProgression.step(r, release: release3, members: two, now: now).status == .running)
        let three = two + [member("c", .downloading)]
        let halted = RolloutProgression.step(r, release: release3, members: three, now: now)
        #expect(halted.status == .halted)
        #expect(halted.haltReason?.hasPrefix("1 of 3 devices that tried failed or rolled back (limit 20%)") == true)
        let five = three + [member("d", .confirmed), member("e", .confirmed)]
        #expect(RolloutProgression.step(r, release: release3, members: five, now: now).status == .running)
        // Offered but silent devices did not try.
        let offered = two + [member("c", .offered), member("d", .offered)]
        #expect(RolloutProgression.step(r, release: release3, members: offered, now: now).status == .running)
    }

    @Test func aPhaseAdvancesWhenEveryDeviceSeenSinceItBeganIsSettled() {
        let r = rollout(started: now.addingTimeInterval(-60))
        let canaries = Array((0..<10_000).lazy.map { "dev-\($0)" }.filter { r.phase(of: $0) == 0 }.prefix(2))
        let others = (0..<40).map { "dev-\($0)" }.filter { r.phase(of: $0) != 0 }
        // Nobody of the phase has checked in since it began: not done.
        let quiet = canaries.map { member($0, seen: now.addingTimeInterval(-120)) }
        #expect(RolloutProgression.step(r, release: release3, members: quiet, now: now).phase == 0)
        // One canary is installing: not done.
        let installing = [member(canaries[0], .installed), member(canaries[1], seen: nil)] + others.map { member($0) }
        #expect(RolloutProgression.step(r, release: release3, members: installing, now: now).phase == 0)
        // It confirmed; the other canary never checked in: done, next phase.
        let confirmed = [member(canaries[0], .confirmed), member(canaries[1], seen: nil)] + others.map { member($0) }
        let next = RolloutProgression.step(r, release: release3, members: confirmed, now: now)
        #expect(next.phase == 1)
        #expect(next.phaseStartedAt == now)
        #expect(next.status == .running)
        // A device of the phase that cannot take the release does not hold it up.
        let unfit = [member(canaries[0], .confirmed), member(canaries[1], sequence: 3)] + others.map { member($0) }
        #expect(RolloutProgression.step(r, release: release3, members: unfit, now: now).phase == 1)
    }

    @Test func soakAndManualPhases() {
        let r = rollout(soak: 3600, started: now.addingTimeInterval(-60))
        let canary = id(inPhase: 0, of: r)
        let members = [member(canary, .confirmed)]
        let soaking = RolloutProgression.step(r, release: release3, members: members, now: now)
        #expect(soaking.phase == 0)
        #expect(soaking.settledAt == now)
        #expect(RolloutProgression.soaked(soaking, now: now.addingTimeInterval(3599)).phase == 0)
        let advanced = RolloutProgression.soaked(soaking, now: now.addingTimeInterval(3600))
        #expect(advanced.phase == 1)
        #expect(RolloutProgression.step(soaking, release: release3, members: members, now: now.addingTimeInterval(3600)).phase == 1)
        // A device of the phase that shows up unsettled during the soak stops it.
        let other = (0..<10_000).lazy.map { "dev-\($0)" }.filter { r.phase(of: $0) == 0 && $0 != canary }.first!
        let late = RolloutProgression.step(soaking, release: release3, members: members + [member(other, .offered)], now: now.addingTimeInterval(10))
        #expect(late.settledAt == nil)
        #expect(RolloutProgression.soaked(late, now: now.addingTimeInterval(7200)).phase == 0)

        let manual = rollout(manual: true, started: now.addingTimeInterval(-60))
        let waiting = RolloutProgression.step(manual, release: release3, members: [member(id(inPhase: 0, of: manual), .confirmed)], now: now.addingTimeInterval(86_400))
        #expect(waiting.phase == 0)
        #expect(waiting.settledAt != nil)
        #expect(RolloutProgression.soaked(waiting, now: now.addingTimeInterval(999_999)).phase == 0)
        let resumed = try? RolloutProgression.resume(waiting, now: now)
        #expect(resumed?.phase == 1)
        #expect(throws: AloftError.self) { try RolloutProgression.resume(manual, now: now) }
    }

    @Test func theLastPhaseDoneCompletes() {
        let r = rollout(phases: [100])
        let members = (0..<5).map { member("d\($0)", .confirmed) }
        let done = RolloutProgression.step(r, release: release3, members: members, now: now)
        #expect(done.status == .completed)
        // No devices at all: every phase is trivially done.
        #expect(RolloutProgression.step(rollout(), release: release3, members: [], now: now).status == .completed)
    }

    @Test func operatorsPauseResumeAndAbort() throws {
        let r = rollout()
        let paused = try RolloutProgression.pause(r)
        #expect(paused.status == .paused)
        #expect(RolloutProgression.step(paused, release: release3, members: [member(id(inPhase: 0, of: r), .failed)], now: now) == paused)
        #expect(throws: AloftError.self) { try RolloutProgression.pause(paused) }
        #expect(try RolloutProgression.resume(paused, now: now).status == .running)
        #expect(try RolloutProgression.abort(paused).status == .aborted)
        let aborted = try RolloutProgression.abort(r)
        #expect(throws: AloftError.self) { try RolloutProgression.abort(aborted) }
        #expect(throws: AloftError.self) { try RolloutProgression.resume(aborted, now: now) }
        #expect(throws: AloftError.self) { try RolloutProgression.resume(rollout(status: .halted), now: now) }
    }

    @Test func reportsCountEachPhase() {
        let r = rollout()
        let a = id(inPhase: 0, of: r), b = id(inPhase: 2, of: r)
        let reports = RolloutPhaseReport.reports(for: r, members: [member(a, .rolledBack), member(b)])
        #expect(reports.map(\.percent) == [10, 50, 100])
        #expect(reports[0].devices == 1 && reports[0].counts == [.rolledBack: 1])
        #expect(reports[2].devices == 1 && reports[2].counts == [:])
    }

    @Test func deviceStatesOnlyMoveForward() {
        #expect(RolloutDeviceState.confirmed.then(.installed) == .confirmed)
        #expect(RolloutDeviceState.confirmed.then(.rolledBack) == .rolledBack)
        #expect(RolloutDeviceState.rolledBack.then(.confirmed) == .rolledBack)
        #expect(RolloutDeviceState.failed.then(.downloading) == .downloading)
        #expect(RolloutDeviceState(event: "deferred") == nil)
        #expect(RolloutDeviceState(event: "rolled_back") == .rolledBack)
    }
}

/// Properties of the decision over random fleets, from a fixed seed.
@Suite struct DecisionPropertyTests {
    @Test func overRandomFleets() {
        var random = SeededRandom(seed: 0xA10F7)
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        for round in 0..<300 {
            let count = 1 + Int(random.next() % 6)
            let releases = (1...count).map { sequence in
                ReleaseCandidate(sequence: sequence, version: "1.\(sequence).0", held: random.unit() < 0.3,
                                 compat: Compatibility(boards: [pick(["*", "esp32*", "rp2"])]), expires: nil, formats: pick([[1, 2], [2], [1]]))
            }
            var rollouts: [Rollout] = []
            for id in 1...(1 + Int(random.next() % 3)) where random.unit() < 0.7 {
                let phases = pick([[10, 50, 100], [5, 25, 100], [100], [1, 2, 3], [50]])
                rollouts.append(Rollout(
                    id: round * 10 + id, channel: "stable", sequence: 1 + Int(random.next() % UInt64(count)), version: "",
                    policy: RolloutPolicy(phases: phases, target: pick([RolloutTarget(), RolloutTarget(tags: ["a"]), RolloutTarget(boards: ["esp32*"])]),
                                          window: random.unit() < 0.2 ? try! MaintenanceWindow("Mon-Fri 01:00-05:00 UTC") : nil),
                    status: pick(RolloutStatus.allCases), phase: Int(random.next() % UInt64(phases.count)), phaseStartedAt: now, createdAt: now))
            }
            for n in 0..<20 {
                let sequence = Int(random.next() % UInt64(count + 1))
                let facts = DeviceFacts(
                    id: "dev-\(round)-\(n)", tags: random.unit() < 0.5 ? ["a"] : [], pin: random.unit() < 0.15 ? "1.\(1 + Int(random.next() % UInt64(count))).0" : nil,
                    sequence: sequence, board: pick(["esp32", "rp2", "esp32s3"]), micropython: "1.22.0",
                    rejected: random.unit() < 0.3 ? Int(random.next() % UInt64(count + 1)) : nil, format: pick([1, 2]))
                let decision = ReleaseSelection.decide(for: facts, releases: releases, rollouts: rollouts, now: now)
                // Deterministic, and the same whatever order the releases and rollouts come in.
                #expect(decision == ReleaseSelection.decide(for: facts, releases: releases.reversed(), rollouts: rollouts.reversed(), now: now))
                guard let offer = decision.offer else { continue }
                let offered = releases.first { $0.sequence == offer.sequence }!
                // Pins always win: a pinned device is offered its pin or nothing.
                if let pin = facts.pin {
                    #expect(offered.version == pin)
                    continue
                }
                // Nothing at or below what it runs or rejected; always something it can take.
                #expect(offer.sequence > facts.sequence)
                #expect(offer.sequence > facts.rejected ?? 0)
                #expect(offered.isTakeable(by: facts, now: now))
                let governing = ReleaseSelection.governingRollout(of: offered, among: rollouts)
                // No held release without a rollout; no stopped rollout offers to a device (one that installed is not offered it).
                if offered.held { #expect(governing != nil) }
                if let governing {
                    #expect(governing.status == .running || governing.status == .completed)
                    #expect(governing.policy.target.includes(facts))
                    let phase = governing.phase(of: facts.id)
                    #expect(phase != nil)
                    if governing.status == .running { #expect(phase! <= governing.phase) }
                    #expect(decision.rollout == governing.id)
                    if let window = governing.policy.window { #expect(window.contains(now)) }
                }
            }
        }
    }
}

/// A release the device failed: lasting failures withhold it until something changes, passing ones back off.
@Suite struct FailureDecisionTests {
    private static let noFlash = "insufficient storage: need 843776 bytes, 307200 free"

    private func failed(_ sequence: Int, _ reason: String, attempts: Int = 1, at: Date = now.addingTimeInterval(-10), free: Int? = 307_200) -> ReleaseFailure {
        var failure = ReleaseFailure.first(sequence: sequence, version: "1.\(sequence).0", reason: reason, at: at, free: free)
        failure.attempts = attempts
        return failure
    }

    private func decide(_ facts: DeviceFacts, _ releases: [ReleaseCandidate] = [release(2)], rollouts: [Rollout] = [], at time: Date = now)
        -> CheckInDecision
    {
        ReleaseSelection.decide(for: facts, releases: releases, rollouts: rollouts, now: time)
    }

    private func device(free: Int? = 307_200, failures: [ReleaseFailure], pin: String? = nil) -> DeviceFacts {
        DeviceFacts(id: "dev-1", pin: pin, sequence: 1, board: "esp32", micropython: "1.22.0", format: 2, free: free, failures: failures)
    }

    @Test func aReleaseFailedForLackOfFlashIsNotOfferedUntilTheDeviceHasMoreFreeFlash() {
        let failure = failed(2, Self.noFlash)
        #expect(failure.kind == .noFlash && failure.free == 307_200)
        let d = decide(device(failures: [failure]))
        #expect(d == CheckInDecision(offer: nil, reason: .failedLasting(version: "1.2.0", failure: failure, device: "dev-1")))
        #expect(d.reason.code == "failed-lasting")
        #expect(d.reason.description == "failed 1.2.0 (1×, lasting (no flash)): insufficient storage: need 843776 bytes, 307200 free; "
            + "not offered again until it reports more than 307200 bytes of free flash, a newer release comes or `aloft device retry --id dev-1`")
        #expect(d.retryAt == nil)  // nothing to come back for: its usual poll
        #expect(d.failure == failure)
        // Days later, as much or less free flash (or none reported): still not offered.
        #expect(decide(device(failures: [failure]), at: now.addingTimeInterval(30 * 86400)).offer == nil)
        #expect(decide(device(free: 300_000, failures: [failure])).offer == nil)
        #expect(decide(device(free: nil, failures: [failure])).offer == nil)
        // More free flash than at the failure: offered again.
        #expect(decide(device(free: 311_296, failures: [failure])) == CheckInDecision(offer: ReleaseOffer(sequence: 2, format: 2), reason: .newest(version: "1.2.0")))
        // A newer release is considered as any other; the failed one is not offered in its place while the newer is blocked.
        #expect(decide(device(failures: [failure]), [release(2), release(3)]).offer?.sequence == 3)
        let r = rollout(sequence: 3, target: RolloutTarget(devices: ["someone-else"]))
        #expect(decide(device(failures: [failure]), [release(2), release(3)], rollouts: [r]).reason == .failedLasting(version: "1.2.0", failure: failure, device: "dev-1"))
        // An operator's retry clears the memory: offered.
        #expect(decide(device(failures: [])).offer?.sequence == 2)
    }

    @Test func otherLastingFailuresWaitForANewerReleaseOrARetry() {
        let failure = failed(2, "signed by 0 trusted key(s), 1 needed", attempts: 2)
        #expect(failure.kind == .lasting && failure.free == nil)
        let d = decide(device(free: 10_000_000, failures: [failure]))
        #expect(d.offer == nil)
        #expect(d.reason.description == "failed 1.2.0 (2×, lasting): signed by 0 trusted key(s), 1 needed; not offered again until a newer release comes or `aloft device retry --id dev-1`")
        #expect(decide(device(failures: [failure]), [release(2), release(3)]).offer?.sequence == 3)
        // A pin does not get around it either.
        let pinned = decide(device(failures: [failure], pin: "1.2.0"))
        #expect(pinned.reason == .failedLasting(version: "1.2.0", failure: failure, device: "dev-1", pinned: true))
        #expect(pinned.reason.description.hasSuffix("1 needed; not offered again until `aloft device retry --id dev-1`"))
        #expect(decide(device(failures: [], pin: "1.2.0")).offer?.sequence == 2)
        // A failure of another release (one it since moved past) changes nothing.
        #expect(decide(device(failures: [failed(1, "incompatible: board esp32 not in rp2")])).offer?.sequence == 2)
    }

    @Test func passingFailuresBackOffExponentiallyUpToTheCap() {
        #expect(FailureBackoff.base == 60 && FailureBackoff.cap == 6 * 3600)
        let delays = (1...12).map(FailureBackoff.delay(afterAttempts:))
        #expect(delays == [60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600, 21600])
        #expect(FailureBackoff.delay(afterAttempts: 1_000_000) == FailureBackoff.cap)
        let failedAt = now
        for attempts in 1...12 {
            let failure = failed(2, "download of main.py failed: ECONNRESET", attempts: attempts, at: failedAt)
            #expect(failure.kind == .passing)
            let comesBack = failedAt.addingTimeInterval(delays[attempts - 1])
            let waiting = decide(device(failures: [failure]), at: comesBack.addingTimeInterval(-1))
            #expect(waiting == CheckInDecision(offer: nil, reason: .backingOff(version: "1.2.0", failure: failure)))
            #expect(waiting.reason.code == "backing-off")
            #expect(waiting.retryAt == comesBack)
            #expect(decide(device(failures: [failure]), at: comesBack).offer?.sequence == 2)
        }
        let third = failed(2, "HTTP 503 for main.py", attempts: 3, at: failedAt)
        #expect(decide(device(failures: [third])).reason.description
            == "failed 1.2.0 (3×, passing): HTTP 503 for main.py; offered again at \(ReleaseManifest.timestamp(failedAt.addingTimeInterval(240)))")
    }

    @Test func anUnknownReasonIsPassing() {
        for reason in ["TypeError: can't convert NoneType to int", "something new", ""] {
            let failure = failed(2, reason, at: now)
            #expect(failure.kind == .passing)
            #expect(decide(device(failures: [failure])).reason == .backingOff(version: "1.2.0", failure: failure))
            #expect(decide(device(failures: [failure]), at: now.addingTimeInterval(60)).offer?.sequence == 2)
        }
        #expect(ReleaseFailure.first(sequence: 2, version: nil, reason: nil, at: now, free: nil).kind == .passing)
    }

    @Test func theMemoryCountsAttemptsAndKeepsTheLastFailure() {
        let first = ReleaseFailure.first(sequence: 2, version: "1.2.0", reason: "HTTP 503 for main.py", at: now, free: 1000)
        #expect(first.attempts == 1 && first.kind == .passing && first.free == nil)
        let second = first.adding(reason: Self.noFlash, version: nil, at: now.addingTimeInterval(120), free: 2000)
        #expect(second == ReleaseFailure(sequence: 2, version: "1.2.0", attempts: 2, kind: .noFlash, reason: Self.noFlash, at: now.addingTimeInterval(120), free: 2000))
        #expect(second.summary == "failed 2×, lasting (no flash): \(Self.noFlash)")
    }
}
