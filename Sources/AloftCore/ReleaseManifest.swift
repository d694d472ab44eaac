import Foundation

/// What a release is: every file with its size and SHA-256, plus version, sequence, channel and compatibility,
/// and optionally until when it may be installed (`expires`) and which keys sign the releases after it (`trust`).
///
/// A release is written down in two formats (docs/protocol.md): format 2, a small signed ``ManifestHeader`` that names
/// the release's ``FileList`` by SHA-256 (``canonicalJSON()``, ``fileList``), and format 1, for agents before 0.3.0,
/// one manifest with every file inline (``legacyCanonicalJSON()``). Both are canonical JSON, signed as those bytes.
public struct ReleaseManifest: Sendable, Equatable {
    /// The format ``canonicalJSON()`` writes.
    public static let currentFormat = 2
    /// The format agents before 0.3.0 read: the files inline (docs/protocol.md, "Format 1").
    public static let legacyFormat = 1
    public static let maxFiles = FileList.maxLines
    /// Most files a format-1 manifest lists; a larger release has no format-1 manifest.
    public static let legacyMaxFiles = 256
    public static let maxFileSize = 16 * 1024 * 1024
    public static let maxSequence = 9_007_199_254_740_991  // 2^53 - 1: exact in every JSON parser
    /// Largest format-2 manifest; refused before parsing when larger.
    public static let maxEncodedBytes = 4 * 1024
    /// Largest format-1 manifest; refused before parsing when larger.
    public static let legacyMaxEncodedBytes = 128 * 1024

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
    /// Optional: firmware images, one per firmware build, sorted by build (docs/firmware.md); format 2 only.
    public var firmware: [FirmwareImage]?

    public init(
        version: SemanticVersion, sequence: Int, channel: String, created: String,
        compat: Compatibility = Compatibility(), files: [FileEntry], expires: String? = nil, trust: ReleaseTrust? = nil,
        firmware: [FirmwareImage]? = nil
    ) {
        self.version = version
        self.sequence = sequence
        self.channel = channel
        self.created = created
        self.compat = compat
        self.files = files.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        self.expires = expires
        self.trust = trust
        self.firmware = firmware.map(FirmwareImage.sorted)
    }

    public var totalSize: Int { files.reduce(0) { $0 + $1.size } }

    /// Checks every rule of docs/protocol.md; the message names the first one broken.
    /// A release that carries the agent (files under `lib/aloft/`) must carry all of it, `lib/aloft/__init__.py` at least.
    public func validate() throws(AloftError) {
        try Self.validateFields(sequence: sequence, channel: channel, created: created, expires: expires, trust: trust, compat: compat)
        if let firmware { try FirmwareImage.validate(firmware) }
        try FileList.validate(files)
    }

    /// The release's file list, the blob its format-2 manifest names.
    public var fileList: String { FileList.encode(files) }

    /// The format-2 manifest of this release.
    public var header: ManifestHeader {
        ManifestHeader(
            version: version, sequence: sequence, channel: channel, created: created, compat: compat, files: FileListReference(of: files),
            expires: expires, trust: trust, firmware: firmware)
    }

    /// The exact text that gets signed: the format-2 manifest.
    public func canonicalJSON() -> String { header.canonicalJSON() }

    /// Why agents before 0.3.0 must not be offered this release, or nil when they can take it: format 1 lists at most
    /// ``legacyMaxFiles`` files, and those agents cannot install an empty file (a zero-byte download never got a file to
    /// rename), so such a release would fail on them at every check. A release with a reason gets no format-1 manifest.
    public var legacyRefusal: String? {
        if files.count > Self.legacyMaxFiles { return "format 1 lists at most \(Self.legacyMaxFiles) files, this release has \(files.count)" }
        if let empty = files.first(where: { $0.size == 0 }) {
            return "agents before 0.3.0 cannot install an empty file (\(empty.path))"
        }
        return nil
    }

    /// The exact text of the release's format-1 manifest, for agents before 0.3.0; a release of more than
    /// ``legacyMaxFiles`` files has none (``legacyRefusal`` says when one must not be published).
    public func legacyCanonicalJSON() throws(AloftError) -> String {
        guard files.count <= Self.legacyMaxFiles else {
            throw AloftError("a format-1 manifest lists at most \(Self.legacyMaxFiles) files, this release has \(files.count)")
        }
        // Format 1 has no firmware and no compat.mpy: its agents take the files alone, as `compat` allows.
        var object = Self.canonicalFields(
            format: Self.legacyFormat, version: version, sequence: sequence, channel: channel, created: created, compat: compat.legacy,
            expires: expires, trust: trust)
        object["files"] = .array(files.map { .object(["path": .string($0.path), "sha256": .string($0.sha256), "size": .integer($0.size)]) })
        return CanonicalJSON.object(object).encoded
    }

