// The bodies of access control (docs/protocol.md, "Management API"): admin tokens and enrollments. Secrets appear only
// in the answer that makes them; lists never carry them.

import AloftCore

/// Makes a named admin token.
public struct CreateAdminTokenRequest: Codable, Sendable, Equatable {
    public var name: String

    public init(name: String) {
        self.name = name
    }
}

/// A named admin token just made, shown this once.
public struct CreatedAdminTokenResponse: Codable, Sendable, Equatable {
    public var name: String
    public var token: String

    public init(name: String, token: String) {
        self.name = name
        self.token = token
    }
}

/// A stored admin token, without the token.
public struct AdminTokenView: Codable, Sendable, Equatable {
    public var name: String
    public var created: String
    public var revoked: Bool
    public var revokedAt: String?

    public init(name: String, created: String, revoked: Bool, revokedAt: String?) {
        self.name = name
        self.created = created
        self.revoked = revoked
        self.revokedAt = revokedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(created, forKey: .created)
        try c.encode(revoked, forKey: .revoked)
        try c.encode(revokedAt, forKey: .revokedAt)
    }

    enum CodingKeys: String, CodingKey { case name, created, revoked, revokedAt }
}

/// Stored admin tokens, sorted by name.
public struct AdminTokenListResponse: Codable, Sendable, Equatable {
    public var tokens: [AdminTokenView]

    public init(tokens: [AdminTokenView]) {
        self.tokens = tokens
    }
}

/// Makes a fleet enrollment: a secret that boards of a generic image register themselves with, on `channel`.
public struct CreateEnrollmentRequest: Codable, Sendable, Equatable {
    public var name: String
    public var channel: String
    /// Tags every device it enrolls gets.
    public var tags: [String]?

    public init(name: String, channel: String, tags: [String]? = nil) {
        self.name = name
        self.channel = channel
        self.tags = tags
    }
}

/// An enrollment just made, with its secret shown this once.
public struct CreatedEnrollmentResponse: Codable, Sendable, Equatable {
    public var name: String
    public var channel: String
    public var secret: String

    public init(name: String, channel: String, secret: String) {
        self.name = name
        self.channel = channel
        self.secret = secret
    }
}

/// A stored enrollment, without the secret.
public struct EnrollmentView: Codable, Sendable, Equatable {
    public var name: String
    public var channel: String
    public var created: String
    public var revoked: Bool
    public var revokedAt: String?
    /// Tags every device it enrolls gets.
    public var tags: [String]

    public init(name: String, channel: String, created: String, revoked: Bool, revokedAt: String?, tags: [String] = []) {
        self.tags = tags
        self.name = name
        self.channel = channel
        self.created = created
        self.revoked = revoked
        self.revokedAt = revokedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(channel, forKey: .channel)
        try c.encode(created, forKey: .created)
        try c.encode(revoked, forKey: .revoked)
        try c.encode(revokedAt, forKey: .revokedAt)
        try c.encode(tags, forKey: .tags)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try c.decode(String.self, forKey: .name), channel: try c.decode(String.self, forKey: .channel),
            created: try c.decode(String.self, forKey: .created), revoked: try c.decode(Bool.self, forKey: .revoked),
            revokedAt: try c.decodeIfPresent(String.self, forKey: .revokedAt), tags: try c.decodeIfPresent([String].self, forKey: .tags) ?? [])
    }

    enum CodingKeys: String, CodingKey { case name, channel, created, revoked, revokedAt, tags }
}

/// Enrollments, sorted by name.
public struct EnrollmentListResponse: Codable, Sendable, Equatable {
    public var enrollments: [EnrollmentView]

    public init(enrollments: [EnrollmentView]) {
        self.enrollments = enrollments
    }
}

// MARK: Schemas

extension CreateAdminTokenRequest: WireSchema {
    public static var schema: JSONSchema {
        .object(required: ["name": JSONSchema.name.described("409 when a token has it, or it is `bootstrap` (the token given to `aloft serve`).")])
    }
}

extension CreatedAdminTokenResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(required: ["name": .name, "token": JSONSchema.secret(prefix: SecretFormat.adminPrefix).described("The admin token, shown once.")])
    }
}

extension AdminTokenView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: ["name": .name, "created": .timestamp, "revoked": .boolean, "revokedAt": JSONSchema.timestamp.orNull])
    }
}

extension AdminTokenListResponse: WireSchema {
    public static var schema: JSONSchema { .object(required: ["tokens": JSONSchema.array(of: .ref(AdminTokenView.self))]) }
}

extension CreateEnrollmentRequest: WireSchema {
    public static var schema: JSONSchema {
        .object(
            required: ["name": JSONSchema.name.described("409 when an enrollment has it."), "channel": .channel],
            optional: ["tags": JSONSchema.array(of: .tag, maxItems: Identifiers.maxTags).orNull.described("Tags every device it enrolls gets.")])
    }
}

extension CreatedEnrollmentResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "name": .name, "channel": .channel, "secret": JSONSchema.secret(prefix: SecretFormat.enrollmentPrefix).described("The enrollment secret, shown once."),
        ])
    }
}

extension EnrollmentView: WireSchema {
    public static var schema: JSONSchema {
        .object(required: [
            "name": .name, "channel": .channel, "created": .timestamp, "revoked": .boolean, "revokedAt": JSONSchema.timestamp.orNull,
            "tags": JSONSchema.array(of: .tag, maxItems: Identifiers.maxTags),
        ])
    }
}

extension EnrollmentListResponse: WireSchema {
    public static var schema: JSONSchema { .object(required: ["enrollments": JSONSchema.array(of: .ref(EnrollmentView.self))]) }
}
