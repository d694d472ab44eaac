import AloftCore

// The bodies of tags, pins and rollouts (docs/protocol.md, "Rollouts").

/// What a check-in of the device would be offered now, and why.
public struct DecisionView: Codable, Sendable, Equatable {
    /// The version offered; null when nothing is.
    public var offer: String?
    /// One of ``DecisionReason/codes``.
    public var reason: String
    /// The reason as a sentence, with the step of an offer (why its firmware goes first, or is left out).
    public var why: String
    /// With an offer: `firmware` when the device takes the release's firmware first, `files` for its files; null without.
    public var step: String?
    /// The device's failures with the release the decision is about (withheld for them, or offered again despite them);
    /// null when it has not failed it.
    public var failure: FailureView?

    public init(offer: String?, reason: String, why: String, step: String? = nil, failure: FailureView? = nil) {
        self.offer = offer
        self.reason = reason
        self.why = why
        self.step = step
        self.failure = failure
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(offer, forKey: .offer)
        try c.encode(reason, forKey: .reason)
        try c.encode(why, forKey: .why)
        try c.encode(step, forKey: .step)
        try c.encode(failure, forKey: .failure)
    }

    enum CodingKeys: String, CodingKey { case offer, reason, why, step, failure }
}

/// What the server remembers of a device's failures with one release (docs/protocol.md, "Failures").
public struct FailureView: Codable, Sendable, Equatable {
    public var version: String?
    public var sequence: Int
    /// `failed` events for the release since the memory was last cleared.
    public var attempts: Int
    /// The last failure's kind: one of ``FailureKind`` (`no-flash`, `lasting`, `passing`).
    public var kind: String
    /// The last failure's reason, as the device sent it.
    public var reason: String
    /// When the last failure arrived.
    public var at: String
    /// For a `no-flash` failure, the free flash (bytes) the device reported before it; null otherwise.
    public var free: Int?
    /// For a `passing` failure, when the backoff ends; null otherwise.
    public var retryAt: String?

    public init(version: String?, sequence: Int, attempts: Int, kind: String, reason: String, at: String, free: Int? = nil, retryAt: String? = nil) {
        self.version = version
        self.sequence = sequence
        self.attempts = attempts
        self.kind = kind
        self.reason = reason
        self.at = at
        self.free = free
        self.retryAt = retryAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(kind, forKey: .kind)
        try c.encode(reason, forKey: .reason)
        try c.encode(at, forKey: .at)
        try c.encode(free, forKey: .free)
        try c.encode(retryAt, forKey: .retryAt)
    }

    enum CodingKeys: String, CodingKey { case version, sequence, attempts, kind, reason, at, free, retryAt }

    /// `failed 3×, lasting (no flash): insufficient storage: …`.
    public var summary: String {
        let label = FailureKind(rawValue: kind)?.label ?? kind
        return "failed \(attempts)×, \(label): \(reason)"
    }
}

/// What `POST /api/v1/admin/devices/{id}/retry` forgot, and the device as its next check-in sees it.
public struct DeviceRetryResponse: Codable, Sendable, Equatable {
    /// The failures forgotten, by sequence; empty when there were none.
    public var cleared: [FailureView]
    public var device: DeviceView

    public init(cleared: [FailureView], device: DeviceView) {
        self.cleared = cleared
        self.device = device
    }
}

/// Adds tags to a device and removes others (removal last).
public struct DeviceTagsRequest: Codable, Sendable, Equatable {
    public var add: [String]?
    public var remove: [String]?

    public init(add: [String]? = nil, remove: [String]? = nil) {
        self.add = add
        self.remove = remove
    }
}

/// Pins a device to a version of its channel.
public struct DevicePinRequest: Codable, Sendable, Equatable {
    public var version: String

    public init(version: String) {
        self.version = version
    }
}

/// Starts a rollout of a release of a channel.
public struct StartRolloutRequest: Codable, Sendable, Equatable {
    public var channel: String
    public var version: String
    /// Cumulative percentages; absent is `[100]`, the whole target at once.
    public var phases: [Int]?
    public var tags: [String]?
    public var boards: [String]?
    public var devices: [String]?
    /// `3` or `10%`; absent is `0`: the first failure halts.
    public var maxFailures: String?
    public var minDevices: Int?
    /// Seconds between a phase done and the next.
    public var soak: Int?
    public var window: String?
    public var manual: Bool?