    /// Whether a verifier whose clock reads `now` must refuse the release; nil `now` (no clock) never expires it.
    public func isExpired(at now: Date?) -> Bool { Self.isExpired(expires, at: now) }

    /// Parses a format-2 manifest and the file list it names, checking every rule of both; the manifest's text must be
    /// canonical, and the list the one it names.
    public static func parse(canonical text: String, fileList: some Collection<UInt8>) throws(AloftError) -> ReleaseManifest {
        try ManifestHeader.parse(canonical: text).release(fileList: fileList)
    }

    /// Parses and validates a format-1 manifest (files inline), and insists its text is already canonical.
    ///
    /// Re-encoding and comparing rejects, in one rule, unknown fields, duplicate keys, floats,
    /// whitespace and any other second spelling of the same content.
    public static func parse(legacy text: String) throws(AloftError) -> ReleaseManifest {
        try JSONLimits.checkDepth(text.utf8)
        if let format = format(of: text), format != legacyFormat {
            throw AloftError("expected a format-1 manifest, got format \(format)")
        }
        guard text.utf8.count <= legacyMaxEncodedBytes else { throw AloftError("a format-1 manifest is at most \(legacyMaxEncodedBytes) bytes") }
        let decoded = try decode(Format1.self, from: text)
        guard decoded.format == legacyFormat else { throw AloftError("expected a format-1 manifest, got format \(decoded.format)") }
        var manifest = ReleaseManifest(
            version: decoded.version, sequence: decoded.sequence, channel: decoded.channel, created: decoded.created, compat: decoded.compat,
            files: [], expires: decoded.expires, trust: decoded.trust)
        manifest.files = decoded.files  // as written: validation reports files out of order rather than sorting them
        try manifest.validate()
        guard manifest.files.count <= legacyMaxFiles else {
            throw AloftError("a format-1 manifest lists at most \(legacyMaxFiles) files, this one has \(manifest.files.count)")
        }
        guard try manifest.legacyCanonicalJSON() == text else {
            throw AloftError("manifest is not in canonical form (sorted keys, no whitespace, no unknown fields, integers only)")
        }
        return manifest
    }

    /// The fields in which `other` describes a different release, in the order docs/protocol.md lists them
    /// (channel, version, sequence, created, compat, expires, trust, firmware, files); empty when both describe the same one.
    public func differences(from other: ReleaseManifest) -> [String] {
        var fields: [String] = []
        if channel != other.channel { fields.append("channel") }
        // By text: version equality follows precedence, which ignores build metadata (`1.0.0+a == 1.0.0+b`).
        if version.description != other.version.description { fields.append("version") }
        if sequence != other.sequence { fields.append("sequence") }
        if created != other.created { fields.append("created") }
        if compat != other.compat { fields.append("compat") }
        if expires != other.expires { fields.append("expires") }
        if trust != other.trust { fields.append("trust") }
        if firmware != other.firmware { fields.append("firmware") }
        if files != other.files { fields.append("files") }
        return fields
    }

    /// The `format` of a manifest's text, or nil when the text does not say (not JSON, no integer `format`).
    public static func format(of text: String) -> Int? {
        struct FormatField: Decodable { var format: Int }
        return try? JSONDecoder().decode(FormatField.self, from: Data(text.utf8)).format
    }

    /// The shape of a timestamp (`YYYY-MM-DDTHH:MM:SSZ`) as an ECMA-262 regular expression, for JSON Schemas.
    public static let timestampPattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"

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

    // MARK: What both formats share

    /// The rules for everything but the files, the same in both formats.
    static func validateFields(
        sequence: Int, channel: String, created: String, expires: String?, trust: ReleaseTrust?, compat: Compatibility
    ) throws(AloftError) {
        guard (1...maxSequence).contains(sequence) else { throw AloftError("sequence must be between 1 and \(maxSequence), got \(sequence)") }
        try Identifiers.validateChannel(channel)
        guard isTimestamp(created) else { throw AloftError("created must be an RFC 3339 UTC time like 2026-01-31T12:00:00Z, got '\(created.prefix(40))'") }
        if let expires {
            guard date(fromTimestamp: expires) != nil else {
                throw AloftError("expires must be an RFC 3339 UTC time like 2027-01-31T12:00:00Z, got '\(expires.prefix(40))'")
            }
            // Fixed-width timestamps compare as strings exactly as the times they name.
            guard created.utf8.lexicographicallyPrecedes(expires.utf8) else {
                throw AloftError("expires (\(expires)) must be after created (\(created))")
            }
        }
        try trust?.validate()
        try compat.validate()
    }

