import AloftCore

// The bodies of the management API (docs/protocol.md, "Management API"). Where the protocol shows a field as `null`,
// the type encodes it explicitly (synthesized Codable would leave it out); decoding takes `null` and absent alike.

/// Which of these blobs the server lacks?
public struct MissingBlobsRequest: Codable, Sendable, Equatable {
    /// The most hashes one request may ask about.
    public static let maxHashes = 4096

    public var sha256: [String]

    public init(sha256: [String]) {
        self.sha256 = sha256
    }
}

/// The blobs of a ``MissingBlobsRequest`` the server lacks, each once, in the order asked.
public struct MissingBlobsResponse: Codable, Sendable, Equatable {
    public var missing: [String]

    public init(missing: [String]) {
        self.missing = missing
    }
}

/// A blob the server has stored.
public struct StoredBlobResponse: Codable, Sendable, Equatable {
    public var sha256: String
    public var size: Int
    /// The size of its zlib form; null when the server keeps none (it would not be smaller).
    public var zlibSize: Int?

    public init(sha256: String, size: Int, zlibSize: Int?) {
        self.sha256 = sha256
        self.size = size
        self.zlibSize = zlibSize
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(size, forKey: .size)
        try c.encode(zlibSize, forKey: .zlibSize)
    }

    enum CodingKeys: String, CodingKey { case sha256, size, zlibSize }
}

/// A release the server has just published.
public struct PublishedReleaseResponse: Codable, Sendable, Equatable {
    public var version: String
    public var sequence: Int
    public var channel: String
    /// Whether the release has a legacy envelope, so agents before 0.3.0 are offered it.
    public var legacy: Bool
    /// Published `--held`: no device is offered it until a rollout starts it.
    public var held: Bool
    /// True when this exact release (the same files) was published with this version before: nothing changed.
    public var alreadyPublished: Bool
    /// The channel's devices that reported less free flash than updating to it needs.
    public var shortOfFlash: FlashShortfallView?

    public init(
        version: String, sequence: Int, channel: String, legacy: Bool, held: Bool = false, alreadyPublished: Bool = false,
        shortOfFlash: FlashShortfallView? = nil
    ) {
        self.version = version
        self.sequence = sequence
        self.channel = channel
        self.legacy = legacy
        self.held = held
        self.alreadyPublished = alreadyPublished
        self.shortOfFlash = shortOfFlash
    }
}

/// Devices that cannot take a release for lack of flash (docs/protocol.md, "Flash needed"): how many, and the first
/// ``FlashShortfallView/maxListed`` by id with what the update needs and what they reported free.
public struct FlashShortfallView: Codable, Sendable, Equatable {
    public struct Device: Codable, Sendable, Equatable {
        public var id: String
        /// Free flash bytes the update needs at check-in.
        public var need: Int
        /// Free flash bytes it reported at its last check-in.
        public var free: Int

        public init(id: String, need: Int, free: Int) {
            self.id = id
            self.need = need
            self.free = free
        }
    }

    public static let maxListed = 20
    public var count: Int
    public var devices: [Device]

    public init(count: Int, devices: [Device]) {
        self.count = count
        self.devices = devices
    }
}

/// One published release, as listed.
public struct ReleaseSummary: Codable, Sendable, Equatable {
    public var version: String
    public var sequence: Int
    public var channel: String
    /// The manifest's `created`.
    public var created: String
    /// How many files it has.
    public var files: Int
    /// Their bytes in all.
    public var size: Int
    public var publishedAt: String
    /// Whether agents before 0.3.0 are offered the release (it has a legacy envelope).
    public var legacy: Bool
    /// Published `--held`.
    public var held: Bool
    /// Its firmware images, one per build (docs/firmware.md); empty for a release without firmware.
    public var firmware: [FirmwareImage]

