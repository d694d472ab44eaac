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

    public init(version: String, sequence: Int, channel: String, legacy: Bool, held: Bool = false, alreadyPublished: Bool = false) {
        self.version = version
        self.sequence = sequence
        self.channel = channel
        self.legacy = legacy
        self.held = held
        self.alreadyPublished = alreadyPublished
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

    public init(
        version: String, sequence: Int, channel: String, created: String, files: Int, size: Int, publishedAt: String, legacy: Bool, held: Bool = false
    ) {
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

    public init(channel: String, latest: Latest?) {
        self.channel = channel
        self.latest = latest
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(channel, forKey: .channel)
        try c.encode(latest, forKey: .latest)
    }

    enum CodingKeys: String, CodingKey { case channel, latest }
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
    public var at: String

    public init(type: String, version: String?, sequence: Int?, reason: String?, at: String) {
        self.type = type
        self.version = version
        self.sequence = sequence
        self.reason = reason
        self.at = at
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(version, forKey: .version)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(reason, forKey: .reason)
        try c.encode(at, forKey: .at)
    }

    enum CodingKeys: String, CodingKey { case type, version, sequence, reason, at }
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

    public init(
        id: String, channel: String, board: String?, micropython: String?, agent: String?, version: String?, sequence: Int, lastSeen: String?,
        lastEvent: EventView?, revoked: Bool, enrollment: String?, tags: [String] = [], pin: String? = nil, decision: DecisionView? = nil
    ) {
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
            pin: try c.decodeIfPresent(String.self, forKey: .pin), decision: try c.decodeIfPresent(DecisionView.self, forKey: .decision))
    }

    enum CodingKeys: String, CodingKey {
        case id, channel, board, micropython, agent, version, sequence, lastSeen, lastEvent, revoked, enrollment, tags, pin, decision
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
        ])
    }
}

extension ReleaseSummary: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "version": .semanticVersion, "sequence": .sequence, "channel": .channel, "created": .timestamp,
            "files": JSONSchema.integer(minimum: 1, maximum: ReleaseManifest.maxFiles), "size": .count, "publishedAt": .timestamp,
            "legacy": JSONSchema.boolean.described("Whether agents before 0.3.0 are offered the release."),
            "held": JSONSchema.boolean.described("Published held: no device is offered it until a rollout starts it."),
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
            "at": .timestamp,
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
