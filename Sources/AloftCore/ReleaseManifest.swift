import Foundation

/// What a release is: every file with its size and SHA-256, plus version, sequence, channel and compatibility,
/// and optionally until when it may be installed (`expires`) and which keys sign the releases after it (`trust`).
///
/// Encoded canonically (``CanonicalJSON``) and signed as those bytes; see docs/protocol.md.
public struct ReleaseManifest: Codable, Sendable, Equatable {
    public static let currentFormat = 1
    public static let maxFiles = 256
    public static let maxFileSize = 16 * 1024 * 1024
    public static let maxSequence = 9_007_199_254_740_991  // 2^53 - 1: exact in every JSON parser
    /// Refuse anything larger before parsing it.
    public static let maxEncodedBytes = 128 * 1024

    public var format: Int
    public var version: SemanticVersion
    public var sequence: Int
    public var channel: String
    public var created: String
    public var compat: Compatibility
    public var files: [FileEntry]
    /// Optional: from this time on (same form as `created`, strictly later) no device with a clock installs the release.
    public var expires: String?
    /// Optional: the release keys a device trusts once it has confirmed this release.
    public var trust: ReleaseTrust?

    public init(
        version: SemanticVersion, sequence: Int, channel: String, created: String,
        compat: Compatibility = Compatibility(), files: [FileEntry], expires: String? = nil, trust: ReleaseTrust? = nil
    ) {
        self.format = Self.currentFormat
        self.version = version
        self.sequence = sequence
        self.channel = channel
        self.created = created
        self.compat = compat
        self.files = files.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        self.expires = expires
        self.trust = trust
    }

    public var totalSize: Int { files.reduce(0) { $0 + $1.size } }

    /// Checks every rule of docs/protocol.md; the message names the first one broken.
    /// A release that carries the agent (files under `lib/aloft/`) must carry all of it, `lib/aloft/__init__.py` at least.
    public func validate() throws(AloftError) {
        guard format == Self.currentFormat else { throw AloftError("unsupported manifest format \(format) (this version reads \(Self.currentFormat))") }
        guard (1...Self.maxSequence).contains(sequence) else { throw AloftError("sequence must be between 1 and \(Self.maxSequence), got \(sequence)") }
        try Identifiers.validateChannel(channel)
        guard Self.isTimestamp(created) else { throw AloftError("created must be an RFC 3339 UTC time like 2026-01-31T12:00:00Z, got '\(created.prefix(40))'") }
        if let expires {
            guard Self.date(fromTimestamp: expires) != nil else {
                throw AloftError("expires must be an RFC 3339 UTC time like 2027-01-31T12:00:00Z, got '\(expires.prefix(40))'")
            }
            // Fixed-width timestamps compare as strings exactly as the times they name.
            guard created.utf8.lexicographicallyPrecedes(expires.utf8) else {
                throw AloftError("expires (\(expires)) must be after created (\(created))")
            }
        }
        try trust?.validate()
        try compat.validate()
        try FileList.validate(files, maxFiles: Self.maxFiles)
    }

    public var canonicalValue: CanonicalJSON {
        var compatObject: [String: CanonicalJSON] = ["boards": .array(compat.boards.map { .string($0) })]
        if let mp = compat.micropython { compatObject["micropython"] = .string(mp) }
        var object: [String: CanonicalJSON] = [
            "format": .integer(format),
            "version": .string(version.description),
            "sequence": .integer(sequence),
            "channel": .string(channel),
            "created": .string(created),
            "compat": .object(compatObject),
            "files": .array(files.map { .object(["path": .string($0.path), "sha256": .string($0.sha256), "size": .integer($0.size)]) }),
        ]
        // Optional fields appear only when set, so manifests without them keep their bytes (and signatures).
        if let expires { object["expires"] = .string(expires) }
        if let trust { object["trust"] = trust.canonicalValue }
        return .object(object)
    }

    /// Whether a verifier whose clock reads `now` must refuse the release; nil `now` (no clock) never expires it.
    public func isExpired(at now: Date?) -> Bool {
        guard let now, let expires, let end = Self.date(fromTimestamp: expires) else { return false }
        return now >= end
    }

    /// The exact text that gets signed.
    public func canonicalJSON() -> String { canonicalValue.encoded }

