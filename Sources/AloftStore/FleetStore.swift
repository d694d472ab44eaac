import AloftCore
import Foundation

/// Everything the server keeps that is not a blob: devices, releases, device events and blob downloads.
///
/// Implementations must be safe to share between concurrent requests. Values cross this boundary as
/// plain `Sendable` structs, never as database models.
public protocol FleetStore: Sendable {
    // MARK: Devices

    /// Registers a device. Throws ``StoreError/deviceExists(_:)`` when the id is taken.
    func createDevice(_ device: NewDevice) async throws -> DeviceRecord
    func device(id: String) async throws -> DeviceRecord?
    /// The device whose token hashes to `tokenHash` (64 lowercase hex), unless that device is revoked.
    func device(tokenHash: String) async throws -> DeviceRecord?
    /// Marks the device revoked: its token stops working. Throws ``StoreError/deviceNotFound(_:)``.
    func revokeDevice(id: String) async throws
    /// Gives the device a new token (the old one stops working) and lifts a revocation. Throws ``StoreError/deviceNotFound(_:)``.
    func replaceDeviceToken(id: String, tokenHash: String) async throws
    /// All devices, sorted by id.
    func devices() async throws -> [DeviceRecord]
    /// How many devices (revoked ones left out) there are per channel, installed version and last event type.
    func deviceCensus() async throws -> [DeviceCensusRow]
    /// The devices of one channel, sorted by id.
    func devices(channel: String) async throws -> [DeviceRecord]
    /// One page of the devices that match `query`, sorted by id, and how many match in all: for a console listing that
    /// stays small and fast however large the fleet is.
    func devicePage(_ query: DeviceQuery) async throws -> DevicePage
    /// Adds and removes tags (removal last), keeping them sorted and unique. Throws ``StoreError/deviceNotFound(_:)``.
    func updateDeviceTags(id: String, add: [String], remove: [String]) async throws -> DeviceRecord
    /// Pins the device to a version of its channel, or unpins it with nil. Throws ``StoreError/deviceNotFound(_:)``.
    func setDevicePin(id: String, version: String?) async throws -> DeviceRecord
    /// Stores what a device said at check-in and when; does nothing for an unknown device. The write may come a moment
    /// later, with other check-ins (in one transaction), but every read of devices through this store sees it, and
    /// ``shutdown()`` writes what is pending. A check-in older than the device's `lastSeen` is not written.
    func recordCheckIn(_ checkIn: DeviceCheckIn) async throws
    /// Appends an event and makes it the device's last one. The installed release is what check-ins say, never an
    /// event: a queued `installed` can arrive after the device rolled that release back.
    ///
    /// In the same transaction, a `failed` event of a release adds to the device's ``ReleaseFailure`` memory of it (one
    /// attempt more, the kind of its reason, and the free flash the device's last check-in reported), and an `installed`
    /// or `confirmed` one clears that release's memory.
    func recordEvent(_ event: DeviceEvent) async throws
    /// What the store remembers of each device's failures, by device id, each device's by sequence; devices without any
    /// are left out.
    func failures(deviceIDs: [String]) async throws -> [String: [ReleaseFailure]]
    /// Forgets the device's failures with release `sequence`, or with every release when nil, and returns what it forgot.
    func clearFailures(deviceID: String, sequence: Int?) async throws -> [ReleaseFailure]
    /// The device's events, newest first.
    func events(deviceID: String, limit: Int?) async throws -> [DeviceEvent]
    func recordDownload(_ download: BlobDownload) async throws
    /// The device's blob requests, newest first.
    func downloads(deviceID: String, limit: Int?) async throws -> [BlobDownload]
    /// Removes the events and blob requests recorded before `cutoff`, in one transaction; each device keeps its last
    /// event on its own record. Returns how many of each went.
    func pruneHistory(before cutoff: Date) async throws -> HistoryPruned

    // MARK: Releases

