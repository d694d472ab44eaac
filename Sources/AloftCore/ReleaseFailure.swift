import Foundation

/// What the server remembers of a device's failures with one release: how many, and the last one. Kept from its
/// `failed` events until it installs the release or an operator clears it (`aloft device retry`).
public struct ReleaseFailure: Sendable, Equatable {
    public var sequence: Int
    public var version: String?
    /// `failed` events for this release since the memory was last cleared.
    public var attempts: Int
    /// The kind of the last failure (``FailureReasons/kind(of:)``).
    public var kind: FailureKind
    /// The last failure's reason, as the device sent it.
    public var reason: String
    /// When the last failure arrived.
    public var at: Date
    /// For a ``FailureKind/noFlash`` failure, the free flash (bytes) the device reported at the check-in before it; the
    /// release is offered again once it reports more.
    public var free: Int?

    public init(sequence: Int, version: String?, attempts: Int, kind: FailureKind, reason: String, at: Date, free: Int? = nil) {
        self.sequence = sequence
        self.version = version
        self.attempts = attempts
        self.kind = kind
        self.reason = reason
        self.at = at
        self.free = free
    }

    /// The memory after another failure: one attempt more, this one's kind, reason, time and free flash.
    public func adding(reason: String?, version: String?, at: Date, free: Int?) -> ReleaseFailure {
        ReleaseFailure.first(sequence: sequence, version: version ?? self.version, reason: reason, at: at, free: free).with(attempts: attempts + 1)
    }

    /// The memory of a first failure with release `sequence`.
    public static func first(sequence: Int, version: String?, reason: String?, at: Date, free: Int?) -> ReleaseFailure {
        let kind = FailureReasons.kind(of: reason)
        return ReleaseFailure(
            sequence: sequence, version: version, attempts: 1, kind: kind, reason: reason ?? "no reason given", at: at, free: kind == .noFlash ? free : nil)
    }

    private func with(attempts: Int) -> ReleaseFailure {
        var copy = self
        copy.attempts = attempts
        return copy
    }

    /// When a passing failure lets the release be offered again: the last failure plus ``FailureBackoff/delay(afterAttempts:)``.
    public var retryAt: Date { at.addingTimeInterval(FailureBackoff.delay(afterAttempts: attempts)) }

    /// Why the release is withheld from a device that now reports `free` bytes of free flash at `now`; nil when it may be
    /// offered. A lasting failure withholds it until the memory is cleared, a no-flash one also until the device reports
    /// more free flash than at the failure, a passing one until ``retryAt``.
    public func withholds(free: Int?, now: Date) -> Withheld? {
        switch kind {
        case .noFlash:
            if let then = self.free, let free, free > then { return nil }
            return .lasting
        case .lasting: return .lasting
        case .passing: return now < retryAt ? .until(retryAt) : nil
        }
    }

    public enum Withheld: Sendable, Equatable {
        case lasting
        case until(Date)
    }

    /// `failed 3×, lasting: insufficient storage: …`, for listings.
    public var summary: String {
        "failed \(attempts)×, \(kind.label): \(reason)"
    }
}

/// How long a release that failed for a passing reason is withheld from the device: ``base`` after the first failure,
/// doubling with each failure after it, at most ``cap``. A device polls once in a while anyway; the backoff only keeps a
/// device whose attempts keep failing from fetching the same release at every poll, and the cap keeps a mended network
/// or server from waiting long for it.
public enum FailureBackoff {
    /// After the first failure: a minute, a few polls of a device at the shortest interval.
    public static let base: TimeInterval = 60
    /// Six hours: reached after the 10th failure (60 s · 2⁹ = 8.5 h, capped); four attempts a day at worst.
    public static let cap: TimeInterval = 6 * 3600

    /// The wait after `attempts` failures (1 or more): `base · 2^(attempts-1)`, at most `cap`.
    public static func delay(afterAttempts attempts: Int) -> TimeInterval {
        let doublings = max(0, min(attempts - 1, 30))
        return min(cap, base * Double(1 << doublings))
    }
}
