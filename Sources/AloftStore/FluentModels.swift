import AloftCore
import FluentKit
import Foundation

// Database rows. Internal: the rest of the program sees the value types in FleetStore.swift.

final class DeviceModel: Model, @unchecked Sendable {
    static let schema = "devices"

    @ID(custom: "id", generatedBy: .user) var id: String?
    @Field(key: "channel") var channel: String
    @Field(key: "token_hash") var tokenHash: String
    @OptionalField(key: "board") var board: String?
    @OptionalField(key: "micropython") var micropython: String?
    @OptionalField(key: "mpy") var mpy: Int?
    @OptionalField(key: "free") var free: Int?
    @OptionalField(key: "version") var version: String?
    @Field(key: "sequence") var sequence: Int
    @OptionalField(key: "last_seen") var lastSeen: Date?
    @Field(key: "created_at") var createdAt: Date
    // The last event, kept on the row so that listing devices is one query.
    @OptionalField(key: "last_event_type") var lastEventType: String?
    @OptionalField(key: "last_event_version") var lastEventVersion: String?
    @OptionalField(key: "last_event_sequence") var lastEventSequence: Int?
    @OptionalField(key: "last_event_reason") var lastEventReason: String?
    @OptionalField(key: "last_event_at") var lastEventAt: Date?
    // Added by AddAccessControl.
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @OptionalField(key: "enrollment") var enrollment: String?
    // Added by AddDeviceAgent.
    @OptionalField(key: "agent") var agent: String?
    // Added by AddRollouts. Tags as ",a,b," (sorted), so that one tag is a LIKE away.
    @OptionalField(key: "tags") var tags: String?
    @OptionalField(key: "pin") var pin: String?
    @OptionalField(key: "rejected") var rejected: Int?
    @OptionalField(key: "format") var format: Int?
    // Added by AddFirmware: what the last check-in said of the firmware (the check-in's fields of the same names, fw_ first).
    @OptionalField(key: "fw_build") var firmwareBuild: String?
    @OptionalField(key: "fw_ota") var firmwareOTA: Bool?
    @OptionalField(key: "fw_chip") var firmwareChip: String?
    @OptionalField(key: "fw_slot") var firmwareSlot: Int?
    @OptionalField(key: "fw_running") var firmwareRunning: String?
    @OptionalField(key: "fw_state") var firmwareState: String?
    @OptionalField(key: "fw_rollback") var firmwareRollback: Bool?
    @OptionalField(key: "fw_sha256") var firmwareSHA256: String?
    @OptionalField(key: "fw_rejected") var firmwareRejected: String?
    @OptionalField(key: "last_event_step") var lastEventStep: String?

    init() {}

    init(_ device: NewDevice, createdAt: Date) {
        self.id = device.id
        self.channel = device.channel
        self.tokenHash = device.tokenHash
        self.sequence = 0
        self.createdAt = createdAt
        self.enrollment = device.enrollment
        self.tags = Self.encodeTags(device.tags)
    }

    static func encodeTags(_ tags: [String]) -> String? {
        let sorted = Set(tags).sorted()
        return sorted.isEmpty ? nil : "," + sorted.joined(separator: ",") + ","
    }

    static func decodeTags(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map(String.init)
    }

    var record: DeviceRecord {
        let id = self.id ?? ""
        var lastEvent: DeviceEvent? = nil
        if let type = lastEventType, let at = lastEventAt {
            lastEvent = DeviceEvent(
                deviceID: id, type: type, version: lastEventVersion, sequence: lastEventSequence, reason: lastEventReason, step: lastEventStep, at: at)
        }
        let firmware = FirmwareReport(
            build: firmwareBuild, ota: firmwareOTA, chip: firmwareChip, slot: firmwareSlot, running: firmwareRunning, state: firmwareState,
            rollback: firmwareRollback, sha256: firmwareSHA256, rejected: firmwareRejected)
        return DeviceRecord(
            id: id, channel: channel, tokenHash: tokenHash, board: board, micropython: micropython, agent: agent, mpy: mpy, free: free,
            version: version, sequence: sequence, lastSeen: lastSeen, lastEvent: lastEvent, createdAt: createdAt, revokedAt: revokedAt,
            enrollment: enrollment, tags: Self.decodeTags(tags), pin: pin, rejected: rejected, format: format, firmware: firmware
        )
    }
}

