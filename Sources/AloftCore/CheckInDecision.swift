import Foundation

/// Why a device is, or is not, offered a release at check-in: a code for programs and a sentence for people.
public enum DecisionReason: Sendable, Equatable, CustomStringConvertible {
    /// No release of the channel is newer than what the device runs.
    case upToDate
    /// The newest release it can take, published to the whole channel.
    case newest(version: String)
    /// Offered by a rollout, to a device of the given phase (0-based).
    case rollout(id: Int, phase: Int, percent: Int, version: String)
    /// Pinned and running the pinned release.
    case pinned(version: String)
    /// Pinned to a newer release than it runs: offered that one.
    case pinOffered(version: String)
    /// Pinned to a version the channel has no release of.
    case pinMissing(version: String)
    /// Pinned to an older release than it runs: a pin never sends a device back.
    case pinOlder(version: String)
    /// Pinned to a release it rolled back, or cannot take (and why).
    case pinRejected(version: String)
    case pinUnfit(version: String, why: String)
    /// The newest newer release is one it rolled back (or older than that).
    case rejected(version: String)
    /// The newest newer release does not fit it (board, MicroPython, `.mpy`, manifest format, firmware), and why.
    case unfit(version: String, why: String)
    /// Its firmware is on trial: nothing is offered until it is confirmed or rolled back.
    case firmwareOnTrial
    case expired(version: String)
    /// Published `--held` and no rollout started it.
    case held(version: String)
    case notTargeted(rollout: Int, version: String)
    /// Its phase comes after the rollout's current one (0-based), which goes to `percent`.
    case notInPhase(rollout: Int, phase: Int, percent: Int)
    /// The rollout's last phase stops below the device's number.
    case beyondPhases(rollout: Int, percent: Int)
    case outsideWindow(rollout: Int, window: String, opens: Date)
    case halted(rollout: Int, reason: String)
    case paused(rollout: Int)
    case aborted(rollout: Int)
    /// It failed this release for a lasting reason (``FailureKind/isLasting``): not offered again until a newer release
    /// (unless it is pinned to this one), more free flash (for a no-flash failure) or an operator's retry
    /// (`aloft device retry --id <device>`).
    case failedLasting(version: String, failure: ReleaseFailure, device: String, pinned: Bool = false)
    /// It failed this release for a passing reason: withheld until ``ReleaseFailure/retryAt`` (``FailureBackoff``).
    case backingOff(version: String, failure: ReleaseFailure)

    /// Short and stable, for scripts: `up-to-date`, `rollout`, `not-in-phase`, ….
    public var code: String {
        switch self {
        case .upToDate: "up-to-date"
        case .newest: "newest"
        case .rollout: "rollout"
        case .pinned: "pinned"
        case .pinOffered: "pin-offered"
        case .pinMissing: "pin-missing"
        case .pinOlder: "pin-older"
        case .pinRejected: "pin-rejected"
        case .pinUnfit: "pin-unfit"
        case .rejected: "rejected"
        case .unfit: "unfit"
        case .expired: "expired"
        case .held: "held"
        case .notTargeted: "not-targeted"
        case .notInPhase: "not-in-phase"
        case .beyondPhases: "beyond-phases"
        case .outsideWindow: "outside-window"
        case .halted: "halted"
        case .paused: "paused"
        case .aborted: "aborted"
        case .firmwareOnTrial: "firmware-on-trial"
        case .failedLasting: "failed-lasting"
        case .backingOff: "backing-off"
        }
    }

    /// Every code, for the API's schema.
    public static let codes = [
        "up-to-date", "newest", "rollout", "pinned", "pin-offered", "pin-missing", "pin-older", "pin-rejected", "pin-unfit", "rejected", "unfit",
        "expired", "held", "not-targeted", "not-in-phase", "beyond-phases", "outside-window", "halted", "paused", "aborted", "firmware-on-trial",
        "failed-lasting", "backing-off",
    ]

