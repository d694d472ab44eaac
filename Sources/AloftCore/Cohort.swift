import Crypto

/// Which phase of a rollout a device falls in: a pure function of (rollout id, device id).
///
/// The pair hashes (SHA-256, never Swift's per-process `hashValue`) to a number in [0, 10000); a device is in phase k when
/// its number is below the k-th cumulative percentage × 100. So the same device is always in the same phase of one rollout,
/// another rollout picks other canaries, a device enrolled later falls in its place, and raising a percentage only adds devices.
public enum Cohort {
    /// The numbers run over [0, buckets): one bucket is 0.01 % of a fleet.
    public static let buckets = 10_000

    /// The device's number in [0, 10000) for this rollout.
    public static func number(rollout: Int, device: String) -> Int {
        var hasher = SHA256()
        hasher.update(data: Array("aloft.cohort/\(rollout)/\(device)".utf8))
        let digest = Array(hasher.finalize())
        let value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int(value % UInt64(buckets))
    }

    /// The index of the first phase whose cumulative percentage takes `number`; nil when the last phase stops below it.
    public static func phase(of number: Int, phases: [Int]) -> Int? {
        phases.firstIndex { number < $0 * (buckets / 100) }
    }

    /// The index of the device's phase in this rollout; nil when no phase reaches it.
    public static func phase(rollout: Int, device: String, phases: [Int]) -> Int? {
        phase(of: number(rollout: rollout, device: device), phases: phases)
    }
}

/// Which devices of a channel a rollout is for: every one, or those matching each kind of criterion given
/// (any of the tags, and any of the board patterns, and one of the ids).
public struct RolloutTarget: Codable, Sendable, Equatable {
    public static let maxEntries = 256

    public var tags: [String]
    /// Board patterns, as in a release's `compat.boards` (`esp32*`).
    public var boards: [String]
    public var devices: [String]

    public init(tags: [String] = [], boards: [String] = [], devices: [String] = []) {
        self.tags = tags
        self.boards = boards
        self.devices = devices
    }

    public var isWholeChannel: Bool { tags.isEmpty && boards.isEmpty && devices.isEmpty }

    public func validate() throws(AloftError) {
        for list in [tags, boards, devices] where list.count > Self.maxEntries {
            throw AloftError("a rollout target takes at most \(Self.maxEntries) tags, boards or device ids of each kind")
        }
        for tag in tags { try Identifiers.validateTag(tag) }
        for board in boards { _ = try BoardPattern(board) }
        for id in devices { try Identifiers.validateDeviceID(id) }
    }

    /// Whether the rollout is for this device.
    public func includes(_ device: DeviceFacts) -> Bool {
        (tags.isEmpty || tags.contains(where: device.tags.contains))
            && (boards.isEmpty || boards.contains { (try? BoardPattern($0))?.matches(device.board ?? "") ?? false })
            && (devices.isEmpty || devices.contains(device.id))
    }

    /// "every device of the channel", or what narrows it: "tags greenhouse, eu; boards esp32*; 3 listed devices".
    public var summary: String {
        if isWholeChannel { return "every device of the channel" }
        var parts: [String] = []
        if !tags.isEmpty { parts.append("tag\(tags.count == 1 ? "" : "s") \(tags.joined(separator: ", "))") }
        if !boards.isEmpty { parts.append("board\(boards.count == 1 ? "" : "s") \(boards.joined(separator: ", "))") }
        if !devices.isEmpty { parts.append("\(devices.count) listed device\(devices.count == 1 ? "" : "s")") }
        return parts.joined(separator: "; ")
    }
}
