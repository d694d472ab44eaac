import AloftCore

// The bodies of the device API (docs/protocol.md, "Device API"). Requests decode with synthesized Codable: a field left
// out and a field sent as `null` are the same.

/// What a device sends at every check-in: what it runs and what it can take.
public struct CheckInRequest: Codable, Sendable, Equatable {
    /// Values of ``format``: the manifest formats the server publishes (absent means format 1).
    public static let formats = [ReleaseManifest.legacyFormat, ReleaseManifest.currentFormat]
    /// The longest ``board`` and ``micropython``, in UTF-8 bytes.
    public static let maxBoardBytes = 128
    public static let maxMicroPythonBytes = 64
    /// ``agent`` is 1 to this many of `A–Z a–z 0–9 . _ - +`.
    public static let maxAgentCharacters = 32

    public var id: String
    /// The installed release's version; nil when nothing is installed yet.
    public var version: String?
    /// The installed release's sequence; 0 when nothing is installed yet.
    public var sequence: Int
    public var board: String?
    public var micropython: String?
    /// The version of the Aloft agent itself, e.g. `0.3.0`; nil is unknown.
    public var agent: String?
    public var mpy: Int?
    /// Free flash bytes.
    public var free: Int?
    /// The highest sequence the device rolled back from; nothing at or below it is offered again.
    public var rejected: Int?
    /// The highest manifest format the agent reads; absent (agents before 0.3.0) is 1.
    public var format: Int?

    // What it runs below the files (docs/firmware.md, "Check-in"): every agent since 0.4.0 sends `ota`, older ones none.
    /// The firmware build, `sys.implementation._build`.
    public var build: String?
    /// Whether the board can take a firmware update (an OTA partition table); its presence says the agent can.
    public var ota: Bool?
    public var chip: String?
    /// Bytes of the slot a new firmware would go to.
    public var slot: Int?
    /// The running slot's label.
    public var running: String?
    /// `fw_state`, one of ``firmwareStates``: the running firmware is `valid`, or on `trial`.
    public var firmwareState: String?
    /// Whether the bootloader rolls back a failed firmware; absent until the device learned it.
    public var rollback: Bool?
    /// `fw_sha256`: SHA-256 of the running image.
    public var firmwareSHA256: String?
    /// `fw_rejected`: SHA-256 of the last image the device rolled back.
    public var firmwareRejected: String?

    enum CodingKeys: String, CodingKey {
        case id, version, sequence, board, micropython, agent, mpy, free, rejected, format, build, ota, chip, slot, running, rollback
        case firmwareState = "fw_state"
        case firmwareSHA256 = "fw_sha256"
        case firmwareRejected = "fw_rejected"
    }

    /// Values of `fw_state`.
    public static let firmwareStates = FirmwareReport.states
    public static let maxBuildBytes = FirmwareImage.maxBuildCharacters
    public static let maxSlotLabelBytes = 16

    public init(
        id: String, version: String? = nil, sequence: Int, board: String? = nil, micropython: String? = nil, agent: String? = nil,
        mpy: Int? = nil, free: Int? = nil, rejected: Int? = nil, format: Int? = nil, build: String? = nil, ota: Bool? = nil, chip: String? = nil,
        slot: Int? = nil, running: String? = nil, firmwareState: String? = nil, rollback: Bool? = nil, firmwareSHA256: String? = nil,
        firmwareRejected: String? = nil
    ) {
        self.id = id
        self.version = version
        self.sequence = sequence
        self.board = board
        self.micropython = micropython
        self.agent = agent
        self.mpy = mpy
        self.free = free
        self.rejected = rejected
        self.format = format
        self.build = build
        self.ota = ota
        self.chip = chip
        self.slot = slot
        self.running = running
        self.firmwareState = firmwareState
        self.rollback = rollback
        self.firmwareSHA256 = firmwareSHA256
        self.firmwareRejected = firmwareRejected
    }

    /// The firmware fields as sent, which the server keeps.
    public var firmwareReport: FirmwareReport {
        FirmwareReport(
            build: build, ota: ota, chip: chip, slot: slot, running: running, state: firmwareState, rollback: rollback, sha256: firmwareSHA256,
            rejected: firmwareRejected)
    }

    /// What the device says of its firmware, for the decision; nil from agents before 0.4.0 (no `ota`).
    public var firmware: DeviceFirmware? { firmwareReport.firmware }
}

/// The answer to a check-in: nothing to do, or the signed release to install.
public struct CheckInResponse: Codable, Sendable, Equatable {
    public static let none = "none"
    public static let update = "update"

