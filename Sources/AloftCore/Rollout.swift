import Foundation

/// When a rollout halts: more failed and rolled-back devices than a count, or than a percentage of those that tried.
public enum FailureThreshold: Sendable, Equatable, Codable, CustomStringConvertible {
    case count(Int)
    case percent(Int)

    /// `3` (devices) or `10%` (of the devices that tried); `0` halts at the first failure.
    public init(_ text: String) throws(AloftError) {
        let percent = text.hasSuffix("%")
        let digits = percent ? String(text.dropLast()) : text
        guard (1...6).contains(digits.utf8.count), digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(digits),
              !percent || value <= 100
        else {
            throw AloftError("invalid failure limit '\(text.prefix(40))': a count of devices like 3, or a percentage from 0% to 100% like 10%")
        }
        self = percent ? .percent(value) : .count(value)
    }

    public var description: String {
        switch self {
        case .count(let n): "\(n)"
        case .percent(let p): "\(p)%"
        }
    }

    /// Whether `failures` out of `tried` devices is more than this allows.
    public func isExceeded(failures: Int, tried: Int) -> Bool {
        switch self {
        case .count(let n): failures > n
        case .percent(let p): failures * 100 > p * tried
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// How a rollout goes: its phases, whom it is for, when it halts, how long it waits between phases, when it may offer.
public struct RolloutPolicy: Codable, Sendable, Equatable {
    public static let maxPhases = 20
    public static let maxSoak = 90 * 86_400

    /// Cumulative percentages of the target, strictly increasing, from 1 to 100.
    public var phases: [Int]
    public var target: RolloutTarget
    public var maxFailures: FailureThreshold
    /// The halt rule applies once at least this many devices tried.
    public var minDevices: Int
    /// Seconds between a phase being done and the next one starting.
    public var soak: Int
    public var window: MaintenanceWindow?
    /// Each next phase waits for `aloft rollout resume`.
    public var manual: Bool

    public init(
        phases: [Int] = [100], target: RolloutTarget = RolloutTarget(), maxFailures: FailureThreshold = .count(0), minDevices: Int = 1,
        soak: Int = 0, window: MaintenanceWindow? = nil, manual: Bool = false
    ) {
        self.phases = phases
        self.target = target
        self.maxFailures = maxFailures
        self.minDevices = minDevices
        self.soak = soak
        self.window = window
        self.manual = manual
    }

    public func validate() throws(AloftError) {
        guard (1...Self.maxPhases).contains(phases.count) else { throw AloftError("a rollout has 1-\(Self.maxPhases) phases") }
        guard phases.allSatisfy((1...100).contains), zip(phases, phases.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw AloftError("phases are cumulative percentages from 1 to 100, each above the one before, like 5,25,100")
        }
        guard (1...1_000_000).contains(minDevices) else { throw AloftError("min-devices must be from 1 to 1000000") }
        if case .count(let n) = maxFailures, n > 1_000_000 { throw AloftError("max-failures must be at most 1000000 devices") }
        guard (0...Self.maxSoak).contains(soak) else { throw AloftError("soak must be from 0 to \(Self.maxSoak / 86_400) days") }
        try target.validate()
    }

    /// Parses a soak time: `0`, `90s`, `30m`, `1h`, `2d` (a bare number is seconds).
    public static func parseDuration(_ text: String) throws(AloftError) -> Int {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let unit = text.last.flatMap { units[$0] }
        let digits = unit == nil ? text : String(text.dropLast())
        guard (1...7).contains(digits.utf8.count), digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(digits),
              value * (unit ?? 1) <= maxSoak
        else {
            throw AloftError("invalid duration '\(text.prefix(40))': a number with s, m, h or d, like 30m or 1h, up to 90d")
        }
        return value * (unit ?? 1)
    }
}

/// Where a rollout stands.
public enum RolloutStatus: String, Codable, Sendable, CaseIterable {
    /// Offering to the devices of its current phase, and advancing by itself (or on resume, when manual).
    case running
    /// Paused by an operator: no new device is offered the release until it resumes.
    case paused
    /// Stopped by its failure limit: no new device is offered the release.
    case halted
    /// Stopped by an operator for good.
    case aborted
    /// Every phase is done; every targeted device of the last phase may take the release.
    case completed

    /// Whether the rollout can still change by itself or on resume.
    public var isActive: Bool { self == .running || self == .paused }
}

/// A rollout of one release of a channel, and its state.
public struct Rollout: Sendable, Equatable {
    public var id: Int
    public var channel: String
    /// The release it offers.
    public var sequence: Int
    public var version: String
    public var policy: RolloutPolicy
    public var status: RolloutStatus
    /// The index of the current phase in `policy.phases`.
    public var phase: Int
    public var phaseStartedAt: Date
    /// When the current phase was found done; the soak runs from here. Nil while it is not.
    public var settledAt: Date?
    /// Why it halted: counts and the most common failure reasons.
    public var haltReason: String?
    public var createdAt: Date

    public init(
        id: Int, channel: String, sequence: Int, version: String, policy: RolloutPolicy, status: RolloutStatus = .running, phase: Int = 0,
        phaseStartedAt: Date, settledAt: Date? = nil, haltReason: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.channel = channel
        self.sequence = sequence
        self.version = version
        self.policy = policy
        self.status = status
        self.phase = phase
        self.phaseStartedAt = phaseStartedAt
        self.settledAt = settledAt
        self.haltReason = haltReason
        self.createdAt = createdAt
    }

    /// The current phase's cumulative percentage.
    public var percent: Int { policy.phases[min(phase, policy.phases.count - 1)] }

    public var isLastPhase: Bool { phase >= policy.phases.count - 1 }

    /// The index of the device's phase in this rollout; nil when no phase reaches it.
    public func phase(of deviceID: String) -> Int? { Cohort.phase(rollout: id, device: deviceID, phases: policy.phases) }
}

/// What a device of a rollout has done with its release, as its events say.
public enum RolloutDeviceState: String, Codable, Sendable, CaseIterable {
    case offered
    /// Its firmware step is under way or done, its files not yet (docs/firmware.md): neither settled nor a failure.
    case firmware
    case downloading
    case installed
    case confirmed
    case failed
    case rolledBack = "rolled_back"

    /// From a device event's type and step; nil for those that say nothing about the release (`deferred`). An event of the
    /// firmware step (`step` `firmware`) is progress (``firmware``) unless it is a failure, which counts as any failure.
    public init?(event: String, step: String? = nil) {
        guard let state = Self(rawValue: event), state != .offered, state != .firmware else { return nil }
        self = step == UpdateStep.firmware.rawValue && !state.isFailure ? .firmware : state
    }

    /// Done with the release, one way or the other.
    public var isSettled: Bool { self == .confirmed || self == .failed || self == .rolledBack }
    public var isFailure: Bool { self == .failed || self == .rolledBack }

    /// The state after an event of `next`: confirmed and rolled back are final, but a rollback after a confirmation counts;
    /// a late event of the firmware step does not take back what the files step has done since.
    public func then(_ next: RolloutDeviceState) -> RolloutDeviceState {
        switch self {
        case .rolledBack: .rolledBack
        case .confirmed: next == .rolledBack ? .rolledBack : .confirmed
        case .downloading, .installed: next == .firmware ? self : next
        default: next
        }
    }
}

/// A device's state in a rollout, since when, and the reason its last failure gave.
public struct RolloutOutcome: Sendable, Equatable {
    public var state: RolloutDeviceState
    public var at: Date
    public var reason: String?

    public init(state: RolloutDeviceState, at: Date, reason: String? = nil) {
        self.state = state
        self.at = at
        self.reason = reason
    }
}

/// A device of the rollout's channel as progression sees it.
public struct RolloutMember: Sendable, Equatable {
    public var facts: DeviceFacts
    /// Its last check-in.
    public var lastSeen: Date?
    /// Nil when the rollout never offered it the release.
    public var outcome: RolloutOutcome?

    public init(facts: DeviceFacts, lastSeen: Date?, outcome: RolloutOutcome?) {
        self.facts = facts
        self.lastSeen = lastSeen
        self.outcome = outcome
    }
}