    /// Every field but `files`, canonically. Optional fields appear only when set.
    static func canonicalFields(
        format: Int, version: SemanticVersion, sequence: Int, channel: String, created: String, compat: Compatibility, expires: String?,
        trust: ReleaseTrust?
    ) -> [String: CanonicalJSON] {
        var object: [String: CanonicalJSON] = [
            "format": .integer(format),
            "version": .string(version.description),
            "sequence": .integer(sequence),
            "channel": .string(channel),
            "created": .string(created),
            "compat": compat.canonicalValue,
        ]
        if let expires { object["expires"] = .string(expires) }
        if let trust { object["trust"] = trust.canonicalValue }
        return object
    }

    static func isExpired(_ expires: String?, at now: Date?) -> Bool {
        guard let now, let expires, let end = date(fromTimestamp: expires) else { return false }
        return now >= end
    }

    /// Decodes manifest text, every failure as one line that names the field.
    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws(AloftError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch let error as AloftError {
            throw error
        } catch let DecodingError.dataCorrupted(context) where context.underlyingError is AloftError {
            throw context.underlyingError as! AloftError
        } catch {
            throw AloftError("manifest is not valid: \(describe(error))")
        }
    }

    /// A format-1 manifest as decoded, before its rules are checked.
    private struct Format1: Decodable {
        var format: Int
        var version: SemanticVersion
        var sequence: Int
        var channel: String
        var created: String
        var compat: Compatibility
        var files: [FileEntry]
        var expires: String?
        var trust: ReleaseTrust?
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

/// A format-2 manifest: the signed part of a release, everything but its files, which it names by the SHA-256 of
/// their list (``FileListReference``). A verifier checks this (a few hundred bytes) before it fetches the list.
public struct ManifestHeader: Codable, Sendable, Equatable {
    public var format: Int
    public var version: SemanticVersion
    public var sequence: Int
    public var channel: String
    public var created: String
    public var compat: Compatibility
    public var files: FileListReference
    public var expires: String?
    public var trust: ReleaseTrust?
    public var firmware: [FirmwareImage]?

    public init(
        version: SemanticVersion, sequence: Int, channel: String, created: String, compat: Compatibility = Compatibility(),
        files: FileListReference, expires: String? = nil, trust: ReleaseTrust? = nil, firmware: [FirmwareImage]? = nil
    ) {
        self.format = ReleaseManifest.currentFormat
        self.version = version
        self.sequence = sequence
        self.channel = channel
        self.created = created
        self.compat = compat
        self.files = files
        self.expires = expires
        self.trust = trust
        self.firmware = firmware
    }

    /// Checks every rule of docs/protocol.md, "Release manifest (format 2)"; the message names the first one broken.
    public func validate() throws(AloftError) {
        guard format == ReleaseManifest.currentFormat else {
            throw AloftError("unsupported manifest format \(format) (this version reads \(ReleaseManifest.currentFormat))")
        }
        try ReleaseManifest.validateFields(sequence: sequence, channel: channel, created: created, expires: expires, trust: trust, compat: compat)
        if let firmware { try FirmwareImage.validate(firmware) }
        try files.validate()
    }

    public var canonicalValue: CanonicalJSON {
        var object = ReleaseManifest.canonicalFields(
            format: format, version: version, sequence: sequence, channel: channel, created: created, compat: compat, expires: expires,
            trust: trust)
        object["files"] = files.canonicalValue
        if let firmware { object["firmware"] = .array(firmware.map(\.canonicalValue)) }
        return .object(object)
    }

    /// The exact text that gets signed.
    public func canonicalJSON() -> String { canonicalValue.encoded }

    /// Whether a verifier whose clock reads `now` must refuse the release; nil `now` (no clock) never expires it.
    public func isExpired(at now: Date?) -> Bool { ReleaseManifest.isExpired(expires, at: now) }

    /// The whole release: this header with the files of `fileList`, which must be the list it names and meet every rule.
    public func release(fileList: some Collection<UInt8>) throws(AloftError) -> ReleaseManifest {
        let entries = try FileList.parse(fileList, matching: files)
        return ReleaseManifest(
            version: version, sequence: sequence, channel: channel, created: created, compat: compat, files: entries, expires: expires,
            trust: trust, firmware: firmware)
    }