    public init(
        version: String, sequence: Int, channel: String, created: String, files: Int, size: Int, publishedAt: String, legacy: Bool, held: Bool = false,
        firmware: [FirmwareImage] = []
    ) {
        self.firmware = firmware
        self.held = held
        self.version = version
        self.sequence = sequence
        self.channel = channel
        self.created = created
        self.files = files
        self.size = size
        self.publishedAt = publishedAt
        self.legacy = legacy
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            version: try c.decode(String.self, forKey: .version), sequence: try c.decode(Int.self, forKey: .sequence),
            channel: try c.decode(String.self, forKey: .channel), created: try c.decode(String.self, forKey: .created),
            files: try c.decode(Int.self, forKey: .files), size: try c.decode(Int.self, forKey: .size),
            publishedAt: try c.decode(String.self, forKey: .publishedAt), legacy: try c.decode(Bool.self, forKey: .legacy),
            held: try c.decodeIfPresent(Bool.self, forKey: .held) ?? false,
            // A server from before firmware does not say: none of its releases has any.
            firmware: try c.decodeIfPresent([FirmwareImage].self, forKey: .firmware) ?? [])
    }

    enum CodingKeys: String, CodingKey { case version, sequence, channel, created, files, size, publishedAt, legacy, held, firmware }
}

/// Releases, newest first.
public struct ReleaseListResponse: Codable, Sendable, Equatable {
    public var releases: [ReleaseSummary]

    public init(releases: [ReleaseSummary]) {
        self.releases = releases
    }
}

/// A channel and its newest release.
public struct ChannelResponse: Codable, Sendable, Equatable {
    /// The newest release of a channel.
    public struct Latest: Codable, Sendable, Equatable {
        public var version: String
        public var sequence: Int

        public init(version: String, sequence: Int) {
            self.version = version
            self.sequence = sequence
        }
    }

    public var channel: String
    /// Null when nothing has been published on the channel.
    public var latest: Latest?
    /// The sequence a release published now takes (``ChannelSequence/next(latestRelease:highestReported:)``): above the
    /// newest release and above what the channel's devices reported. Nil from older servers, whose next is latest + 1.
    public var next: Int?

    public init(channel: String, latest: Latest?, next: Int? = nil) {
        self.channel = channel
        self.latest = latest
        self.next = next
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(channel, forKey: .channel)
        try c.encode(latest, forKey: .latest)
        try c.encodeIfPresent(next, forKey: .next)
    }

    enum CodingKeys: String, CodingKey { case channel, latest, next }
}

/// Registers a device on a channel.
public struct CreateDeviceRequest: Codable, Sendable, Equatable {
    public var id: String
    public var channel: String
    public var tags: [String]?

    public init(id: String, channel: String, tags: [String]? = nil) {
        self.id = id
        self.channel = channel
        self.tags = tags
    }
}

/// Something a device reported, as the server keeps it.
public struct EventView: Codable, Sendable, Equatable {
    public var type: String
    public var version: String?
    public var sequence: Int?
    public var reason: String?
    /// `firmware` for an event of the release's firmware step; null for its files.
    public var step: String?
    public var at: String

    public init(type: String, version: String?, sequence: Int?, reason: String?, step: String? = nil, at: String) {
        self.type = type
        self.version = version
        self.sequence = sequence
        self.reason = reason
        self.step = step
        self.at = at
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(version, forKey: .version)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(reason, forKey: .reason)
        try c.encode(step, forKey: .step)
        try c.encode(at, forKey: .at)
    }

    enum CodingKeys: String, CodingKey { case type, version, sequence, reason, step, at }
}

/// What a device said of its firmware at its last check-in (docs/firmware.md, "Check-in").
public struct FirmwareView: Codable, Sendable, Equatable {
    /// The firmware build, `ESP32_GENERIC-OTA`.
    public var build: String?
    public var chip: String?
    /// The MicroPython version it runs.
    public var micropython: String?
    /// Whether the board can take a firmware update (an OTA partition table).
    public var ota: Bool?
    /// Bytes of the slot a new firmware would go to.
    public var slot: Int?
    /// The running slot's label.
    public var running: String?
    /// `valid`, or `trial` while a new firmware is on trial.
    public var state: String?
    /// Whether its bootloader rolls back a failed firmware; null until the device learned it.
    public var rollback: Bool?
    /// SHA-256 of the running image.
    public var sha256: String?
    /// SHA-256 of the last image it rolled back.
    public var rejected: String?

