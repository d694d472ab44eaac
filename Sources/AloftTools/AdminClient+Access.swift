import AloftCore
import Foundation

// Access control through the management API (docs/protocol.md, "Access control"). Secrets come back once,
// in the answer that makes them; the server keeps only their hashes.
extension AdminClient {
    // MARK: Admin tokens

    public struct CreatedAdminToken: Codable, Sendable {
        public var name: String
        public var token: String
    }

    public struct AdminToken: Codable, Sendable {
        public var name: String
        public var created: String
        public var revoked: Bool
        public var revokedAt: String?
    }

    public func createAdminToken(name: String) async throws(AloftError) -> CreatedAdminToken {
        try await call("POST", "/api/v1/admin/tokens", json: ["name": name], as: CreatedAdminToken.self)
    }

    public func adminTokens() async throws(AloftError) -> [AdminToken] {
        struct Answer: Decodable { var tokens: [AdminToken] }
        return try await call("GET", "/api/v1/admin/tokens", as: Answer.self).tokens
    }

    public func revokeAdminToken(name: String) async throws(AloftError) {
        _ = try await send("DELETE", "/api/v1/admin/tokens/\(try Self.pathSegment(name, what: "admin token name"))", body: nil, contentType: nil)
    }

    // MARK: Device tokens

    public func revokeDevice(id: String) async throws(AloftError) {
        _ = try await send("POST", "/api/v1/admin/devices/\(try Self.pathSegment(id, what: "device id"))/revoke", body: nil, contentType: nil)
    }

    public struct DeviceToken: Codable, Sendable {
        public var id: String
        public var token: String
    }

    /// A fresh token for the device; the old one stops working, and a revoked device is active again.
    public func reissueDeviceToken(id: String) async throws(AloftError) -> DeviceToken {
        try await call("POST", "/api/v1/admin/devices/\(try Self.pathSegment(id, what: "device id"))/token", as: DeviceToken.self)
    }

    // MARK: Enrollments

    public struct CreatedEnrollment: Codable, Sendable {
        public var name: String
        public var channel: String
        public var secret: String
    }

    public struct Enrollment: Codable, Sendable {
        public var name: String
        public var channel: String
        public var created: String
        public var revoked: Bool
        public var revokedAt: String?
    }

    public func createEnrollment(name: String, channel: String) async throws(AloftError) -> CreatedEnrollment {
        try await call("POST", "/api/v1/admin/enrollments", json: ["name": name, "channel": channel], as: CreatedEnrollment.self)
    }

    public func enrollments() async throws(AloftError) -> [Enrollment] {
        struct Answer: Decodable { var enrollments: [Enrollment] }
        return try await call("GET", "/api/v1/admin/enrollments", as: Answer.self).enrollments
    }

    public func revokeEnrollment(name: String) async throws(AloftError) {
        _ = try await send("DELETE", "/api/v1/admin/enrollments/\(try Self.pathSegment(name, what: "enrollment name"))", body: nil, contentType: nil)
    }

    /// Names go into URL paths; checking them here keeps a `/` or `?` from addressing something else.
    private static func pathSegment(_ name: String, what: String) throws(AloftError) -> String {
        try Identifiers.validateName(name, what: what)
        return name
    }
}
