/// Rules for the names a person chooses: device ids, channel names, names of admin tokens and enrollments.
public enum Identifiers {
    /// The rule of ``validateName(_:what:)`` (device ids, names of admin tokens and enrollments) as an ECMA-262 regular
    /// expression, for JSON Schemas.
    public static let namePattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
    /// The rule of ``validateChannel(_:)`` as an ECMA-262 regular expression.
    public static let channelPattern = "^[a-z0-9][a-z0-9-]{0,31}$"

    /// `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`
    public static func validateDeviceID(_ id: String) throws(AloftError) {
        try validateName(id, what: "device id")
    }

    /// `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`, the device id rule; `what` names the thing in the message ("admin token name").
    public static func validateName(_ name: String, what: String) throws(AloftError) {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), isAlnum(bytes[0]),
              bytes.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            throw AloftError("invalid \(what) '\(name.prefix(80))': use 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit")
        }
    }

    /// `[a-z0-9][a-z0-9-]{0,31}`
    public static func validateChannel(_ channel: String) throws(AloftError) {
        let bytes = Array(channel.utf8)
        let lowerAlnum = { (c: UInt8) in (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) }
        guard (1...32).contains(bytes.count), lowerAlnum(bytes[0]), bytes.allSatisfy({ lowerAlnum($0) || $0 == UInt8(ascii: "-") }) else {
            throw AloftError("invalid channel '\(channel.prefix(80))': use 1-32 of a-z 0-9 - starting with a letter or digit")
        }
    }

    /// ASCII A-Z, a-z or 0-9.
    public static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
    }
}

extension Identifiers {
    /// The rule of ``validateTag(_:)`` as an ECMA-262 regular expression.
    public static let tagPattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
    /// The most tags one device carries.
    public static let maxTags = 32

    /// A device tag: `[A-Za-z0-9][A-Za-z0-9._-]{0,31}`.
    public static func validateTag(_ tag: String) throws(AloftError) {
        let bytes = Array(tag.utf8)
        guard (1...32).contains(bytes.count), isAlnum(bytes[0]),
              bytes.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            throw AloftError("invalid tag '\(tag.prefix(80))': use 1-32 of A-Z a-z 0-9 . _ - starting with a letter or digit")
        }
    }
}