    /// Stores a release when its sequence is above the channel's latest and above what its devices reported
    /// (``ChannelSequence``), and the channel has no release of its version, atomically with those checks. Throws
    /// ``StoreError/sequenceNotIncreasing(channel:sequence:latest:)``, ``StoreError/sequenceNotAboveDevices(channel:sequence:reported:)``
    /// or ``StoreError/versionExists(channel:version:sequence:)`` otherwise.
    func publish(_ release: NewRelease) async throws -> ReleaseRecord
    /// Releases of one channel, or of all channels when `channel` is nil, newest first; the newest `limit` when given.
    func releases(channel: String?, limit: Int?) async throws -> [ReleaseRecord]
    /// How many releases there are, in every channel.
    func releaseCount() async throws -> Int
    /// The channel's release with the highest sequence.
    func latestRelease(channel: String) async throws -> ReleaseRecord?
    /// The highest sequence a device of the channel reported running or having rolled back from (check-ins written first);
    /// nil when the channel has no device. Above the newest release only after a restore from an older backup.
    func highestReportedSequence(channel: String) async throws -> Int?
    /// The sequences of the channel's releases above `sequence`, highest first; cheap, for check-in.
    func releaseSequences(channel: String, above sequence: Int) async throws -> [Int]
    func release(channel: String, sequence: Int) async throws -> ReleaseRecord?
    /// The channel's release of this version; versions are unique per channel.
    func release(channel: String, version: String) async throws -> ReleaseRecord?
    /// The `failed` and `rolled_back` events of a release (by its sequence) from devices of its channel, grouped by type,
    /// step and reason, most frequent first; as long as the history keeps them.
    func releaseFailures(channel: String, sequence: Int) async throws -> [ReleaseFailureRow]

    // MARK: Rollouts

    /// Stores a new running rollout in its first phase; the store picks its id.
    func createRollout(_ rollout: NewRollout) async throws -> Rollout
    /// Rollouts of one channel, or of all when nil, newest first.
    func rollouts(channel: String?) async throws -> [Rollout]
    func rollout(id: Int) async throws -> Rollout?
    /// Stores a rollout's state: status, phase, phase start, settled time, halt reason. Throws ``StoreError/rolloutNotFound(_:)``.
    func updateRollout(_ rollout: Rollout) async throws
    /// Notes that the rollout offered its release to the device (once: a later offer keeps the first).
    func recordOffer(rollout: Int, deviceID: String, at: Date) async throws
    /// What each device the rollout offered its release to has done with it since, by device id. ``recordEvent(_:)``
    /// keeps this up to date from the events about the rollout's release.
    func rolloutOutcomes(rollout: Int) async throws -> [String: RolloutOutcome]

    // MARK: Admin tokens and enrollments

    /// Stores a named admin token by its SHA-256. Throws ``StoreError/adminTokenExists(_:)`` when the name is taken.
    func createAdminToken(name: String, tokenHash: String) async throws -> AdminTokenRecord
    /// All admin tokens, revoked ones included, sorted by name.
    func adminTokens() async throws -> [AdminTokenRecord]
    /// The admin token whose SHA-256 is `tokenHash`, unless it is revoked.
    func adminToken(tokenHash: String) async throws -> AdminTokenRecord?
    /// Revokes the named token (again is fine). Throws ``StoreError/adminTokenNotFound(_:)``.
    func revokeAdminToken(name: String) async throws

    /// Stores a named enrollment secret by its SHA-256. Throws ``StoreError/enrollmentExists(_:)`` when the name is taken.
    func createEnrollment(name: String, channel: String, secretHash: String, tags: [String]) async throws -> EnrollmentRecord
    /// All enrollments, revoked ones included, sorted by name.
    func enrollments() async throws -> [EnrollmentRecord]
    /// The enrollment whose secret hashes to `secretHash`, unless it is revoked.
    func enrollment(secretHash: String) async throws -> EnrollmentRecord?
    /// Revokes the named enrollment (again is fine); devices it enrolled keep their tokens. Throws ``StoreError/enrollmentNotFound(_:)``.
    func revokeEnrollment(name: String) async throws

