/// A Semantic Versioning 2.0.0 version, ordered by the spec's precedence rules.
///
/// Devices never compare these (they compare sequence numbers); people and dashboards do.
public struct SemanticVersion: Sendable, Hashable, Comparable, Codable, LosslessStringConvertible {
    /// What ``init(parsing:)`` accepts, as an ECMA-262 regular expression (with at most 64 bytes in all), for JSON Schemas:
    /// the spec's grammar with at most 9 digits a core number.
    public static let pattern =
        #"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})"#
        + #"(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?"#
        + #"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"#
    public static let maxLength = 64

    public let major: Int
    public let minor: Int
    public let patch: Int
    public let prerelease: [String]
    public let build: [String]

    public init(major: Int, minor: Int, patch: Int, prerelease: [String] = [], build: [String] = []) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.build = build
    }

    public init?(_ description: String) {
        try? self.init(parsing: description)
    }

    public init(parsing text: String) throws(AloftError) {
        if let core = Self.plainCore(text.utf8) {  // most versions are just that; every check-in carries one
            self.init(major: core.0, minor: core.1, patch: core.2)
            return
        }
        var fail: AloftError {
            AloftError("invalid version '\(text.prefix(80))': expected semantic version MAJOR.MINOR.PATCH[-pre][+build], e.g. 1.2.0")
        }
        guard text.utf8.count <= Self.maxLength else { throw fail }
        var rest = Substring(text)
        var build: [String] = []
        if let plus = rest.firstIndex(of: "+") {
            build = rest[rest.index(after: plus)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            rest = rest[..<plus]
            guard build.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(Self.isIdentifierByte) }) else { throw fail }
        }
        var prerelease: [String] = []
        if let dash = rest.firstIndex(of: "-") {
            prerelease = rest[rest.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            rest = rest[..<dash]
            for id in prerelease {
                guard !id.isEmpty, id.utf8.allSatisfy(Self.isIdentifierByte) else { throw fail }
                if Self.isNumeric(id), id.count > 1, id.hasPrefix("0") { throw fail }
            }
        }
        let core = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard core.count == 3 else { throw fail }
        var numbers: [Int] = []
        for part in core {
            guard Self.isNumeric(part), part.count <= 9, !(part.count > 1 && part.hasPrefix("0")), let n = Int(part) else { throw fail }
            numbers.append(n)
        }
        self.init(major: numbers[0], minor: numbers[1], patch: numbers[2], prerelease: prerelease, build: build)
    }

    /// MAJOR.MINOR.PATCH alone, read without allocating: nil for anything else (then the general rules decide).
    private static func plainCore(_ bytes: String.UTF8View) -> (Int, Int, Int)? {
        var numbers = (0, 0, 0)
        var part = 0
        var value = 0
        var digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, part < 2 else { return nil }
                if part == 0 { numbers.0 = value } else { numbers.1 = value }
                part += 1
                value = 0
                digits = 0
            } else {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9, !(digits == 1 && value == 0) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            }
        }
        guard part == 2, digits > 0 else { return nil }
        numbers.2 = value
        return numbers
    }

    public var description: String {
        var s = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { s += "-" + prerelease.joined(separator: ".") }
        if !build.isEmpty { s += "+" + build.joined(separator: ".") }
        return s
    }

    /// Precedence per semver §11; build metadata does not count.
    public static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        if (lhs.major, lhs.minor, lhs.patch) != (rhs.major, rhs.minor, rhs.patch) {
            return (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
        switch (lhs.prerelease.isEmpty, rhs.prerelease.isEmpty) {
        case (true, true): return false
        case (true, false): return false
        case (false, true): return true
        case (false, false): break
        }
        for (a, b) in zip(lhs.prerelease, rhs.prerelease) where a != b {
            switch (Int(a).flatMap { isNumeric(a) ? $0 : nil }, Int(b).flatMap { isNumeric(b) ? $0 : nil }) {
            case let (x?, y?): return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
            }
        }
        return lhs.prerelease.count < rhs.prerelease.count
    }

    /// Equality follows precedence too: `1.0.0+a == 1.0.0+b`.
    public static func == (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        !(lhs < rhs) && !(rhs < lhs)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
        hasher.combine(prerelease)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try SemanticVersion(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func isIdentifierByte(_ c: UInt8) -> Bool {
        Identifiers.isAlnum(c) || c == UInt8(ascii: "-")
    }

    private static func isNumeric(_ s: some StringProtocol) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}

/// A MicroPython version as boards report it (`1.22.0`, `1.29.0-preview`), compared on (major, minor, patch).
public struct MicroPythonVersion: Sendable, Comparable, CustomStringConvertible {
    /// What ``init(parsing:)`` accepts, as an ECMA-262 regular expression (with at most 64 bytes in all), for JSON Schemas:
    /// the spec's grammar with at most 9 digits a core number.
    public static let pattern =
        #"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})"#
        + #"(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?"#
        + #"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"#
    public static let maxLength = 64

    public let major: Int
    public let minor: Int
    public let patch: Int

    /// Accepts `X.Y` or `X.Y.Z`, optionally followed by `-anything` (a pre-release suffix is ignored).
    public init?(_ text: String) {
        let core = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count) else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 6, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(part) else { return nil }
            numbers.append(n)
        }
        major = numbers[0]
        minor = numbers[1]
        patch = numbers.count == 3 ? numbers[2] : 0
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: MicroPythonVersion, rhs: MicroPythonVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }
}
