import Foundation

/// How a rollout moves on: halting at its failure limit, advancing a phase when the phase is done and soaked, completing.
/// Pure: the same rollout, devices and time give the same result.
public enum RolloutProgression {
    /// The rollout after looking at its devices at `now`. Only a running rollout changes.
    ///
    /// It halts when failed and rolled-back devices exceed `maxFailures` once at least `minDevices` tried (reported
    /// anything past being offered). Otherwise its phase is done when every device of the phase (the cumulative set)
    /// that checked in since the phase began is confirmed, failed or rolled back, or cannot take the release anyway, and
    /// at least one did check in (or every one of them is settled already, or the phase has none). A done last phase
    /// completes the rollout; another starts the next phase after the soak, or on resume when the rollout is manual.
    public static func step(_ rollout: Rollout, release: ReleaseCandidate?, members: [RolloutMember], now: Date) -> Rollout {
        guard rollout.status == .running else { return rollout }
        var next = rollout
        let targeted = members.filter { rollout.policy.target.includes($0.facts) }
        let outcomes = targeted.compactMap(\.outcome)
        let tried = outcomes.filter { $0.state != .offered }.count
        let failures = outcomes.filter { $0.state.isFailure }
        if tried >= rollout.policy.minDevices, rollout.policy.maxFailures.isExceeded(failures: failures.count, tried: tried) {
            next.status = .halted
            next.haltReason = haltReason(failures: failures, tried: tried, limit: rollout.policy.maxFailures)
            next.settledAt = nil
            return next
        }
        while next.status == .running {
            let phaseMembers = targeted.filter { member in next.phase(of: member.facts.id).map { $0 <= next.phase } ?? false }
            guard isDone(phaseMembers, since: next.phaseStartedAt, release: release, now: now) else {
                next.settledAt = nil
                return next
            }
            if next.settledAt == nil { next.settledAt = now }
            if next.isLastPhase {
                next.status = .completed
                return next
            }
            guard !next.policy.manual, let settled = next.settledAt, now >= settled.addingTimeInterval(TimeInterval(next.policy.soak)) else { return next }
            next.phase += 1
            next.phaseStartedAt = now
            next.settledAt = nil
        }
        return next
    }

    /// The soak part of ``step(_:release:members:now:)`` alone, for check-ins that do not load the devices: a done phase
    /// whose soak has passed starts the next one.
    public static func soaked(_ rollout: Rollout, now: Date) -> Rollout {
        guard rollout.status == .running, !rollout.policy.manual, !rollout.isLastPhase, let settled = rollout.settledAt,
              now >= settled.addingTimeInterval(TimeInterval(rollout.policy.soak))
        else { return rollout }
        var next = rollout
        next.phase += 1
        next.phaseStartedAt = now
        next.settledAt = nil
        return next
    }

    /// An operator's pause: only a running rollout pauses.
    public static func pause(_ rollout: Rollout) throws(AloftError) -> Rollout {
        guard rollout.status == .running else { throw AloftError("rollout \(rollout.id) is \(rollout.status.rawValue); only a running rollout can be paused") }
        var next = rollout
        next.status = .paused
        return next
    }

    /// An operator's resume: a paused rollout runs again; a running one whose phase is done (manual, or soaking) starts its next phase.
    public static func resume(_ rollout: Rollout, now: Date) throws(AloftError) -> Rollout {
        var next = rollout
        switch rollout.status {
        case .paused:
            next.status = .running
            return next
        case .running where rollout.settledAt != nil && !rollout.isLastPhase:
            next.status = .running
            next.phase += 1
            next.phaseStartedAt = now
            next.settledAt = nil
            return next
        case .running:
            throw AloftError("rollout \(rollout.id) is running and its phase \(rollout.phase + 1) is not done; nothing to resume")
        case .halted:
            throw AloftError("rollout \(rollout.id) halted (\(rollout.haltReason ?? "failure limit")); abort it and start a new one")
        case .aborted, .completed:
            throw AloftError("rollout \(rollout.id) is \(rollout.status.rawValue); nothing to resume")
        }
    }