    // MARK: What servers cache

    /// A number that grows whenever something a server caches changes, through any store on the same database: a
    /// device's token, revocation, tags or pin, or a published release. A server polls it to drop its caches.
    func changeGeneration() async throws -> Int
    /// How many such changes this store made: a cache checks it on every use, so this server's own changes show at once.
    var localChangeCount: Int { get }

    // MARK: Blobs shared by servers

    /// Whether servers on this database share blobs through it (PostgreSQL): each server's blob folder is then a
    /// cache of what the database holds.
    var sharesBlobs: Bool { get }
    /// Keeps one form (`raw` or `zlib`) of a blob; nothing happens when it is there already. The caller checked the hash.
    func storeBlob(_ sha256: String, form: String, bytes: [UInt8]) async throws
    /// One form of a blob, or nil when the database has none.
    func blobBytes(_ sha256: String, form: String) async throws -> [UInt8]?

    /// Writes what is pending and closes connections. The store must not be used afterwards.
    func shutdown() async
}

/// What the store refuses, in terms the API maps to status codes.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case deviceExists(String)
    case deviceNotFound(String)
    case sequenceNotIncreasing(channel: String, sequence: Int, latest: Int)
    /// A device of the channel runs (or rolled back from) `reported`: it would refuse this release as a replay.
    case sequenceNotAboveDevices(channel: String, sequence: Int, reported: Int)
    case adminTokenExists(String)
    case adminTokenNotFound(String)
    case enrollmentExists(String)
    case enrollmentNotFound(String)
    case rolloutNotFound(Int)
    case versionExists(channel: String, version: String, sequence: Int)

    public var description: String {
        switch self {
        case .deviceExists(let id): "a device with id '\(id)' already exists"
        case .deviceNotFound(let id): "no device '\(id)'"
        case .adminTokenExists(let name): "an admin token named '\(name)' already exists"
        case .adminTokenNotFound(let name): "no admin token named '\(name)'"
        case .enrollmentExists(let name): "an enrollment named '\(name)' already exists"
        case .enrollmentNotFound(let name): "no enrollment named '\(name)'"
        case .rolloutNotFound(let id): "no rollout \(id)"
        case .versionExists(let channel, let version, let sequence):
            "channel '\(channel)' has version \(version) already (sequence \(sequence)); publish under a new version"
        case .sequenceNotIncreasing(let channel, let sequence, let latest):
            "sequence \(sequence) is not above the latest sequence \(latest) of channel '\(channel)'"
        case .sequenceNotAboveDevices(let channel, let sequence, let reported):
            "sequence \(sequence) is not above \(reported), which a device of channel '\(channel)' reported (a release this database "
                + "does not have, e.g. after a restore from an older backup); publish without --sequence or above \(reported)"
        }
    }
}

/// A device to register; the token itself never reaches the store, only its SHA-256.
public struct NewDevice: Sendable, Equatable {
    public var id: String
    public var channel: String
    public var tokenHash: String
    /// The enrollment the device registered itself with; nil when an admin registered it.
    public var enrollment: String?
    public var tags: [String]

    public init(id: String, channel: String, tokenHash: String, enrollment: String? = nil, tags: [String] = []) {
        self.id = id
        self.channel = channel
        self.tokenHash = tokenHash
        self.enrollment = enrollment
        self.tags = tags
    }
}