    public init(
        channel: String, version: String, phases: [Int]? = nil, tags: [String]? = nil, boards: [String]? = nil, devices: [String]? = nil,
        maxFailures: String? = nil, minDevices: Int? = nil, soak: Int? = nil, window: String? = nil, manual: Bool? = nil
    ) {
        self.channel = channel
        self.version = version
        self.phases = phases
        self.tags = tags
        self.boards = boards
        self.devices = devices
        self.maxFailures = maxFailures
        self.minDevices = minDevices
        self.soak = soak
        self.window = window
        self.manual = manual
    }
}

/// One phase of a rollout and where its devices are.
public struct RolloutPhaseView: Codable, Sendable, Equatable {
    /// 1-based.
    public var phase: Int
    /// Cumulative percentage of the target.
    public var percent: Int
    /// Targeted devices whose number falls in this phase.
    public var devices: Int
    public var offered: Int
    /// Devices whose firmware step is under way or done, their files not yet (docs/firmware.md).
    public var firmware: Int
    public var downloading: Int
    public var installed: Int
    public var confirmed: Int
    public var failed: Int
    public var rolledBack: Int

    public init(
        phase: Int, percent: Int, devices: Int, offered: Int = 0, firmware: Int = 0, downloading: Int = 0, installed: Int = 0, confirmed: Int = 0,
        failed: Int = 0, rolledBack: Int = 0
    ) {
        self.phase = phase
        self.percent = percent
        self.devices = devices
        self.offered = offered
        self.firmware = firmware
        self.downloading = downloading
        self.installed = installed
        self.confirmed = confirmed
        self.failed = failed
        self.rolledBack = rolledBack
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func count(_ key: CodingKeys) throws -> Int { try c.decode(Int.self, forKey: key) }
        self.init(
            phase: try count(.phase), percent: try count(.percent), devices: try count(.devices), offered: try count(.offered),
            // A server from before firmware does not count it.
            firmware: try c.decodeIfPresent(Int.self, forKey: .firmware) ?? 0, downloading: try count(.downloading),
            installed: try count(.installed), confirmed: try count(.confirmed), failed: try count(.failed), rolledBack: try count(.rolledBack))
    }

    enum CodingKeys: String, CodingKey { case phase, percent, devices, offered, firmware, downloading, installed, confirmed, failed, rolledBack }
}

/// A rollout: what it offers to whom, where it stands, and per phase where its devices are.
public struct RolloutView: Codable, Sendable, Equatable {
    public var id: Int
    public var channel: String
    public var version: String
    public var sequence: Int
    /// running, paused, halted, aborted or completed.
    public var status: String
    /// The current phase, 1-based.
    public var phase: Int
    public var phases: [RolloutPhaseView]
    public var tags: [String]
    public var boards: [String]
    public var devices: [String]
    public var maxFailures: String
    public var minDevices: Int
    public var soak: Int
    public var window: String?
    public var manual: Bool
    public var phaseStartedAt: String
    /// When the current phase was found done; null while it is not.
    public var settledAt: String?
    public var haltReason: String?
    public var createdAt: String
    /// The devices of its target that reported less free flash than updating to it needs (in the answers to start and
    /// show; not in lists).
    public var shortOfFlash: FlashShortfallView?

    public init(
        id: Int, channel: String, version: String, sequence: Int, status: String, phase: Int, phases: [RolloutPhaseView], tags: [String],
        boards: [String], devices: [String], maxFailures: String, minDevices: Int, soak: Int, window: String?, manual: Bool, phaseStartedAt: String,
        settledAt: String?, haltReason: String?, createdAt: String
    ) {
        self.id = id
        self.channel = channel
        self.version = version
        self.sequence = sequence
        self.status = status
        self.phase = phase
        self.phases = phases
        self.tags = tags
        self.boards = boards
        self.devices = devices
        self.maxFailures = maxFailures
        self.minDevices = minDevices
        self.soak = soak
        self.window = window
        self.manual = manual
        self.phaseStartedAt = phaseStartedAt
        self.settledAt = settledAt
        self.haltReason = haltReason
        self.createdAt = createdAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(channel, forKey: .channel)
        try c.encode(version, forKey: .version)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(status, forKey: .status)
        try c.encode(phase, forKey: .phase)
        try c.encode(phases, forKey: .phases)
        try c.encode(tags, forKey: .tags)
        try c.encode(boards, forKey: .boards)
        try c.encode(devices, forKey: .devices)
        try c.encode(maxFailures, forKey: .maxFailures)
        try c.encode(minDevices, forKey: .minDevices)
        try c.encode(soak, forKey: .soak)
        try c.encode(window, forKey: .window)
        try c.encode(manual, forKey: .manual)
        try c.encode(phaseStartedAt, forKey: .phaseStartedAt)
        try c.encode(settledAt, forKey: .settledAt)
        try c.encode(haltReason, forKey: .haltReason)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(shortOfFlash, forKey: .shortOfFlash)
    }