final class ReleaseModel: Model, @unchecked Sendable {
    static let schema = "releases"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "channel") var channel: String
    @Field(key: "sequence") var sequence: Int
    @Field(key: "version") var version: String
    @Field(key: "created") var created: String
    /// The format-2 envelope; empty for a release published before format 2 (the column is NOT NULL, see AddLegacyEnvelopes).
    @Field(key: "envelope") var envelope: String
    @Field(key: "file_count") var fileCount: Int
    @Field(key: "total_size") var totalSize: Int
    @Field(key: "published_at") var publishedAt: Date
    // Added by AddLegacyEnvelopes.
    @OptionalField(key: "legacy_envelope") var legacyEnvelope: String?
    // Added by AddRollouts; null (older rows) is not held.
    @OptionalField(key: "held") var held: Bool?
    // Added by AddFirmware: the manifest's firmware images as JSON (null: none), and null (older rows) is false.
    @OptionalField(key: "firmware") var firmware: String?
    @OptionalField(key: "firmware_without_rollback") var firmwareWithoutRollback: Bool?

    init() {}

    init(_ release: NewRelease) throws {
        self.channel = release.channel
        self.sequence = release.sequence
        self.version = release.version
        self.created = release.created
        self.envelope = release.envelope ?? ""
        self.legacyEnvelope = release.legacyEnvelope
        self.fileCount = release.fileCount
        self.totalSize = release.totalSize
        self.publishedAt = release.publishedAt
        self.held = release.held
        self.firmware = release.firmware.isEmpty ? nil : String(decoding: try JSONEncoder().encode(release.firmware), as: UTF8.self)
        self.firmwareWithoutRollback = release.firmwareWithoutRollback
    }

    func record() throws -> ReleaseRecord {
        ReleaseRecord(
            channel: channel, sequence: sequence, version: version, created: created, envelope: envelope.isEmpty ? nil : envelope,
            legacyEnvelope: legacyEnvelope, fileCount: fileCount, totalSize: totalSize, publishedAt: publishedAt, held: held ?? false,
            firmware: try firmware.map { try JSONDecoder().decode([FirmwareImage].self, from: Data($0.utf8)) } ?? [],
            firmwareWithoutRollback: firmwareWithoutRollback ?? false
        )
    }
}

final class EventModel: Model, @unchecked Sendable {
    static let schema = "events"

    // Autoincrement, so that "newest first" is exact even within one clock tick.
    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "device_id") var deviceID: String
    @Field(key: "type") var type: String
    @OptionalField(key: "version") var version: String?
    @OptionalField(key: "sequence") var sequence: Int?
    @OptionalField(key: "reason") var reason: String?
    @Field(key: "at") var at: Date
    // Added by AddFirmware; null is the files step.
    @OptionalField(key: "step") var step: String?

    init() {}

    init(_ event: DeviceEvent) {
        self.deviceID = event.deviceID
        self.type = event.type
        self.version = event.version
        self.sequence = event.sequence
        self.reason = event.reason
        self.step = event.step
        self.at = event.at
    }

    var record: DeviceEvent {
        DeviceEvent(deviceID: deviceID, type: type, version: version, sequence: sequence, reason: reason, step: step, at: at)
    }
}

final class DownloadModel: Model, @unchecked Sendable {
    static let schema = "downloads"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @OptionalField(key: "device_id") var deviceID: String?
    @Field(key: "sha256") var sha256: String
    @Field(key: "encoding") var encoding: String
    @Field(key: "bytes") var bytes: Int
    @Field(key: "status") var status: Int
    @Field(key: "at") var at: Date

    init() {}

    init(_ download: BlobDownload) {
        self.deviceID = download.deviceID
        self.sha256 = download.sha256
        self.encoding = download.encoding
        self.bytes = download.bytes
        self.status = download.status
        self.at = download.at
    }

    var record: BlobDownload {
        BlobDownload(deviceID: deviceID, sha256: sha256, encoding: encoding, bytes: bytes, status: status, at: at)
    }
}

final class AdminTokenModel: Model, @unchecked Sendable {
    static let schema = "admin_tokens"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "name") var name: String
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "revoked_at") var revokedAt: Date?

    init() {}

    init(name: String, tokenHash: String, createdAt: Date) {
        self.name = name
        self.tokenHash = tokenHash
        self.createdAt = createdAt
    }

    var record: AdminTokenRecord {
        AdminTokenRecord(name: name, tokenHash: tokenHash, createdAt: createdAt, revokedAt: revokedAt)
    }
}

final class EnrollmentModel: Model, @unchecked Sendable {
    static let schema = "enrollments"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "name") var name: String
    @Field(key: "channel") var channel: String
    @Field(key: "secret_hash") var secretHash: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    // Added by AddRollouts, as on devices.
    @OptionalField(key: "tags") var tags: String?

    init() {}

    init(name: String, channel: String, secretHash: String, createdAt: Date, tags: [String]) {
        self.name = name
        self.channel = channel
        self.secretHash = secretHash
        self.createdAt = createdAt
        self.tags = DeviceModel.encodeTags(tags)
    }

    var record: EnrollmentRecord {
        EnrollmentRecord(
            name: name, channel: channel, secretHash: secretHash, createdAt: createdAt, revokedAt: revokedAt, tags: DeviceModel.decodeTags(tags))
    }
}