/// A registered device and what it last reported.
public struct DeviceRecord: Sendable, Equatable {
    public var id: String
    public var channel: String
    public var tokenHash: String
    public var board: String?
    public var micropython: String?
    /// The version of the Aloft agent the device runs, as it last reported; nil when it did not say.
    public var agent: String?
    public var mpy: Int?
    public var free: Int?
    /// Installed release; nil and 0 before the first install.
    public var version: String?
    public var sequence: Int
    public var lastSeen: Date?
    public var lastEvent: DeviceEvent?
    public var createdAt: Date
    /// Set while the device's token is revoked.
    public var revokedAt: Date?
    /// The enrollment the device registered itself with.
    public var enrollment: String?
    /// Sorted, unique.
    public var tags: [String]
    /// The version the device is pinned to.
    public var pin: String?
    /// What the last check-in said: the highest sequence the device rolled back from, and the manifest format it reads.
    public var rejected: Int?
    public var format: Int?
    /// What the last check-in said of the firmware it runs; empty from agents before 0.4.0.
    public var firmware: FirmwareReport

    public init(
        id: String, channel: String, tokenHash: String, board: String? = nil, micropython: String? = nil, agent: String? = nil,
        mpy: Int? = nil, free: Int? = nil, version: String? = nil, sequence: Int = 0, lastSeen: Date? = nil, lastEvent: DeviceEvent? = nil,
        createdAt: Date, revokedAt: Date? = nil, enrollment: String? = nil, tags: [String] = [], pin: String? = nil, rejected: Int? = nil,
        format: Int? = nil, firmware: FirmwareReport = FirmwareReport()
    ) {
        self.firmware = firmware
        self.tags = tags
        self.pin = pin
        self.rejected = rejected
        self.format = format
        self.id = id
        self.channel = channel
        self.tokenHash = tokenHash
        self.board = board
        self.micropython = micropython
        self.agent = agent
        self.mpy = mpy
        self.free = free
        self.version = version
        self.sequence = sequence
        self.lastSeen = lastSeen
        self.lastEvent = lastEvent
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.enrollment = enrollment
    }
}

/// What a device reports at check-in.
public struct DeviceCheckIn: Sendable, Equatable {
    public var deviceID: String
    public var version: String?
    public var sequence: Int
    public var board: String?
    public var micropython: String?
    /// The agent's version; nil when the device did not say (older agents do not).
    public var agent: String?
    public var mpy: Int?
    public var free: Int?
    public var rejected: Int?
    /// The manifest format the agent reads; nil when it did not say (format 1).
    public var format: Int?
    /// The firmware it runs, as it said; empty from agents before 0.4.0.
    public var firmware: FirmwareReport
    public var at: Date

    public init(
        deviceID: String, version: String?, sequence: Int, board: String?, micropython: String?, agent: String?, mpy: Int?, free: Int?,
        rejected: Int? = nil, format: Int? = nil, firmware: FirmwareReport = FirmwareReport(), at: Date
    ) {
        self.firmware = firmware
        self.rejected = rejected
        self.format = format
        self.deviceID = deviceID
        self.version = version
        self.sequence = sequence
        self.board = board
        self.micropython = micropython
        self.agent = agent
        self.mpy = mpy
        self.free = free
        self.at = at
    }
}

/// Something a device reports about a release: `downloading`, `installed`, `failed`, ….
public struct DeviceEvent: Sendable, Equatable {
    public static let installed = "installed"

    public var deviceID: String
    public var type: String
    public var version: String?
    public var sequence: Int?
    public var reason: String?
    /// `firmware` for an event of the release's firmware step; nil for its files.
    public var step: String?
    public var at: Date

    public init(deviceID: String, type: String, version: String?, sequence: Int?, reason: String?, step: String? = nil, at: Date) {
        self.deviceID = deviceID
        self.type = type
        self.version = version
        self.sequence = sequence
        self.reason = reason
        self.step = step
        self.at = at
    }
}

/// One blob request and how it was answered.
public struct BlobDownload: Sendable, Equatable {
    /// Nil when the request used the admin token.
    public var deviceID: String?
    public var sha256: String
    /// `raw` or `zlib`.
    public var encoding: String
    /// Body bytes actually sent.
    public var bytes: Int
    /// HTTP status code of the answer.
    public var status: Int
    public var at: Date

