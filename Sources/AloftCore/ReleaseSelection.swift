import Foundation

/// What the server knows about a device when it picks the release to offer.
public struct DeviceFacts: Sendable, Equatable {
    public var sequence: Int
    public var board: String?
    public var micropython: String?

    public init(sequence: Int, board: String?, micropython: String?) {
        self.sequence = sequence
        self.board = board
        self.micropython = micropython
    }
}

/// The rule for which release a device should run.
public enum ReleaseSelection {
    /// The newest release (highest sequence) the device is compatible with, if it is newer than what the device runs.
    ///
    /// Only the newest compatible one is considered: a device skips intermediate releases, because each
    /// manifest lists the whole release and the device downloads only what differs from what it has.
    /// With `now`, releases expired at that time are not considered at all (a device with a clock would refuse them).
    public static func target(for device: DeviceFacts, among releases: [ReleaseManifest], now: Date? = nil) -> ReleaseManifest? {
        let compatible = releases.filter { !$0.isExpired(at: now) && $0.compat.accepts(board: device.board ?? "", micropython: device.micropython) }
        guard let newest = compatible.max(by: { $0.sequence < $1.sequence }), newest.sequence > device.sequence else { return nil }
        return newest
    }
}