    /// An operator's abort: for good; devices already on the release stay on it.
    public static func abort(_ rollout: Rollout) throws(AloftError) -> Rollout {
        guard rollout.status != .aborted, rollout.status != .completed else {
            throw AloftError("rollout \(rollout.id) is \(rollout.status.rawValue) already")
        }
        var next = rollout
        next.status = .aborted
        next.settledAt = nil
        return next
    }

    /// Every device of the phase that checked in since it began is settled, and the phase is not done by default.
    static func isDone(_ members: [RolloutMember], since start: Date, release: ReleaseCandidate?, now: Date) -> Bool {
        func settled(_ member: RolloutMember) -> Bool {
            if let outcome = member.outcome, outcome.state != .offered { return outcome.state.isSettled }
            guard let release else { return true }
            return !ReleaseSelection.isEligible(member.facts, for: release, now: now)
        }
        let seen = members.filter { member in
            (member.lastSeen.map { $0 >= start } ?? false) || (member.outcome.map { $0.at >= start } ?? false)
        }
        guard seen.allSatisfy(settled) else { return false }
        return !seen.isEmpty || members.allSatisfy { $0.outcome?.state.isSettled ?? false }
    }

    /// "2 of 3 devices that tried failed or rolled back (limit 0): 2× main.py raised ValueError".
    static func haltReason(failures: [RolloutOutcome], tried: Int, limit: FailureThreshold) -> String {
        var counts: [String: Int] = [:]
        for failure in failures { counts[failure.reason ?? "no reason given", default: 0] += 1 }
        let common = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(3)
            .map { "\($0.value)× \($0.key.prefix(120))" }
        return "\(failures.count) of \(tried) device\(tried == 1 ? "" : "s") that tried failed or rolled back (limit \(limit)): "
            + common.joined(separator: "; ")
    }
}

/// How many devices of each phase are where, for `aloft rollout status`.
public struct RolloutPhaseReport: Sendable, Equatable, Codable {
    /// 0-based.
    public var phase: Int
    public var percent: Int
    /// Targeted devices whose number falls in this phase (and no earlier one).
    public var devices: Int
    public var counts: [RolloutDeviceState: Int]

    public init(phase: Int, percent: Int, devices: Int, counts: [RolloutDeviceState: Int]) {
        self.phase = phase
        self.percent = percent
        self.devices = devices
        self.counts = counts
    }

    /// One report per phase of the rollout, counting targeted members by the phase their number falls in.
    public static func reports(for rollout: Rollout, members: [RolloutMember]) -> [RolloutPhaseReport] {
        var reports = rollout.policy.phases.enumerated().map { RolloutPhaseReport(phase: $0.offset, percent: $0.element, devices: 0, counts: [:]) }
        for member in members where rollout.policy.target.includes(member.facts) {
            guard let phase = rollout.phase(of: member.facts.id) else { continue }
            reports[phase].devices += 1
            if let state = member.outcome?.state { reports[phase].counts[state, default: 0] += 1 }
        }
        return reports
    }
}

/// What an operator can do to a rollout, from the command line or the console: one rule for both.
public enum RolloutAction: String, Sendable, CaseIterable {
    case pause
    case resume
    case abort

    /// The rollout afterwards, or why the action does not apply to it now.
    public func apply(to rollout: Rollout, now: Date) throws(AloftError) -> Rollout {
        switch self {
        case .pause: try RolloutProgression.pause(rollout)
        case .resume: try RolloutProgression.resume(rollout, now: now)
        case .abort: try RolloutProgression.abort(rollout)
        }
    }

    /// The actions that apply to the rollout as it stands (what the console offers as buttons).
    public static func available(for rollout: Rollout) -> [RolloutAction] {
        allCases.filter { action in (try? action.apply(to: rollout, now: rollout.phaseStartedAt)) != nil }
    }
}
