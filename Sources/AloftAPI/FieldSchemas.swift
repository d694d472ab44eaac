import AloftCore

// The schemas of the values that recur across bodies and parameters, each from the rule the server enforces.

extension JSONSchema {
    // Ids and names carry no example: a tool that tries examples against a live server would revoke the device or the
    // enrollment named in it.

    /// A device id: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.
    public static var deviceID: JSONSchema { .string(pattern: Identifiers.namePattern, minLength: 1, maxLength: 64) }

    /// The name of an admin token or an enrollment: the device id rule.
    public static var name: JSONSchema { .string(pattern: Identifiers.namePattern, minLength: 1, maxLength: 64) }

    /// A device tag: `[A-Za-z0-9][A-Za-z0-9._-]{0,31}`.
    public static var tag: JSONSchema { .string(pattern: Identifiers.tagPattern, minLength: 1, maxLength: 32) }

    /// A channel: `[a-z0-9][a-z0-9-]{0,31}`.
    public static var channel: JSONSchema { .string(pattern: Identifiers.channelPattern, minLength: 1, maxLength: 32).example("stable") }

    /// A SHA-256 in 64 lowercase hex characters.
    public static var sha256: JSONSchema { .string(pattern: "^[0-9a-f]{64}$", minLength: 64, maxLength: 64) }

    /// A release's sequence number, 1 … 2^53−1.
    public static var sequence: JSONSchema { .integer(minimum: 1, maximum: ReleaseManifest.maxSequence) }

    /// A device's installed sequence: 0 when nothing is installed, else a release's sequence.
    public static var installedSequence: JSONSchema { .integer(minimum: 0, maximum: ReleaseManifest.maxSequence) }

    /// A Semantic Versioning 2.0.0 version, at most 64 bytes.
    public static var semanticVersion: JSONSchema {
        .string(pattern: SemanticVersion.pattern, minLength: 5, maxLength: SemanticVersion.maxLength).example("1.2.0")
    }

    /// An RFC 3339 UTC time with seconds precision, `YYYY-MM-DDTHH:MM:SSZ`.
    public static var timestamp: JSONSchema {
        .string(pattern: ReleaseManifest.timestampPattern, minLength: 20, maxLength: 20, format: "date-time").example("2026-11-29T02:33:34Z")
    }

    /// A count of bytes or items: 0 or more.
    public static var count: JSONSchema { .integer(minimum: 0) }

    /// A secret the server makes (``SecretFormat``).
    public static func secret(prefix: String) -> JSONSchema {
        let length = prefix.utf8.count + SecretFormat.randomCharacters
        return .string(pattern: "^\(prefix)[A-Za-z0-9_-]{\(SecretFormat.randomCharacters)}$", minLength: length, maxLength: length)
    }

    /// Text for people, at most `maxBytes` bytes of UTF-8 (the length below counts code points, so it is an upper bound)
    /// and no control characters.
    public static func printableText(maxBytes: Int) -> JSONSchema {
        .string(pattern: "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", maxLength: maxBytes)
    }
}