    public init(deviceID: String?, sha256: String, encoding: String, bytes: Int, status: Int, at: Date) {
        self.deviceID = deviceID
        self.sha256 = sha256
        self.encoding = encoding
        self.bytes = bytes
        self.status = status
        self.at = at
    }
}

/// A release to publish: the envelope exactly as devices will receive it, plus facts taken from its manifest.
/// What the store gives back is the same thing, field for field: ``ReleaseRecord``.
public typealias NewRelease = ReleaseRecord

/// A published release: its signed envelopes and the facts listings need without parsing them.
public struct ReleaseRecord: Sendable, Equatable {
    public var channel: String
    public var sequence: Int
    public var version: String
    public var created: String
    /// The signed format-2 envelope as JSON text (`{"manifest":…,"signatures":[…]}`); nil for a release published before
    /// format 2, which has only its legacy envelope.
    public var envelope: String?
    /// The signed format-1 envelope of the same release, for agents before 0.3.0; nil when the release has none.
    public var legacyEnvelope: String?
    public var fileCount: Int
    public var totalSize: Int
    public var publishedAt: Date
    /// Published `--held`: offered to no device until a rollout starts it.
    public var held: Bool
    /// The manifest's firmware images, sorted by build; empty for a release without firmware.
    public var firmware: [FirmwareImage]
    /// Published `--firmware-without-rollback`: its firmware may go to boards whose bootloader does not roll back.
    public var firmwareWithoutRollback: Bool

    public init(
        channel: String, sequence: Int, version: String, created: String, envelope: String?, legacyEnvelope: String? = nil, fileCount: Int,
        totalSize: Int, publishedAt: Date, held: Bool = false, firmware: [FirmwareImage] = [], firmwareWithoutRollback: Bool = false
    ) {
        self.firmware = firmware
        self.firmwareWithoutRollback = firmwareWithoutRollback
        self.held = held
        self.channel = channel
        self.sequence = sequence
        self.version = version
        self.created = created
        self.envelope = envelope
        self.legacyEnvelope = legacyEnvelope
        self.fileCount = fileCount
        self.totalSize = totalSize
        self.publishedAt = publishedAt
    }

    /// Takes channel, sequence, version, created, file count, size and firmware from a parsed manifest.
    public init(
        manifest: ReleaseManifest, envelope: String, legacyEnvelope: String?, publishedAt: Date, held: Bool = false, firmwareWithoutRollback: Bool = false
    ) {
        self.init(
            channel: manifest.channel, sequence: manifest.sequence, version: manifest.version.description, created: manifest.created,
            envelope: envelope, legacyEnvelope: legacyEnvelope, fileCount: manifest.files.count, totalSize: manifest.totalSize,
            publishedAt: publishedAt, held: held, firmware: manifest.firmware ?? [], firmwareWithoutRollback: firmwareWithoutRollback
        )
    }
}