    enum CodingKeys: String, CodingKey {
        case id, channel, version, sequence, status, phase, phases, tags, boards, devices, maxFailures, minDevices, soak, window, manual
        case phaseStartedAt, settledAt, haltReason, createdAt, shortOfFlash
    }
}

/// Rollouts, newest first.
public struct RolloutListResponse: Codable, Sendable, Equatable {
    public var rollouts: [RolloutView]

    public init(rollouts: [RolloutView]) {
        self.rollouts = rollouts
    }
}

/// A published release with its signed envelopes, for `aloft release promote` to re-sign for another channel.
public struct ReleaseEnvelopeResponse: Codable, Sendable, Equatable {
    public var channel: String
    public var version: String
    public var sequence: Int
    public var held: Bool
    public var release: SignedRelease
    public var legacy: SignedRelease?
    /// Published `--firmware-without-rollback`, which a promotion keeps.
    public var firmwareWithoutRollback: Bool

    public init(
        channel: String, version: String, sequence: Int, held: Bool, release: SignedRelease, legacy: SignedRelease?, firmwareWithoutRollback: Bool = false
    ) {
        self.channel = channel
        self.version = version
        self.sequence = sequence
        self.held = held
        self.release = release
        self.legacy = legacy
        self.firmwareWithoutRollback = firmwareWithoutRollback
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            channel: try c.decode(String.self, forKey: .channel), version: try c.decode(String.self, forKey: .version),
            sequence: try c.decode(Int.self, forKey: .sequence), held: try c.decode(Bool.self, forKey: .held),
            release: try c.decode(SignedRelease.self, forKey: .release), legacy: try c.decodeIfPresent(SignedRelease.self, forKey: .legacy),
            // A server before firmware does not say: none of its releases has firmware.
            firmwareWithoutRollback: try c.decodeIfPresent(Bool.self, forKey: .firmwareWithoutRollback) ?? false)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(channel, forKey: .channel)
        try c.encode(version, forKey: .version)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(held, forKey: .held)
        try c.encode(release, forKey: .release)
        try c.encode(legacy, forKey: .legacy)
        try c.encode(firmwareWithoutRollback, forKey: .firmwareWithoutRollback)
    }

    enum CodingKeys: String, CodingKey { case channel, version, sequence, held, release, legacy, firmwareWithoutRollback }
}

// MARK: Schemas

extension JSONSchema {
    static var tagList: JSONSchema { .array(of: .tag, maxItems: Identifiers.maxTags) }
    static var targetList: JSONSchema { .array(of: .string(minLength: 1, maxLength: 64), maxItems: RolloutTarget.maxEntries) }
    /// `3` or `10%`.
    public static var failureLimit: JSONSchema { .string(pattern: "^[0-9]{1,6}%?$", minLength: 1, maxLength: 7).example("10%") }
}

extension DecisionView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "offer": JSONSchema.semanticVersion.orNull.described("The version offered; null when nothing is."),
            "reason": JSONSchema.string(oneOf: DecisionReason.codes),
            "why": JSONSchema.string(maxLength: 1024).described("The reason as a sentence, with the step of an offer."),
            "step": JSONSchema.string(oneOf: UpdateStep.allCases.map(\.rawValue)).orNull
                .described("With an offer: `firmware` when the device takes the release's firmware first, `files` for its files; null without."),
            "failure": JSONSchema.ref(FailureView.self).orNull
                .described("The device's failures with the release the decision is about; null when it has not failed it."),
        ])
    }
}

extension FailureView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "version": JSONSchema.semanticVersion.orNull, "sequence": .installedSequence,
            "attempts": JSONSchema.integer(minimum: 1).described("Failures since the memory was last cleared."),
            "kind": JSONSchema.string(oneOf: FailureKind.allCases.map(\.rawValue))
                .described("`no-flash` and `lasting`: not offered again until something changes; `passing`: offered again after a backoff."),
            "reason": JSONSchema.string(maxLength: EventRequest.maxReasonCharacters).described("The last failure's reason, as the device sent it."),
            "at": JSONSchema.timestamp.described("When the last failure arrived."),
            "free": JSONSchema.integer(minimum: 0).orNull
                .described("For a `no-flash` failure, the free flash (bytes) the device reported before it; offered again once it reports more."),
            "retryAt": JSONSchema.timestamp.orNull.described("For a `passing` failure, when the backoff ends."),
        ])
    }
}