    public init(
        build: String?, chip: String?, micropython: String?, ota: Bool?, slot: Int?, running: String?, state: String?, rollback: Bool?,
        sha256: String?, rejected: String?
    ) {
        self.build = build
        self.chip = chip
        self.micropython = micropython
        self.ota = ota
        self.slot = slot
        self.running = running
        self.state = state
        self.rollback = rollback
        self.sha256 = sha256
        self.rejected = rejected
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(build, forKey: .build)
        try c.encode(chip, forKey: .chip)
        try c.encode(micropython, forKey: .micropython)
        try c.encode(ota, forKey: .ota)
        try c.encode(slot, forKey: .slot)
        try c.encode(running, forKey: .running)
        try c.encode(state, forKey: .state)
        try c.encode(rollback, forKey: .rollback)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(rejected, forKey: .rejected)
    }

    enum CodingKeys: String, CodingKey { case build, chip, micropython, ota, slot, running, state, rollback, sha256, rejected }

    /// For a table: `1.24.1 ESP32_GENERIC-OTA`, with `(trial)` while its firmware is on trial and `(no OTA)` when it cannot
    /// take a firmware update.
    public var summary: String {
        var parts = [micropython ?? "?", build ?? "?"]
        if state == "trial" { parts.append("(trial)") }
        if ota == false { parts.append("(no OTA)") }
        return parts.joined(separator: " ")
    }
}

/// A device as the management API shows it: what its last check-in said, its last event, whether its token is revoked.
public struct DeviceView: Codable, Sendable, Equatable {
    public var id: String
    public var channel: String
    public var board: String?
    public var micropython: String?
    /// The version of the Aloft agent the device last reported.
    public var agent: String?
    /// The installed release's version; nil before the first check-in that reports one.
    public var version: String?
    /// The installed release's sequence; 0 when nothing is installed.
    public var sequence: Int
    public var lastSeen: String?
    public var lastEvent: EventView?
    /// Whether the device's token is revoked.
    public var revoked: Bool
    /// The enrollment the device registered itself with; nil for a device the admin registered.
    public var enrollment: String?
    /// Sorted.
    public var tags: [String]
    /// The version the device is pinned to.
    public var pin: String?
    /// What its next check-in would be offered, and why.
    public var decision: DecisionView?
    /// The firmware it runs, as its last check-in said; null for agents before 0.4.0, which say nothing of it.
    public var firmware: FirmwareView?
    /// Free flash bytes, as its last check-in said; null when it did not say.
    public var free: Int?

    public init(
        id: String, channel: String, board: String?, micropython: String?, agent: String?, version: String?, sequence: Int, lastSeen: String?,
        lastEvent: EventView?, revoked: Bool, enrollment: String?, tags: [String] = [], pin: String? = nil, decision: DecisionView? = nil,
        firmware: FirmwareView? = nil, free: Int? = nil
    ) {
        self.firmware = firmware
        self.free = free
        self.tags = tags
        self.pin = pin
        self.decision = decision
        self.id = id
        self.channel = channel
        self.board = board
        self.micropython = micropython
        self.agent = agent
        self.version = version
        self.sequence = sequence
        self.lastSeen = lastSeen
        self.lastEvent = lastEvent
        self.revoked = revoked
        self.enrollment = enrollment
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(channel, forKey: .channel)
        try c.encode(board, forKey: .board)
        try c.encode(micropython, forKey: .micropython)
        try c.encode(agent, forKey: .agent)
        try c.encode(version, forKey: .version)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(lastSeen, forKey: .lastSeen)
        try c.encode(lastEvent, forKey: .lastEvent)
        try c.encode(revoked, forKey: .revoked)
        try c.encode(enrollment, forKey: .enrollment)
        try c.encode(tags, forKey: .tags)
        try c.encode(pin, forKey: .pin)
        try c.encode(decision, forKey: .decision)
        try c.encode(firmware, forKey: .firmware)
        try c.encode(free, forKey: .free)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id), channel: try c.decode(String.self, forKey: .channel),
            board: try c.decodeIfPresent(String.self, forKey: .board), micropython: try c.decodeIfPresent(String.self, forKey: .micropython),
            agent: try c.decodeIfPresent(String.self, forKey: .agent), version: try c.decodeIfPresent(String.self, forKey: .version),
            sequence: try c.decode(Int.self, forKey: .sequence), lastSeen: try c.decodeIfPresent(String.self, forKey: .lastSeen),
            lastEvent: try c.decodeIfPresent(EventView.self, forKey: .lastEvent), revoked: try c.decode(Bool.self, forKey: .revoked),
            enrollment: try c.decodeIfPresent(String.self, forKey: .enrollment), tags: try c.decodeIfPresent([String].self, forKey: .tags) ?? [],
            pin: try c.decodeIfPresent(String.self, forKey: .pin), decision: try c.decodeIfPresent(DecisionView.self, forKey: .decision),
            firmware: try c.decodeIfPresent(FirmwareView.self, forKey: .firmware), free: try c.decodeIfPresent(Int.self, forKey: .free))
    }

    enum CodingKeys: String, CodingKey {
        case id, channel, board, micropython, agent, version, sequence, lastSeen, lastEvent, revoked, enrollment, tags, pin, decision, firmware, free
    }
}