    /// Parses and validates a format-2 manifest, and insists its text is already canonical.
    ///
    /// Re-encoding and comparing rejects, in one rule, unknown fields, duplicate keys, floats,
    /// whitespace and any other second spelling of the same content.
    public static func parse(canonical text: String) throws(AloftError) -> ManifestHeader {
        try JSONLimits.checkDepth(text.utf8)
        // Said before the size limit, which a format-1 manifest of a few files passes already.
        if ReleaseManifest.format(of: text) == ReleaseManifest.legacyFormat {
            throw AloftError("this is a format-1 manifest (files listed inline); format 2 is expected here")
        }
        guard text.utf8.count <= ReleaseManifest.maxEncodedBytes else {
            throw AloftError("manifest is larger than \(ReleaseManifest.maxEncodedBytes) bytes")
        }
        let header = try ReleaseManifest.decode(ManifestHeader.self, from: text)
        try header.validate()
        guard header.canonicalJSON() == text else {
            throw AloftError("manifest is not in canonical form (sorted keys, no whitespace, no unknown fields, integers only)")
        }
        return header
    }
}

/// Which devices a release is for: board globs, a minimum MicroPython version and the `.mpy` version its bytecode needs.
public struct Compatibility: Codable, Sendable, Equatable {
    public var boards: [String]
    public var micropython: String?
    /// The `.mpy` major version the release's compiled files need (`--compile`): a device whose firmware loads another
    /// cannot import them. Format 2 only (docs/firmware.md); format 1 leaves it out.
    public var mpy: Int?

    public init(boards: [String] = ["*"], micropython: String? = nil, mpy: Int? = nil) {
        self.boards = boards
        self.micropython = micropython
        self.mpy = mpy
    }

    public func validate() throws(AloftError) {
        guard (1...16).contains(boards.count) else { throw AloftError("compat.boards needs 1-16 board patterns") }
        for board in boards { _ = try BoardPattern(board) }
        if let micropython {
            guard micropython.utf8.count <= 20, !micropython.contains("-"), MicroPythonVersion(micropython) != nil else {
                throw AloftError("compat.micropython must be a version like 1.21 or 1.21.0, got '\(micropython.prefix(40))'")
            }
        }
        if let mpy, !(1...255).contains(mpy) { throw AloftError("compat.mpy must be between 1 and 255, got \(mpy)") }
    }

    /// Makes `minimum` the release's minimum MicroPython unless it asks for a later one already.
    public mutating func raiseMinimum(to minimum: String) {
        guard let wanted = MicroPythonVersion(minimum) else { return }
        if let current = micropython.flatMap(MicroPythonVersion.init), current >= wanted { return }
        micropython = minimum
    }

    /// Whether a device with this board name and MicroPython version may install the release.
    /// A device that does not say its version is refused when a minimum is set.
    public func accepts(board: String, micropython deviceVersion: String?) -> Bool {
        incompatibility(board: board, micropython: deviceVersion, mpy: nil) == nil
    }

    /// Why a device with this board name, MicroPython version and `.mpy` major version cannot install the release, or nil
    /// when it can. A device that does not say its version is refused when a minimum is set; one that does not say its
    /// `.mpy` version is taken to load what its MicroPython version loads.
    public func incompatibility(board: String, micropython deviceVersion: String?, mpy deviceMpy: Int?) -> String? {
        guard boards.contains(where: { (try? BoardPattern($0))?.matches(board) ?? false }) else {
            return "board \(board.isEmpty ? "(not reported)" : board) is not in \(boards.joined(separator: ","))"
        }
        let have = deviceVersion.flatMap(MicroPythonVersion.init)
        if let minimum = micropython.flatMap(MicroPythonVersion.init) {
            guard let have else { return "needs MicroPython \(micropython!) (the device does not say its version)" }
            guard have >= minimum else { return "needs MicroPython \(micropython!) (runs \(have))" }
        }
        if let mpy, let loads = deviceMpy ?? have.flatMap(FirmwareImage.mpyVersion(forMicroPython:)), loads != mpy {
            return "needs .mpy version \(mpy) (its firmware loads \(loads))"
        }
        return nil
    }

    /// The legacy (format 1) form: format 1 has no `mpy`.
    var legacy: Compatibility { Compatibility(boards: boards, micropython: micropython) }

    var canonicalValue: CanonicalJSON {
        var object: [String: CanonicalJSON] = ["boards": .array(boards.map { .string($0) })]
        if let micropython { object["micropython"] = .string(micropython) }
        if let mpy { object["mpy"] = .integer(mpy) }
        return .object(object)
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