extension DeviceRetryResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "cleared": JSONSchema.array(of: .ref(FailureView.self), maxItems: 100_000).described("The failures forgotten; empty when there were none."),
            "device": JSONSchema.ref(DeviceView.self).described("The device, with what its next check-in would be offered."),
        ])
    }
}

extension DeviceTagsRequest: WireSchema {
    public static var schema: JSONSchema {
        .object(optional: ["add": JSONSchema.tagList.orNull, "remove": JSONSchema.tagList.orNull])
    }
}

extension DevicePinRequest: WireSchema {
    public static var schema: JSONSchema {
        .object(required: ["version": JSONSchema.semanticVersion.described("A version published on the device's channel; 404 when none is.")])
    }
}

extension StartRolloutRequest: WireSchema {
    public static var schema: JSONSchema {
        .object(
            required: ["channel": .channel, "version": JSONSchema.semanticVersion.described("A version published on the channel; 404 when none is.")],
            optional: [
                "phases": JSONSchema.array(of: .integer(minimum: 1, maximum: 100), minItems: 1, maxItems: RolloutPolicy.maxPhases).orNull
                    .described("Cumulative percentages, each above the one before; null is [100]."),
                "tags": JSONSchema.tagList.orNull, "boards": JSONSchema.targetList.orNull.described("Board patterns with * and ?."),
                "devices": JSONSchema.array(of: .deviceID, maxItems: RolloutTarget.maxEntries).orNull,
                "maxFailures": JSONSchema.failureLimit.orNull.described("A count or a percentage of the devices that tried; null is 0."),
                "minDevices": JSONSchema.integer(minimum: 1, maximum: 1_000_000).orNull,
                "soak": JSONSchema.integer(minimum: 0, maximum: RolloutPolicy.maxSoak).orNull.described("Seconds between a phase done and the next."),
                "window": JSONSchema.string(minLength: 1, maxLength: 80).orNull.described("A maintenance window like `Mon-Fri 01:00-05:00 UTC`."),
                "manual": JSONSchema.boolean.orNull.described("Each next phase waits for resume."),
            ])
    }
}

extension RolloutPhaseView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "phase": JSONSchema.integer(minimum: 1, maximum: RolloutPolicy.maxPhases), "percent": JSONSchema.integer(minimum: 1, maximum: 100),
            "devices": .count, "offered": .count,
            "firmware": JSONSchema.count.described("Devices whose firmware step is under way or done, their files not yet."),
            "downloading": .count, "installed": .count, "confirmed": .count, "failed": .count, "rolledBack": .count,
        ])
    }
}

extension RolloutView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "id": JSONSchema.integer(minimum: 1), "channel": .channel, "version": .semanticVersion, "sequence": .sequence,
            "status": JSONSchema.string(oneOf: RolloutStatus.allCases.map(\.rawValue)),
            "phase": JSONSchema.integer(minimum: 1, maximum: RolloutPolicy.maxPhases).described("The current phase, 1-based."),
            "phases": JSONSchema.array(of: .ref(RolloutPhaseView.self), minItems: 1, maxItems: RolloutPolicy.maxPhases),
            "tags": JSONSchema.tagList, "boards": JSONSchema.targetList, "devices": JSONSchema.array(of: .deviceID, maxItems: RolloutTarget.maxEntries),
            "maxFailures": .failureLimit, "minDevices": JSONSchema.integer(minimum: 1), "soak": JSONSchema.integer(minimum: 0),
            "window": JSONSchema.string(maxLength: 80).orNull, "manual": .boolean, "phaseStartedAt": .timestamp,
            "settledAt": JSONSchema.timestamp.orNull.described("When the current phase was found done; null while it is not."),
            "haltReason": JSONSchema.string(maxLength: 4096).orNull, "createdAt": .timestamp,
        ], optional: [
            "shortOfFlash": JSONSchema.ref(FlashShortfallView.self)
                .described("The devices of its target that reported less free flash than updating to it needs (start and show only)."),
        ])
    }
}

extension RolloutListResponse: WireSchema {
    public static var schema: JSONSchema { .object(required: ["rollouts": JSONSchema.array(of: .ref(RolloutView.self))]) }
}

extension ReleaseEnvelopeResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "channel": .channel, "version": .semanticVersion, "sequence": .sequence, "held": .boolean,
            "release": JSONSchema.ref(SignedRelease.self).described("The signed format-2 envelope."),
            "legacy": JSONSchema.ref(SignedRelease.self).orNull.described("The signed format-1 envelope; null when the release has none."),
            "firmwareWithoutRollback": JSONSchema.boolean
                .described("Published with `firmwareWithoutRollback`: its firmware may go to boards whose bootloader does not roll back."),
        ])
    }
}
