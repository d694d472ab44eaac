import AloftAPI
import AloftCore
import AloftStore
import Foundation
import Hummingbird

/// Who may do what: admin tokens, device token revocation and reissue, fleet enrollments and the enroll endpoint
/// (docs/protocol.md, "Access control").
///
/// Every secret is made here, shown once in the answer that creates it, and stored only as its SHA-256.
struct AccessAPI<Store: FleetStore>: Sendable {
    let store: Store

    /// Adds admin tokens, device token revocation and reissue, enrollments, and the enroll endpoint.
    func addRoutes(to routes: RouteTable) {
        routes.add(.listAdminTokens, use: listAdminTokens)
        routes.add(.createAdminToken, use: createAdminToken)
        routes.add(.revokeAdminToken, use: revokeAdminToken)
        routes.add(.revokeDevice, use: revokeDevice)
        routes.add(.reissueDeviceToken, use: reissueDeviceToken)
        routes.add(.listEnrollments, use: listEnrollments)
        routes.add(.createEnrollment, use: createEnrollment)
        routes.add(.revokeEnrollment, use: revokeEnrollment)
        routes.add(.enroll, use: enroll)
    }

    // MARK: Admin tokens

    @Sendable func listAdminTokens(request: Request, context: AloftRequestContext) async throws -> Response {
        try await context.json(AdminTokenListResponse(tokens: store.adminTokens().map(AdminTokenView.init)))
    }

    @Sendable func createAdminToken(request: Request, context: AloftRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: CreateAdminTokenRequest.self)
        try Identifiers.validateName(body.name, what: "admin token name")
        guard body.name != AdminCredential.bootstrapName else {
            throw APIError.conflict("'\(AdminCredential.bootstrapName)' names the token given to `aloft serve`; choose another name")
        }
        let token = BearerSecret.admin.generate()
        let record = try await store.createAdminToken(name: body.name, tokenHash: BearerSecret.hash(token))
        context.logger.notice("created admin token", metadata: ["name": "\(record.name)", "by": "\(context.adminName ?? "-")"])
        return try context.json(CreatedAdminTokenResponse(name: record.name, token: token), status: .created)
    }

    @Sendable func revokeAdminToken(request: Request, context: AloftRequestContext) async throws -> Response {
        let name = try context.parameters.require("name")
        try Identifiers.validateName(name, what: "admin token name")
        try await store.revokeAdminToken(name: name)
        context.logger.notice("revoked admin token", metadata: ["name": "\(name)", "by": "\(context.adminName ?? "-")"])
        return Response(status: .noContent)
    }

    // MARK: Device tokens

    @Sendable func revokeDevice(request: Request, context: AloftRequestContext) async throws -> Response {
        try await revokeDevice(id: Self.deviceID(context), context: context)
        return Response(status: .noContent)
    }

    /// Revokes a device's token, from the API or the console.
    func revokeDevice(id: String, context: AloftRequestContext) async throws {
        try await store.revokeDevice(id: id)
        context.logger.notice("revoked device token", metadata: ["id": "\(id)", "by": "\(context.adminName ?? "-")"])
    }

    @Sendable func reissueDeviceToken(request: Request, context: AloftRequestContext) async throws -> Response {
        let id = try Self.deviceID(context)
        return try context.json(DeviceTokenResponse(id: id, token: try await newDeviceToken(id: id, context: context)))
    }

    /// A new token for a device, from the API or the console: the old one stops working, a revoked device works again.
    /// The token is returned to be shown once; only its SHA-256 is stored, and it is never logged.
    func newDeviceToken(id: String, context: AloftRequestContext) async throws -> String {
        let token = BearerSecret.device.generate()
        try await store.replaceDeviceToken(id: id, tokenHash: BearerSecret.hash(token))
        context.logger.notice("issued a new device token", metadata: ["id": "\(id)", "by": "\(context.adminName ?? "-")"])
        return token
    }

    // MARK: Enrollments

    @Sendable func listEnrollments(request: Request, context: AloftRequestContext) async throws -> Response {
        try await context.json(EnrollmentListResponse(enrollments: store.enrollments().map(EnrollmentView.init)))
    }

    @Sendable func createEnrollment(request: Request, context: AloftRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: CreateEnrollmentRequest.self)
        try Identifiers.validateName(body.name, what: "enrollment name")
        try Identifiers.validateChannel(body.channel)
        let tags = body.tags ?? []
        try AdminAPI<Store>.requireTags(tags)
        let secret = BearerSecret.enrollment.generate()
        let record = try await store.createEnrollment(name: body.name, channel: body.channel, secretHash: BearerSecret.hash(secret), tags: tags)
        context.logger.notice(
            "created enrollment", metadata: ["name": "\(record.name)", "channel": "\(record.channel)", "by": "\(context.adminName ?? "-")"])
        return try context.json(CreatedEnrollmentResponse(name: record.name, channel: record.channel, secret: secret), status: .created)
    }

    @Sendable func revokeEnrollment(request: Request, context: AloftRequestContext) async throws -> Response {
        let name = try context.parameters.require("name")
        try Identifiers.validateName(name, what: "enrollment name")
        try await store.revokeEnrollment(name: name)
        context.logger.notice("revoked enrollment", metadata: ["name": "\(name)", "by": "\(context.adminName ?? "-")"])
        return Response(status: .noContent)
    }

    /// `POST /api/v1/device/enroll`: registers the device on the enrollment's channel and answers with its own token.
    @Sendable func enroll(request: Request, context: AloftRequestContext) async throws -> Response {
        guard let enrollment = context.enrollment else { throw APIError(.unauthorized, "this endpoint needs an enrollment secret") }
        let body = try await request.decodeJSON(as: EnrollRequest.self)
        try Identifiers.validateDeviceID(body.id)
        // The enrollment's tags and the image's: a batch of boards can carry where it is going.
        let tags = Array(Set(enrollment.tags + (body.tags ?? [])))
        try AdminAPI<Store>.requireTags(tags)
        let token = BearerSecret.device.generate()
        let device = try await store.createDevice(
            NewDevice(id: body.id, channel: enrollment.channel, tokenHash: BearerSecret.hash(token), enrollment: enrollment.name, tags: tags))
        context.logger.info("enrolled device", metadata: ["id": "\(device.id)", "channel": "\(device.channel)", "enrollment": "\(enrollment.name)"])
        return try context.json(CreatedDeviceResponse(id: device.id, channel: device.channel, token: token), status: .created)
    }

    private static func deviceID(_ context: AloftRequestContext) throws -> String {
        let id = try context.parameters.require("id")
        try Identifiers.validateDeviceID(id)
        return id
    }
}