/// One page of devices, sorted by id.
public struct DeviceListResponse: Codable, Sendable, Equatable {
    public var devices: [DeviceView]
    /// Devices matching the filters, in all pages.
    public var total: Int
    /// The `after` that asks for the next page; nil on the last one.
    public var next: String?

    /// The most devices a page holds (`limit`'s largest value and its default).
    public static let maxPage = 1000

    public init(devices: [DeviceView], total: Int, next: String?) {
        self.devices = devices
        self.total = total
        self.next = next
    }
}

/// A device's events, newest first.
public struct EventListResponse: Codable, Sendable, Equatable {
    public var events: [EventView]

    public init(events: [EventView]) {
        self.events = events
    }
}

/// One blob request a device made, as the server recorded it.
public struct DownloadView: Codable, Sendable, Equatable {
    /// Values of ``encoding``.
    public static let encodings = ["raw", "zlib"]

    public var sha256: String
    /// `raw` or `zlib`: the form of the blob that was asked for or sent.
    public var encoding: String
    /// Bytes sent.
    public var bytes: Int
    /// The HTTP status of the answer.
    public var status: Int
    public var at: String

    public init(sha256: String, encoding: String, bytes: Int, status: Int, at: String) {
        self.sha256 = sha256
        self.encoding = encoding
        self.bytes = bytes
        self.status = status
        self.at = at
    }
}

/// A device's blob requests, newest first.
public struct DownloadListResponse: Codable, Sendable, Equatable {
    public var downloads: [DownloadView]

    public init(downloads: [DownloadView]) {
        self.downloads = downloads
    }
}

/// A device's new token, shown this once; the old one stops working.
public struct DeviceTokenResponse: Codable, Sendable, Equatable {
    public var id: String
    public var token: String

    public init(id: String, token: String) {
        self.id = id
        self.token = token
    }
}

/// `GET /healthz`.
public struct HealthResponse: Codable, Sendable, Equatable {
    public var status: String

    public init(status: String = "ok") {
        self.status = status
    }
}

// MARK: Schemas

extension MissingBlobsRequest: WireSchema {
    public static var schema: JSONSchema {
        .object(required: ["sha256": JSONSchema.array(of: .sha256, maxItems: maxHashes)])
    }
}

extension MissingBlobsResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(required: ["missing": JSONSchema.array(of: .sha256, maxItems: MissingBlobsRequest.maxHashes)])
    }
}

extension StoredBlobResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "sha256": .sha256,
            "size": JSONSchema.integer(minimum: 0, maximum: ReleaseManifest.maxFileSize),
            "zlibSize": JSONSchema.integer(minimum: 0).orNull.described("Null when the server keeps no zlib form (it would not be smaller)."),
        ])
    }
}

extension ReleasePublication: WireSchema {
    public static var schema: JSONSchema {
        .object(
            required: [
                "manifest": JSONSchema.string(minLength: 1, maxLength: ReleaseManifest.maxEncodedBytes).annotated("contentMediaType", "application/json")
                    .described("The canonical format-2 manifest JSON, as a string (docs/protocol.md, \"Release manifest (format 2)\")."),
                "signatures": JSONSchema.array(of: .ref(ReleaseSignature.self), minItems: 1, maxItems: SignedRelease.maxSignatures),
            ],
            optional: [
                "legacy": JSONSchema.ref(SignedRelease.self).orNull
                    .described("The signed format-1 manifest of the same release, for agents before 0.3.0."),
                "held": JSONSchema.boolean.orNull.described("Offer it to no device until a rollout starts it (`aloft release publish --held`)."),
                "firmwareWithoutRollback": JSONSchema.boolean.orNull
                    .described("Its firmware may go to boards whose bootloader does not roll back a failed firmware; null is false."),
            ]
        )
    }
}