/// A named admin token; the token itself is never stored, only its SHA-256.
public struct AdminTokenRecord: Sendable, Equatable {
    public var name: String
    public var tokenHash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(name: String, tokenHash: String, createdAt: Date, revokedAt: Date? = nil) {
        self.name = name
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// A fleet enrollment: a secret baked into a generic image with which devices register themselves on `channel`.
public struct EnrollmentRecord: Sendable, Equatable {
    public var name: String
    public var channel: String
    public var secretHash: String
    public var createdAt: Date
    public var revokedAt: Date?
    /// Tags every device it enrolls gets.
    public var tags: [String]

    public init(name: String, channel: String, secretHash: String, createdAt: Date, revokedAt: Date? = nil, tags: [String] = []) {
        self.tags = tags
        self.name = name
        self.channel = channel
        self.secretHash = secretHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// What ``FleetStore/pruneHistory(before:)`` removed.
public struct HistoryPruned: Sendable, Equatable {
    public var events: Int
    public var downloads: Int

    public init(events: Int, downloads: Int) {
        self.events = events
        self.downloads = downloads
    }
}

/// Which devices ``FleetStore/devicePage(_:)`` lists; every filter given must hold.
public struct DeviceQuery: Sendable, Equatable {
    /// Part of the id, any case.
    public var search: String?
    public var channel: String?
    /// The installed version; the empty string for devices with nothing installed.
    public var version: String?
    /// A tag the device has (exact case).
    public var tag: String?
    /// The type of the device's last event (`confirmed`, `failed`, …); the empty string for devices that reported none.
    public var state: String?
    /// Only devices whose id sorts after this one (a cursor: the last id of the page before); `total` still counts them all.
    public var after: String?
    /// Devices skipped, in id order.
    public var offset: Int
    public var limit: Int

    public init(
        search: String? = nil, channel: String? = nil, version: String? = nil, tag: String? = nil, state: String? = nil, after: String? = nil,
        offset: Int = 0, limit: Int = 50
    ) {
        self.search = search
        self.channel = channel
        self.version = version
        self.tag = tag
        self.state = state
        self.after = after
        self.offset = offset
        self.limit = limit
    }
}

/// One page of a device listing.
public struct DevicePage: Sendable, Equatable {
    public var devices: [DeviceRecord]
    /// Devices matching the query in all pages.
    public var total: Int

    public init(devices: [DeviceRecord], total: Int) {
        self.devices = devices
        self.total = total
    }
}

/// One group of ``FleetStore/releaseFailures(channel:sequence:)``.
public struct ReleaseFailureRow: Sendable, Hashable {
    /// `failed` or `rolled_back`.
    public var type: String
    /// `firmware` for the firmware step; nil for the files.
    public var step: String?
    public var reason: String?
    /// Events in the group.
    public var count: Int
    /// Devices that reported them.
    public var devices: Int

    public init(type: String, step: String?, reason: String?, count: Int, devices: Int) {
        self.type = type
        self.step = step
        self.reason = reason
        self.count = count
        self.devices = devices
    }
}

/// One group of ``FleetStore/deviceCensus()``.
public struct DeviceCensusRow: Sendable, Hashable {
    public var channel: String
    /// The installed release's version; nil when nothing is installed.
    public var version: String?
    /// The last event the devices reported (`confirmed`, `failed`, …); nil when none yet.
    public var state: String?
    public var count: Int

    public init(channel: String, version: String?, state: String?, count: Int) {
        self.channel = channel
        self.version = version
        self.state = state
        self.count = count
    }
}

/// A rollout to start: what ``FleetStore/createRollout(_:)`` stores as running, in its first phase from `createdAt`.
public struct NewRollout: Sendable, Equatable {
    public var channel: String
    public var sequence: Int
    public var version: String
    public var policy: RolloutPolicy
    public var createdAt: Date

    public init(channel: String, sequence: Int, version: String, policy: RolloutPolicy, createdAt: Date) {
        self.channel = channel
        self.sequence = sequence
        self.version = version
        self.policy = policy
        self.createdAt = createdAt
    }
}

extension FleetStore {
    /// What the store remembers of one device's failures, by sequence.
    public func failures(deviceID: String) async throws -> [ReleaseFailure] {
        try await failures(deviceIDs: [deviceID])[deviceID] ?? []
    }

    /// Every release of one channel, or of all channels when `channel` is nil, newest first.
    public func releases(channel: String?) async throws -> [ReleaseRecord] {
        try await releases(channel: channel, limit: nil)
    }

    /// An enrollment whose devices get no tags of its own.
    public func createEnrollment(name: String, channel: String, secretHash: String) async throws -> EnrollmentRecord {
        try await createEnrollment(name: name, channel: channel, secretHash: secretHash, tags: [])
    }
}
