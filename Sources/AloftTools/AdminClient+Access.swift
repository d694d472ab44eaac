import AloftAPI
import AloftCore
import Foundation

// Access control through the management API (docs/protocol.md, "Management API"). Secrets come back once,
// in the answer that makes them; the server keeps only their hashes.
extension AdminClient {
    // MARK: Admin tokens

    public func createAdminToken(name: String) async throws(AloftError) -> CreatedAdminTokenResponse {
        try await call(.createAdminToken, json: CreateAdminTokenRequest(name: name), as: CreatedAdminTokenResponse.self)
    }

    public func adminTokens() async throws(AloftError) -> [AdminTokenView] {
        try await call(.listAdminTokens, as: AdminTokenListResponse.self).tokens
    }

    public func revokeAdminToken(name: String) async throws(AloftError) {
        _ = try await send(.revokeAdminToken, ["name": try Self.pathSegment(name, what: "admin token name")], body: nil, contentType: nil)
    }

    // MARK: Device tokens

    public func revokeDevice(id: String) async throws(AloftError) {
        _ = try await send(.revokeDevice, ["id": try Self.pathSegment(id, what: "device id")], body: nil, contentType: nil)
    }

    /// A fresh token for the device; the old one stops working, and a revoked device is active again.
    public func reissueDeviceToken(id: String) async throws(AloftError) -> DeviceTokenResponse {
        try await call(.reissueDeviceToken, ["id": try Self.pathSegment(id, what: "device id")], as: DeviceTokenResponse.self)
    }

    // MARK: Enrollments

    public func createEnrollment(name: String, channel: String, tags: [String] = []) async throws(AloftError) -> CreatedEnrollmentResponse {
        try await call(
            .createEnrollment, json: CreateEnrollmentRequest(name: name, channel: channel, tags: tags.isEmpty ? nil : tags), as: CreatedEnrollmentResponse.self)
    }

    public func enrollments() async throws(AloftError) -> [EnrollmentView] {
        try await call(.listEnrollments, as: EnrollmentListResponse.self).enrollments
    }

    public func revokeEnrollment(name: String) async throws(AloftError) {
        _ = try await send(.revokeEnrollment, ["name": try Self.pathSegment(name, what: "enrollment name")], body: nil, contentType: nil)
    }

    /// Names go into URL paths; checking them here keeps a `/` or `?` from addressing something else.
    static func pathSegment(_ name: String, what: String) throws(AloftError) -> String {
        try Identifiers.validateName(name, what: what)
        return name
    }
}