    /// Parses and validates a manifest, and insists its text is already canonical.
    ///
    /// Re-encoding and comparing rejects, in one rule, unknown fields, duplicate keys, floats,
    /// whitespace and any other second spelling of the same content.
    public static func parse(canonical text: String) throws(AloftError) -> ReleaseManifest {
        guard text.utf8.count <= maxEncodedBytes else { throw AloftError("manifest is larger than \(maxEncodedBytes) bytes") }
        try JSONLimits.checkDepth(text.utf8)
        let manifest: ReleaseManifest
        do {
            manifest = try JSONDecoder().decode(ReleaseManifest.self, from: Data(text.utf8))
        } catch let error as AloftError {
            throw error
        } catch let DecodingError.dataCorrupted(context) where context.underlyingError is AloftError {
            throw context.underlyingError as! AloftError
        } catch {
            throw AloftError("manifest is not valid: \(Self.describe(error))")
        }
        try manifest.validate()
        guard manifest.canonicalJSON() == text else {
            throw AloftError("manifest is not in canonical form (sorted keys, no whitespace, no unknown fields, integers only)")
        }
        return manifest
    }

    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ n: Int?) -> String { n.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(c.year ?? 1970)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second))Z"
    }

    /// The instant a `YYYY-MM-DDTHH:MM:SSZ` timestamp names, or nil when it is not one or names no real time
    /// (month 01-12, a day the month has, hour 00-23, minute and second 00-59).
    public static func date(fromTimestamp s: String) -> Date? {
        guard isTimestamp(s) else { return nil }
        let b = Array(s.utf8)
        func number(_ from: Int, _ count: Int) -> Int { b[from..<from + count].reduce(0) { $0 * 10 + Int($1 - 0x30) } }
        let (year, month, day) = (number(0, 4), number(5, 2), number(8, 2))
        let (hour, minute, second) = (number(11, 2), number(14, 2), number(17, 2))
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), (1...monthDays[month - 1]).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
        // Days from 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3_600 + minute * 60 + second))
    }

    static func isTimestamp(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 20 else { return false }
        let digitsAt = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        guard digitsAt.allSatisfy({ b[$0] >= 0x30 && b[$0] <= 0x39 }) else { return false }
        return b[4] == UInt8(ascii: "-") && b[7] == UInt8(ascii: "-") && b[10] == UInt8(ascii: "T")
            && b[13] == UInt8(ascii: ":") && b[16] == UInt8(ascii: ":") && b[19] == UInt8(ascii: "Z")
    }

    /// A decoding error as one line, with the field it is about.
    static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case DecodingError.keyNotFound(let key, let ctx): return "missing field '\(path(ctx.codingPath + [key]))'"
        case DecodingError.typeMismatch(_, let ctx): return "wrong type at '\(path(ctx.codingPath))'"
        case DecodingError.valueNotFound(_, let ctx): return "missing value at '\(path(ctx.codingPath))'"
        case DecodingError.dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "malformed JSON" : "bad value at '\(path(ctx.codingPath))'"
        default: return "malformed JSON"
        }
    }
}

/// Which devices a release is for: board globs and a minimum MicroPython version.
public struct Compatibility: Codable, Sendable, Equatable {
    public var boards: [String]
    public var micropython: String?

    public init(boards: [String] = ["*"], micropython: String? = nil) {
        self.boards = boards
        self.micropython = micropython
    }

    public func validate() throws(AloftError) {
        guard (1...16).contains(boards.count) else { throw AloftError("compat.boards needs 1-16 board patterns") }
        for board in boards { _ = try BoardPattern(board) }
        if let micropython {
            guard micropython.utf8.count <= 20, !micropython.contains("-"), MicroPythonVersion(micropython) != nil else {
                throw AloftError("compat.micropython must be a version like 1.21 or 1.21.0, got '\(micropython.prefix(40))'")
            }
        }
    }

    /// Whether a device with this board name and MicroPython version may install the release.
    /// A device that does not say its version is refused when a minimum is set.
    public func accepts(board: String, micropython deviceVersion: String?) -> Bool {
        guard boards.contains(where: { (try? BoardPattern($0))?.matches(board) ?? false }) else { return false }
        guard let minimum = micropython.flatMap(MicroPythonVersion.init) else { return true }
        guard let have = deviceVersion.flatMap(MicroPythonVersion.init) else { return false }
        return have >= minimum
    }
}

/// One file of a release.
public struct FileEntry: Codable, Sendable, Equatable {
    public var path: String
    public var sha256: String
    public var size: Int

    public init(path: String, sha256: String, size: Int) {
        self.path = path
        self.sha256 = sha256
        self.size = size
    }
}