    public var description: String {
        switch self {
        case .upToDate: "up to date"
        case .newest(let v): "offered \(v), the newest release of the channel"
        case .rollout(let id, let phase, let percent, let v): "offered \(v) in phase \(phase + 1) (\(percent)%) of rollout \(id)"
        case .pinned(let v): "pinned to \(v)"
        case .pinOffered(let v): "pinned to \(v): offered it"
        case .pinMissing(let v): "pinned to \(v), which the channel has no release of"
        case .pinOlder(let v): "pinned to \(v), older than what it runs; a pin never sends a device back"
        case .pinRejected(let v): "pinned to \(v), which it rolled back"
        case .pinUnfit(let v, let why): "pinned to \(v), which does not fit it: \(why)"
        case .rejected(let v): "rolled back \(v); nothing newer to offer"
        case .unfit(let v, let why): "\(v) does not fit it: \(why)"
        case .expired(let v): "\(v) has expired"
        case .held(let v): "release \(v) held until a rollout starts it"
        case .notTargeted(let id, let v): "not a target of rollout \(id) (\(v))"
        case .notInPhase(let id, let phase, let percent): "not in phase \(phase + 1) (\(percent)%) of rollout \(id) yet"
        case .beyondPhases(let id, let percent): "outside the \(percent)% that rollout \(id) goes to"
        case .outsideWindow(let id, let window, let opens):
            "outside the maintenance window of rollout \(id) (\(window)), next opens at \(ReleaseManifest.timestamp(opens))"
        case .halted(let id, let reason): "rollout \(id) halted: \(reason)"
        case .paused(let id): "rollout \(id) is paused"
        case .aborted(let id): "rollout \(id) was aborted"
        case .firmwareOnTrial: "its firmware is on trial; nothing is offered until it is confirmed or rolled back"
        case .failedLasting(let v, let f, let device, let pinned):
            "failed \(v) (\(f.attempts)×, \(f.kind.label)): \(f.reason); not offered again until \(Self.moreFlash(f))"
                + (pinned ? "" : "a newer release comes or ") + "`aloft device retry --id \(device)`"
        case .backingOff(let v, let f):
            "failed \(v) (\(f.attempts)×, passing): \(f.reason); offered again at \(ReleaseManifest.timestamp(f.retryAt))"
        }
    }
}

extension DecisionReason {
    /// `it reports more than 307200 bytes of free flash, ` for a no-flash failure whose free flash is known.
    fileprivate static func moreFlash(_ failure: ReleaseFailure) -> String {
        guard failure.kind == .noFlash, let free = failure.free else { return "" }
        return "it reports more than \(free) bytes of free flash, "
    }
}

/// What a check-in gets: a release to install or nothing, and why.
public struct CheckInDecision: Sendable, Equatable {
    public var offer: ReleaseOffer?
    public var reason: DecisionReason

    public init(offer: ReleaseOffer?, reason: DecisionReason) {
        self.offer = offer
        self.reason = reason
    }

    /// The reason as people read it, with the step of an offer: `offered 2.0.0, the newest release of the channel:
    /// firmware first (ESP32_GENERIC-OTA, MicroPython 1.26.0)`, or why its firmware is left out of a files step.
    public var why: String {
        guard let plan = offer?.plan else { return reason.description }
        if let image = plan.image { return "\(reason): firmware first (\(image.build), MicroPython \(image.micropython))" }
        if let skipped = plan.firmwareSkipped { return "\(reason): its files alone, not its firmware (\(skipped))" }
        return reason.description
    }

    // Not inlined: Swift 6.3.1's optimizer crashes (an ownership verification failure in CopyPropagation) on the
    // server's check-in handler when these are inlined into it in a release build.

    /// The rollout that offered the release, when one did.
    public var rollout: Int? {
        @inline(never) get {
            if case .rollout(let id, _, _, _) = reason { id } else { nil }
        }
    }

    /// When the device should come back: the maintenance window's next opening, or the end of a failed release's
    /// backoff, when that is what it waits for.
    public var retryAt: Date? {
        @inline(never) get {
            switch reason {
            case .outsideWindow(_, _, let opens): opens
            case .backingOff(_, let failure): failure.retryAt
            default: nil
            }
        }
    }

    /// What the device's failures with the release this decision is about (the one offered, or the one withheld for
    /// them) are; nil when it has not failed it.
    public var failure: ReleaseFailure? {
        @inline(never) get {
            switch reason {
            case .failedLasting(_, let failure, _, _), .backingOff(_, let failure): failure
            default: nil
            }
        }
    }
}

