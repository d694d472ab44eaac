import Foundation

/// What the server knows about a device when it picks the release to offer.
public struct DeviceFacts: Sendable, Equatable {
    public var id: String
    public var tags: [String]
    /// The version the operator pinned the device to; it is offered that release and no other.
    public var pin: String?
    public var sequence: Int
    public var board: String?
    public var micropython: String?
    /// The highest sequence the device rolled back from: nothing at or below it is offered again.
    public var rejected: Int?
    /// The manifest format the device's agent reads: 1 before agent 0.3.0 (which do not say), 2 since.
    public var format: Int
    /// `sys.implementation._mpy` as reported (its low byte is the `.mpy` major version); nil when not reported.
    public var mpy: Int?
    /// The agent's own version, as reported.
    public var agent: String?
    /// What it runs below the files; nil for agents before 0.4.0, which cannot update firmware.
    public var firmware: DeviceFirmware?
    /// Free flash bytes, as reported at its last check-in.
    public var free: Int?
    /// The free flash it needs to take each release, by sequence (``FlashNeed/atCheckIn(from:to:agentOnBoard:)`` from the
    /// release it runs), where the server could work it out.
    public var flashNeeds: [Int: Int]
    /// What the server remembers of its failures, one per release it failed (``ReleaseFailure``).
    public var failures: [ReleaseFailure]

    public init(
        id: String = "", tags: [String] = [], pin: String? = nil, sequence: Int, board: String?, micropython: String?, rejected: Int? = nil,
        format: Int = ReleaseManifest.legacyFormat, mpy: Int? = nil, agent: String? = nil, firmware: DeviceFirmware? = nil, free: Int? = nil,
        flashNeeds: [Int: Int] = [:], failures: [ReleaseFailure] = []
    ) {
        self.failures = failures
        self.id = id
        self.tags = tags
        self.pin = pin
        self.sequence = sequence
        self.board = board
        self.micropython = micropython
        self.rejected = rejected
        self.format = format
        self.mpy = mpy
        self.agent = agent
        self.firmware = firmware
        self.free = free
        self.flashNeeds = flashNeeds
    }
}

/// A published release as the selection rule sees it: what decides whether a device can take it.
public struct ReleaseCandidate: Sendable, Equatable {
    public var sequence: Int
    public var version: String
    /// Published with `--held`: no device is offered it until a rollout starts it.
    public var held: Bool
    public var compat: Compatibility
    public var expires: String?
    /// The manifest formats the release is published in: 2, and 1 when it has a legacy envelope
    /// (a release published before format 2 existed has only 1).
    public var formats: Set<Int>
    /// Its firmware images (format 2), one per build.
    public var firmware: [FirmwareImage]
    /// Published with `--firmware-without-rollback`: its firmware may go to boards whose bootloader does not roll back.
    public var firmwareWithoutRollback: Bool

    public init(
        sequence: Int, version: String = "", held: Bool = false, compat: Compatibility, expires: String?, formats: Set<Int>,
        firmware: [FirmwareImage] = [], firmwareWithoutRollback: Bool = false
    ) {
        self.sequence = sequence
        self.version = version
        self.held = held
        self.compat = compat
        self.expires = expires
        self.formats = formats
        self.firmware = firmware
        self.firmwareWithoutRollback = firmwareWithoutRollback
    }

    /// Whether `device` can take this release at `now`: compatible (``UpdateOrder/plan(for:release:)``), not expired, and
    /// in the format the device reads.
    public func isTakeable(by device: DeviceFacts, now: Date?) -> Bool {
        if case .success = fit(for: device, now: now) { return true }
        return false
    }

    /// How `device` takes this release at `now`, or why it cannot: the format it reads, expiry, its free flash, then
    /// compatibility and the order of its two layers.
    public func fit(for device: DeviceFacts, now: Date?) -> Result<UpdatePlan, Unfit> {
        guard formats.contains(device.format) else {
            return .failure(Unfit(device.format == ReleaseManifest.legacyFormat ? "its agent (before 0.3.0) reads format 1, which this release is not signed in" : "not signed in manifest format \(device.format)"))
        }
        if ReleaseManifest.isExpired(expires, at: now) { return .failure(Unfit("it has expired")) }
        if let free = device.free, let need = device.flashNeeds[sequence], need > free { return .failure(Unfit(FlashNeed.shortfall(need: need, free: free))) }
        return UpdateOrder.plan(for: device, release: self)
    }
}

/// The release a device is offered, in which manifest format, and which step of it.
public struct ReleaseOffer: Sendable, Equatable {
    public var sequence: Int
    public var format: Int
    public var plan: UpdatePlan

    public init(sequence: Int, format: Int, plan: UpdatePlan = .files) {
        self.sequence = sequence
        self.format = format
        self.plan = plan
    }
}

/// The rule for which release a device should run.
public enum ReleaseSelection {
    /// The newest release (highest sequence) the device can take, if it is newer than what the device runs and than what
    /// it rejected.
    ///
    /// Only the newest takeable one is considered: a device skips intermediate releases, because each manifest describes
    /// the whole release and the device downloads only what differs from what it has. A release the device cannot take
    /// does not hide older ones: a format-1 device skips a newer release without a legacy envelope and gets the newest that
    /// has one. With `now`, releases expired at that time are not considered at all (a device with a clock would refuse them).
    public static func target(for device: DeviceFacts, among releases: [ReleaseCandidate], now: Date? = nil) -> ReleaseOffer? {
        guard let newest = releases.filter({ $0.isTakeable(by: device, now: now) }).max(by: { $0.sequence < $1.sequence }),
            newest.sequence > device.sequence, newest.sequence > device.rejected ?? 0, case .success(let plan) = newest.fit(for: device, now: now)
        else { return nil }
        return ReleaseOffer(sequence: newest.sequence, format: device.format, plan: plan)
    }
}