    /// ``none`` or ``update``.
    public var action: String
    /// Seconds until the device should check in again.
    public var poll: Int
    /// With ``update``: the envelope in the format the device reads; left out otherwise.
    public var release: SignedRelease?
    /// Only beside a format-1 envelope: blob → size of its zlib form; left out otherwise.
    public var zlib: [String: Int]?
    /// With ``update``: `firmware` when the device is to take the release's firmware first; left out for its files.
    public var step: String?

    public init(action: String, poll: Int, release: SignedRelease? = nil, zlib: [String: Int]? = nil, step: String? = nil) {
        self.action = action
        self.poll = poll
        self.release = release
        self.zlib = zlib
        self.step = step
    }
}

/// Something a device reports about a release: `downloading`, `installed`, `failed`, ….
public struct EventRequest: Codable, Sendable, Equatable {
    /// Event types the server accepts; each is also a metrics label, so the set stays closed.
    public static let types = ["downloading", "installed", "failed", "confirmed", "rolled_back", "deferred"]
    /// The longest ``reason``, in characters.
    public static let maxReasonCharacters = 512

    public var id: String
    /// One of ``types``.
    public var type: String
    /// The release the event is about; nil when a refused manifest could not be read.
    public var version: String?
    public var sequence: Int?
    public var reason: String?
    /// `firmware` for an event of a release's firmware step; absent for its files.
    public var step: String?

    public init(id: String, type: String, version: String? = nil, sequence: Int? = nil, reason: String? = nil, step: String? = nil) {
        self.id = id
        self.type = type
        self.version = version
        self.sequence = sequence
        self.reason = reason
        self.step = step
    }
}

/// What a board of a generic image sends with its enrollment secret: the id it chose for itself.
public struct EnrollRequest: Codable, Sendable, Equatable {
    public var id: String
    /// Tags from the image (`aloft device image --tag`), added to the enrollment's own.
    public var tags: [String]?

    public init(id: String, tags: [String]? = nil) {
        self.id = id
        self.tags = tags
    }
}

/// A device just registered, by the admin or by enrollment, with its token: shown this once.
public struct CreatedDeviceResponse: Codable, Sendable, Equatable {
    public var id: String
    public var channel: String
    public var token: String

    public init(id: String, channel: String, token: String) {
        self.id = id
        self.channel = channel
        self.token = token
    }
}

// MARK: Schemas

extension CheckInRequest: WireSchema {
    public static var schema: JSONSchema {
        .object(
            required: [
                "id": .deviceID.described("The device's id; it must be the id of the token's device (else 403)."),
                "sequence": .installedSequence.described("The installed release's sequence; 0 when nothing is installed."),
            ],
            optional: [
                "version": JSONSchema.semanticVersion.orNull.described("The installed release's version; null when nothing is installed."),
                "board": JSONSchema.printableText(maxBytes: maxBoardBytes).orNull.described("Board name, matched against `compat.boards`."),
                "micropython": JSONSchema.printableText(maxBytes: maxMicroPythonBytes).orNull.described("MicroPython version, e.g. `1.22.0`."),
                "agent": JSONSchema.string(pattern: "^[A-Za-z0-9._+-]{1,\(maxAgentCharacters)}$", minLength: 1, maxLength: maxAgentCharacters)
                    .orNull.described("The agent's own version; null or absent is unknown."),
                "mpy": JSONSchema.integer(minimum: 0, maximum: Int.max).orNull.described("`sys.implementation._mpy`."),
                "free": JSONSchema.integer(minimum: 0, maximum: Int.max).orNull.described("Free flash bytes."),
                "rejected": JSONSchema.installedSequence.orNull.described("The highest sequence the device rolled back from."),
                "format": JSONSchema.integer(oneOf: formats).orNull.described("The highest manifest format the agent reads; absent is 1."),
                "build": JSONSchema.string(pattern: "^[A-Za-z0-9_-]{1,\(maxBuildBytes)}$", minLength: 1, maxLength: maxBuildBytes).orNull
                    .described("The firmware build, `sys.implementation._build`."),
                "ota": JSONSchema.boolean.orNull.described("Whether the board can take a firmware update; sent by every agent since 0.4.0."),
                "chip": JSONSchema.string(oneOf: FirmwareImage.chips).orNull.described("The chip, from the running image's header."),
                "slot": JSONSchema.integer(minimum: 0, maximum: Int.max).orNull.described("Bytes of the slot a new firmware would go to."),
                "running": JSONSchema.string(pattern: "^[A-Za-z0-9_]{1,\(maxSlotLabelBytes)}$", minLength: 1, maxLength: maxSlotLabelBytes).orNull
                    .described("The running slot's label."),
                "fw_state": JSONSchema.string(oneOf: firmwareStates).orNull.described("The running firmware: `valid`, or on `trial`."),
                "rollback": JSONSchema.boolean.orNull.described("Whether the bootloader rolls back a failed firmware; absent until learned."),
                "fw_sha256": JSONSchema.sha256.orNull.described("SHA-256 of the running firmware image."),
                "fw_rejected": JSONSchema.sha256.orNull.described("SHA-256 of the last firmware image the device rolled back."),
            ]
        )
        .example([
            "id": "dev-1", "version": nil, "sequence": 0, "board": "esp32", "micropython": "1.22.0", "mpy": 2822, "free": 1_500_000,
            "agent": "0.3.0", "format": 2,
        ])
    }
}