extension PublishedReleaseResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "version": .semanticVersion, "sequence": .sequence, "channel": .channel,
            "legacy": JSONSchema.boolean.described("Whether agents before 0.3.0 are offered the release."),
            "held": JSONSchema.boolean.described("Published held: no device is offered it until a rollout starts it."),
            "alreadyPublished": JSONSchema.boolean.described("This version was published with these very files before; nothing changed."),
        ], optional: [
            "shortOfFlash": JSONSchema.ref(FlashShortfallView.self).described("The channel's devices that reported less free flash than updating to it needs."),
        ])
    }
}

extension FlashShortfallView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "count": JSONSchema.integer(minimum: 0).described("How many devices are short of flash for it."),
            "devices": JSONSchema.array(
                of: .object(required: [
                    "id": .deviceID, "need": JSONSchema.integer(minimum: 0).described("Free flash bytes the update needs at check-in."),
                    "free": JSONSchema.integer(minimum: 0).described("Free flash bytes at its last check-in."),
                ]), maxItems: maxListed).described("The first \(maxListed) of them by id."),
        ])
    }
}

extension FirmwareImage: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "build": JSONSchema.string(pattern: "^[A-Za-z0-9_-]{1,\(maxBuildCharacters)}$", minLength: 1, maxLength: maxBuildCharacters)
                .described("The firmware build it is for, `sys.implementation._build`."),
            "chip": JSONSchema.string(oneOf: chips),
            "micropython": JSONSchema.string(pattern: "^[0-9]{1,6}[.][0-9]{1,6}[.][0-9]{1,6}$", minLength: 5, maxLength: 20)
                .described("The MicroPython version the image runs."),
            "mpy": JSONSchema.integer(minimum: 1, maximum: 255).described("The `.mpy` major version the firmware loads."),
            "sha256": JSONSchema.sha256.described("SHA-256 of the image: its blob."), "size": JSONSchema.integer(minimum: minSize, maximum: maxSize),
        ])
        .described("A firmware image of a release (docs/firmware.md, \"Manifest\").")
    }
}

extension ReleaseSummary: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "version": .semanticVersion, "sequence": .sequence, "channel": .channel, "created": .timestamp,
            "files": JSONSchema.integer(minimum: 1, maximum: ReleaseManifest.maxFiles), "size": .count, "publishedAt": .timestamp,
            "legacy": JSONSchema.boolean.described("Whether agents before 0.3.0 are offered the release."),
            "held": JSONSchema.boolean.described("Published held: no device is offered it until a rollout starts it."),
            "firmware": JSONSchema.array(of: .ref(FirmwareImage.self), maxItems: FirmwareImage.maxImages)
                .described("Its firmware images, sorted by build; empty for a release without firmware."),
        ])
    }
}

extension ReleaseListResponse: WireSchema {
    public static var schema: JSONSchema { .object(required: ["releases": JSONSchema.array(of: .ref(ReleaseSummary.self))]) }
}

extension ChannelResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "channel": .channel,
            "latest": JSONSchema.object(required: ["version": .semanticVersion, "sequence": .sequence]).orNull
                .described("The newest release of the channel; null when nothing was published on it."),
            "next": JSONSchema.sequence.described(
                "The sequence a release published now takes: above the newest release and above every sequence a device of the channel "
                    + "reported running or having rolled back from (after a restore from an older backup, devices may be ahead of the releases)."),
        ])
    }
}

extension CreateDeviceRequest: WireSchema {
    public static var schema: JSONSchema {
        .object(
            required: ["id": .deviceID.described("409 when a device has it."), "channel": .channel],
            optional: ["tags": JSONSchema.array(of: .tag, maxItems: Identifiers.maxTags).orNull])
    }
}

extension EventView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "type": JSONSchema.string(oneOf: EventRequest.types), "version": JSONSchema.semanticVersion.orNull,
            "sequence": JSONSchema.sequence.orNull, "reason": JSONSchema.string(maxLength: EventRequest.maxReasonCharacters).orNull,
            "step": JSONSchema.string(oneOf: [UpdateStep.firmware.rawValue]).orNull
                .described("`firmware` for an event of the release's firmware step; null for its files."),
            "at": .timestamp,
        ])
    }
}