final class RolloutModel: Model, @unchecked Sendable {
    static let schema = "rollouts"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "channel") var channel: String
    @Field(key: "sequence") var sequence: Int
    @Field(key: "version") var version: String
    /// ``RolloutPolicy`` as JSON: phases, target, limits, soak, window, manual.
    @Field(key: "policy") var policy: String
    @Field(key: "status") var status: String
    @Field(key: "phase") var phase: Int
    @Field(key: "phase_started_at") var phaseStartedAt: Date
    @OptionalField(key: "settled_at") var settledAt: Date?
    @OptionalField(key: "halt_reason") var haltReason: String?
    @Field(key: "created_at") var createdAt: Date

    init() {}

    init(_ rollout: NewRollout) throws {
        self.channel = rollout.channel
        self.sequence = rollout.sequence
        self.version = rollout.version
        self.policy = String(decoding: try JSONEncoder().encode(rollout.policy), as: UTF8.self)
        self.status = RolloutStatus.running.rawValue
        self.phase = 0
        self.phaseStartedAt = rollout.createdAt
        self.createdAt = rollout.createdAt
    }

    func update(from rollout: Rollout) {
        status = rollout.status.rawValue
        phase = rollout.phase
        phaseStartedAt = rollout.phaseStartedAt
        settledAt = rollout.settledAt
        haltReason = rollout.haltReason
    }

    func record() throws -> Rollout {
        guard let id, let status = RolloutStatus(rawValue: status) else { throw FleetStoreConfigurationError("rollout row \(id ?? 0) is unreadable") }
        let policy = try JSONDecoder().decode(RolloutPolicy.self, from: Data(self.policy.utf8))
        return Rollout(
            id: id, channel: channel, sequence: sequence, version: version, policy: policy, status: status, phase: phase,
            phaseStartedAt: phaseStartedAt, settledAt: settledAt, haltReason: haltReason, createdAt: createdAt)
    }
}

final class RolloutDeviceModel: Model, @unchecked Sendable {
    static let schema = "rollout_devices"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "rollout_id") var rolloutID: Int
    @Field(key: "device_id") var deviceID: String
    @Field(key: "state") var state: String
    @OptionalField(key: "reason") var reason: String?
    /// When the state last changed.
    @Field(key: "at") var at: Date
    @Field(key: "offered_at") var offeredAt: Date

    init() {}

    init(rolloutID: Int, deviceID: String, at: Date) {
        self.rolloutID = rolloutID
        self.deviceID = deviceID
        self.state = RolloutDeviceState.offered.rawValue
        self.at = at
        self.offeredAt = at
    }

    var outcome: RolloutOutcome {
        RolloutOutcome(state: RolloutDeviceState(rawValue: state) ?? .offered, at: at, reason: reason)
    }
}

/// One form of a blob kept in the database, for servers that share no disk (PostgreSQL only; see AddSharedBlobs).
final class BlobModel: Model, @unchecked Sendable {
    static let schema = "blobs"

    /// `<sha256>.<form>`.
    @ID(custom: "id", generatedBy: .user) var id: String?
    @Field(key: "data") var data: Data
    @Field(key: "size") var size: Int

    init() {}

    init(sha256: String, form: String, bytes: [UInt8]) {
        self.id = Self.key(sha256, form)
        self.data = Data(bytes)
        self.size = bytes.count
    }

    static func key(_ sha256: String, _ form: String) -> String { sha256 + "." + form }
}

/// What the server remembers of a device's failures with one release (AddReleaseFailures): one row per device and
/// release sequence, from its `failed` events until it installs that release or an operator clears it.
final class ReleaseFailureModel: Model, @unchecked Sendable {
    static let schema = "release_failures"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "device_id") var deviceID: String
    @Field(key: "sequence") var sequence: Int
    @OptionalField(key: "version") var version: String?
    @Field(key: "attempts") var attempts: Int
    /// A ``FailureKind`` raw value: `no-flash`, `lasting`, `passing`.
    @Field(key: "kind") var kind: String
    @Field(key: "reason") var reason: String
    @Field(key: "at") var at: Date
    @OptionalField(key: "free") var free: Int?

    init() {}

    init(deviceID: String, _ failure: ReleaseFailure) {
        self.deviceID = deviceID
        self.sequence = failure.sequence
        update(from: failure)
    }

    func update(from failure: ReleaseFailure) {
        version = failure.version
        attempts = failure.attempts
        kind = failure.kind.rawValue
        reason = failure.reason
        at = failure.at
        free = failure.free
    }

    /// A kind this server does not know (written by a newer one) reads as passing, the default of unknown reasons.
    var record: ReleaseFailure {
        ReleaseFailure(
            sequence: sequence, version: version, attempts: attempts, kind: FailureKind(rawValue: kind) ?? .passing, reason: reason, at: at, free: free)
    }
}