extension CheckInResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(
            required: [
                "action": JSONSchema.string(oneOf: [none, update]),
                "poll": JSONSchema.integer(minimum: 1).described("Seconds until the device should check in again."),
            ],
            optional: [
                "release": JSONSchema.ref(SignedRelease.self).described("With `update` only: the signed envelope in the format the device reads."),
                "zlib": JSONSchema.map(keys: .sha256, values: .count)
                    .described("Beside a format-1 envelope only: blob → size of its zlib form, for the blobs that have one."),
                "step": JSONSchema.string(oneOf: [UpdateStep.firmware.rawValue])
                    .described("With `update` only: `firmware` when the device is to take the release's firmware first; absent for its files."),
            ]
        )
    }
}

extension EventRequest: WireSchema {
    public static var schema: JSONSchema {
        .object(
            required: [
                "id": .deviceID.described("The device's id; it must be the id of the token's device (else 403)."),
                "type": JSONSchema.string(oneOf: types),
            ],
            optional: [
                "version": JSONSchema.semanticVersion.orNull.described("The release the event is about; an `installed` event needs it."),
                "sequence": JSONSchema.sequence.orNull.described("The release the event is about; an `installed` event needs it."),
                "reason": JSONSchema.string(maxLength: maxReasonCharacters).orNull.described("Why, for `failed`, `rolled_back` and `deferred`."),
                "step": JSONSchema.string(oneOf: [UpdateStep.firmware.rawValue]).orNull
                    .described("`firmware` for an event of the release's firmware step; absent for its files."),
            ]
        )
        .requiring(["version": .semanticVersion, "sequence": .sequence], when: "type", is: "installed")
        .example(["id": "dev-1", "type": "failed", "version": "1.1.0", "sequence": 4, "reason": "sha256 mismatch for main.py"])
    }
}

extension EnrollRequest: WireSchema {
    public static var schema: JSONSchema {
        .object(
            required: ["id": .deviceID.described("The id the device chose; 409 when it is taken.")],
            optional: ["tags": JSONSchema.array(of: .tag, maxItems: Identifiers.maxTags).orNull.described("Tags from the image, added to the enrollment's.")])
    }
}

extension CreatedDeviceResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(required: ["id": .deviceID, "channel": .channel, "token": .secret(prefix: SecretFormat.devicePrefix).described("The device token, shown once.")])
    }
}

extension SignedRelease: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "manifest": JSONSchema.string(minLength: 1, maxLength: ReleaseManifest.legacyMaxEncodedBytes).annotated("contentMediaType", "application/json")
                .described("The canonical manifest JSON, as a string; signatures are over its UTF-8 bytes exactly."),
            "signatures": JSONSchema.array(of: .ref(ReleaseSignature.self), minItems: 1, maxItems: SignedRelease.maxSignatures),
        ])
    }
}

extension ReleaseSignature: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "keyid": JSONSchema.string(pattern: "^[0-9a-fA-F]{16}$", minLength: 16, maxLength: 16)
                .described("First 16 hex characters (lowercase, which devices match exactly) of SHA-256 of the raw public key."),
            "sig": JSONSchema.string(pattern: "^[A-Za-z0-9+/]{86}==$", minLength: 88, maxLength: 88)
                .described("Ed25519 signature, 64 bytes in standard base64 with padding."),
        ])
    }
}

/// A body whose every field is a scalar (or null): a field it does not know is a top-level key not among these, which
/// the server checks in one pass (check-ins and events are the hot path). `WireTypeTests` checks the names against
/// what the type encodes.
public protocol FlatJSONObject {
    static var fieldNames: Set<String> { get }
}

extension CheckInRequest: FlatJSONObject {
    public static let fieldNames: Set<String> = [
        "id", "version", "sequence", "board", "micropython", "agent", "mpy", "free", "rejected", "format", "build", "ota", "chip", "slot", "running",
        "fw_state", "rollback", "fw_sha256", "fw_rejected",
    ]
}

extension EventRequest: FlatJSONObject {
    public static let fieldNames: Set<String> = ["id", "type", "version", "sequence", "reason", "step"]
}