extension FirmwareView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "build": JSONSchema.string(pattern: "^[A-Za-z0-9_-]{1,\(CheckInRequest.maxBuildBytes)}$", minLength: 1, maxLength: CheckInRequest.maxBuildBytes)
                .orNull.described("The firmware build, `sys.implementation._build`."),
            "chip": JSONSchema.string(oneOf: FirmwareImage.chips).orNull,
            "micropython": JSONSchema.printableText(maxBytes: CheckInRequest.maxMicroPythonBytes).orNull.described("The MicroPython version it runs."),
            "ota": JSONSchema.boolean.orNull.described("Whether the board can take a firmware update (an OTA partition table)."),
            "slot": JSONSchema.integer(minimum: 0, maximum: Int.max).orNull.described("Bytes of the slot a new firmware would go to."),
            "running": JSONSchema.string(
                pattern: "^[A-Za-z0-9_]{1,\(CheckInRequest.maxSlotLabelBytes)}$", minLength: 1, maxLength: CheckInRequest.maxSlotLabelBytes
            ).orNull.described("The running slot's label."),
            "state": JSONSchema.string(oneOf: CheckInRequest.firmwareStates).orNull.described("`valid`, or `trial` while a new firmware is on trial."),
            "rollback": JSONSchema.boolean.orNull.described("Whether its bootloader rolls back a failed firmware; null until the device learned it."),
            "sha256": JSONSchema.sha256.orNull.described("SHA-256 of the running image."),
            "rejected": JSONSchema.sha256.orNull.described("SHA-256 of the last image it rolled back."),
        ])
    }
}

extension DeviceView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "id": .deviceID, "channel": .channel,
            "board": JSONSchema.printableText(maxBytes: CheckInRequest.maxBoardBytes).orNull,
            "micropython": JSONSchema.printableText(maxBytes: CheckInRequest.maxMicroPythonBytes).orNull,
            "agent": JSONSchema.string(maxLength: CheckInRequest.maxAgentCharacters).orNull,
            "version": JSONSchema.semanticVersion.orNull, "sequence": .installedSequence,
            "lastSeen": JSONSchema.timestamp.orNull.described("The last check-in; null before the first."),
            "lastEvent": JSONSchema.ref(EventView.self).orNull,
            "revoked": JSONSchema.boolean.described("True while the device's token is revoked."),
            "enrollment": JSONSchema.name.orNull.described("The enrollment the device registered itself with; null when the admin registered it."),
            "tags": JSONSchema.array(of: .tag, maxItems: Identifiers.maxTags),
            "pin": JSONSchema.semanticVersion.orNull.described("The version the device is pinned to; null when it is not."),
            "decision": JSONSchema.ref(DecisionView.self).orNull.described("What its next check-in would be offered, and why."),
            "firmware": JSONSchema.ref(FirmwareView.self).orNull
                .described("The firmware it runs, as its last check-in said; null for agents before 0.4.0, which say nothing of it."),
            "free": JSONSchema.integer(minimum: 0, maximum: Int.max).orNull.described("Free flash bytes, as its last check-in said; null when it did not say."),
        ])
    }
}

extension DeviceListResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(
            required: [
                "devices": JSONSchema.array(of: .ref(DeviceView.self), maxItems: maxPage),
                "total": JSONSchema.count.described("Devices matching the filters, in all pages."),
            ],
            optional: ["next": JSONSchema.deviceID.described("Pass as `after` for the next page; absent on the last page.")])
    }
}

extension EventListResponse: WireSchema {
    public static var schema: JSONSchema { .object(required: ["events": JSONSchema.array(of: .ref(EventView.self))]) }
}

extension DownloadView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "sha256": .sha256, "encoding": JSONSchema.string(oneOf: encodings), "bytes": .count,
            "status": JSONSchema.integer(minimum: 100, maximum: 599), "at": .timestamp,
        ])
    }
}

extension DownloadListResponse: WireSchema {
    public static var schema: JSONSchema { .object(required: ["downloads": JSONSchema.array(of: .ref(DownloadView.self))]) }
}

extension DeviceTokenResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(required: ["id": .deviceID, "token": .secret(prefix: SecretFormat.devicePrefix).described("The new device token, shown once.")])
    }
}

extension HealthResponse: WireSchema {
    public static var schema: JSONSchema { .object(required: ["status": JSONSchema.string(oneOf: ["ok"])]) }
}