extension ReleaseSelection {
    /// The check-in decision: what the device is offered, from the channel's releases and rollouts, at `now`.
    ///
    /// A pin wins over everything: the device is offered its pinned release when that is newer than what it runs, and
    /// nothing else. Otherwise the newest newer release that is available to the device is offered: one it did not roll
    /// back, that it can take, and that no rollout or hold keeps from it. A release with a rollout is governed by the
    /// newest rollout of it; a held release with none is offered to nobody; any other goes to the whole channel. When
    /// nothing is offered, the reason is what keeps the newest newer release from the device. A release the device failed
    /// (``DeviceFacts/failures``) is withheld as ``ReleaseFailure/withholds(free:now:)`` says, pinned or not; the search
    /// stops there, so a device waits for the release it failed rather than taking an older one meanwhile.
    public static func decide(for device: DeviceFacts, releases: [ReleaseCandidate], rollouts: [Rollout], now: Date) -> CheckInDecision {
        if device.firmware?.onTrial == true { return CheckInDecision(offer: nil, reason: .firmwareOnTrial) }
        if let pin = device.pin {
            guard let pinned = releases.first(where: { $0.version == pin }) else { return CheckInDecision(offer: nil, reason: .pinMissing(version: pin)) }
            if pinned.sequence == device.sequence { return CheckInDecision(offer: nil, reason: .pinned(version: pin)) }
            if pinned.sequence < device.sequence { return CheckInDecision(offer: nil, reason: .pinOlder(version: pin)) }
            if pinned.sequence <= device.rejected ?? 0 { return CheckInDecision(offer: nil, reason: .pinRejected(version: pin)) }
            switch pinned.fit(for: device, now: now) {
            case .failure(let unfit): return CheckInDecision(offer: nil, reason: .pinUnfit(version: pin, why: unfit.why))
            case .success(let plan):
                if let withheld = withheld(pinned, from: device, now: now) { return CheckInDecision(offer: nil, reason: withheld) }
                return CheckInDecision(offer: ReleaseOffer(sequence: pinned.sequence, format: device.format, plan: plan), reason: .pinOffered(version: pin))
            }
        }
        let newer = releases.filter { $0.sequence > device.sequence }.sorted { $0.sequence > $1.sequence }
        var blocked: DecisionReason? = nil
        for release in newer {
            switch availability(of: release, to: device, rollouts: rollouts, now: now) {
            case .success(let (reason, plan)):
                // A release it failed is withheld, and no older one offered in its place (docs/protocol.md, "Failures").
                if let withheld = withheld(release, from: device, now: now) { return CheckInDecision(offer: nil, reason: withheld) }
                return CheckInDecision(offer: ReleaseOffer(sequence: release.sequence, format: device.format, plan: plan), reason: reason)
            case .failure(let block): blocked = blocked ?? block.reason
            }
        }
        return CheckInDecision(offer: nil, reason: blocked ?? .upToDate)
    }

    /// The rollout that governs a release: the newest (highest id) of it, if any.
    public static func governingRollout(of release: ReleaseCandidate, among rollouts: [Rollout]) -> Rollout? {
        rollouts.filter { $0.sequence == release.sequence }.max { $0.id < $1.id }
    }

    /// Whether a device could take a release by itself, leaving rollouts and holds aside: newer, not rolled back, fitting.
    public static func isEligible(_ device: DeviceFacts, for release: ReleaseCandidate, now: Date) -> Bool {
        device.pin == nil && release.sequence > device.sequence && release.sequence > device.rejected ?? 0 && release.isTakeable(by: device, now: now)
    }

    struct Block: Error { var reason: DecisionReason }

    /// Why the device's failures with `release` withhold it at `now`, or nil when they do not (or it has none).
    static func withheld(_ release: ReleaseCandidate, from device: DeviceFacts, now: Date) -> DecisionReason? {
        guard let failure = device.failures.first(where: { $0.sequence == release.sequence }) else { return nil }
        switch failure.withholds(free: device.free, now: now) {
        case nil: return nil
        case .lasting: return .failedLasting(version: release.version, failure: failure, device: device.id, pinned: device.pin != nil)
        case .until: return .backingOff(version: release.version, failure: failure)
        }
    }

    private static func availability(of release: ReleaseCandidate, to device: DeviceFacts, rollouts: [Rollout], now: Date)
        -> Result<(DecisionReason, UpdatePlan), Block>
    {
        if release.sequence <= device.rejected ?? 0 { return .failure(Block(reason: .rejected(version: release.version))) }
        if ReleaseManifest.isExpired(release.expires, at: now) { return .failure(Block(reason: .expired(version: release.version))) }
        let plan: UpdatePlan
        switch release.fit(for: device, now: now) {
        case .failure(let unfit): return .failure(Block(reason: .unfit(version: release.version, why: unfit.why)))
        case .success(let fit): plan = fit
        }
        guard let rollout = governingRollout(of: release, among: rollouts) else {
            return release.held ? .failure(Block(reason: .held(version: release.version))) : .success((.newest(version: release.version), plan))
        }
        guard rollout.policy.target.includes(device) else { return .failure(Block(reason: .notTargeted(rollout: rollout.id, version: release.version))) }
        switch rollout.status {
        case .halted: return .failure(Block(reason: .halted(rollout: rollout.id, reason: rollout.haltReason ?? "its failure limit was reached")))
        case .paused: return .failure(Block(reason: .paused(rollout: rollout.id)))
        case .aborted: return .failure(Block(reason: .aborted(rollout: rollout.id)))
        case .running, .completed: break
        }
        guard let phase = rollout.phase(of: device.id) else {
            return .failure(Block(reason: .beyondPhases(rollout: rollout.id, percent: rollout.policy.phases.last ?? 0)))
        }
        if rollout.status == .running, phase > rollout.phase {
            return .failure(Block(reason: .notInPhase(rollout: rollout.id, phase: rollout.phase, percent: rollout.percent)))
        }
        if let window = rollout.policy.window, !window.contains(now) {
            return .failure(Block(reason: .outsideWindow(rollout: rollout.id, window: window.text, opens: window.nextOpening(after: now))))
        }
        return .success((.rollout(id: rollout.id, phase: phase, percent: rollout.policy.phases[phase], version: release.version), plan))
    }
}
