import AloftCore
import AloftStore
import Foundation
import Hummingbird

// Request and response bodies exactly as docs/protocol.md spells them. Fields the protocol shows as `null`
// are encoded explicitly (synthesized Codable would leave them out).

// MARK: Device API

struct CheckInRequest: Codable {
    var id: String
    var version: String?
    var sequence: Int
    var board: String?
    var micropython: String?
    /// The version of the Aloft agent itself, e.g. `0.2.0`.
    var agent: String?
    var mpy: Int?
    var free: Int?
    /// The highest sequence the device rolled back from; nothing at or below it is offered again.
    var rejected: Int?
    /// The manifest format the agent reads; absent (agents before 0.3.0) is 1.
    var format: Int?
}

struct CheckInResponse: Encodable {
    var action: String
    var poll: Int
    var release: SignedRelease?
    /// Only beside a format-1 envelope; left out otherwise.
    var zlib: [String: Int]?
}

struct EventRequest: Codable {
    var id: String
    var type: String
    var version: String?
    var sequence: Int?
    var reason: String?
}

// MARK: Management API

struct MissingBlobsRequest: Codable {
    var sha256: [String]
}

struct MissingBlobsResponse: Encodable {
    var missing: [String]
}

struct StoredBlobResponse: Encodable {
    var sha256: String
    var size: Int
    var zlibSize: Int?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(size, forKey: .size)
        try c.encode(zlibSize, forKey: .zlibSize)
    }

    enum CodingKeys: String, CodingKey { case sha256, size, zlibSize }
}

struct PublishedReleaseResponse: Encodable {
    var version: String
    var sequence: Int
    var channel: String
    /// Whether the release has a legacy envelope, so agents before 0.3.0 are offered it.
    var legacy: Bool
}

struct ReleaseSummary: Encodable {
    var version: String
    var sequence: Int
    var channel: String
    var created: String
    var files: Int
    var size: Int
    var publishedAt: String
    /// Whether agents before 0.3.0 are offered the release (it has a legacy envelope).
    var legacy: Bool

    init(_ release: ReleaseRecord) {
        self.version = release.version
        self.sequence = release.sequence
        self.channel = release.channel
        self.created = release.created
        self.files = release.fileCount
        self.size = release.totalSize
        self.publishedAt = rfc3339(release.publishedAt)
        self.legacy = release.legacyEnvelope != nil
    }
}

struct ReleaseListResponse: Encodable {
    var releases: [ReleaseSummary]
}

struct ChannelResponse: Encodable {
    struct Latest: Encodable {
        var version: String
        var sequence: Int
    }

    var channel: String
    var latest: Latest?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(channel, forKey: .channel)
        try c.encode(latest, forKey: .latest)
    }

    enum CodingKeys: String, CodingKey { case channel, latest }
}

struct CreateDeviceRequest: Codable {
    var id: String
    var channel: String
}

struct CreatedDeviceResponse: Encodable {
    var id: String
    var channel: String
    var token: String
}

struct EventView: Encodable {
    var type: String
    var version: String?
    var sequence: Int?
    var reason: String?
    var at: String

    init(_ event: DeviceEvent) {
        self.type = event.type
        self.version = event.version
        self.sequence = event.sequence
        self.reason = event.reason
        self.at = rfc3339(event.at)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(version, forKey: .version)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(reason, forKey: .reason)
        try c.encode(at, forKey: .at)
    }

    enum CodingKeys: String, CodingKey { case type, version, sequence, reason, at }
}

struct DeviceView: Encodable {
    var id: String
    var channel: String
    var board: String?
    var micropython: String?
    var agent: String?
    var version: String?
    var sequence: Int
    var lastSeen: String?
    var lastEvent: EventView?
    var revoked: Bool
    var enrollment: String?

    init(_ device: DeviceRecord) {
        self.id = device.id
        self.channel = device.channel
        self.board = device.board
        self.micropython = device.micropython
        self.agent = device.agent
        self.version = device.version
        self.sequence = device.sequence
        self.lastSeen = device.lastSeen.map(rfc3339)
        self.lastEvent = device.lastEvent.map(EventView.init)
        self.revoked = device.revokedAt != nil
        self.enrollment = device.enrollment
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(channel, forKey: .channel)
        try c.encode(board, forKey: .board)
        try c.encode(micropython, forKey: .micropython)
        try c.encode(agent, forKey: .agent)
        try c.encode(version, forKey: .version)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(lastSeen, forKey: .lastSeen)
        try c.encode(lastEvent, forKey: .lastEvent)
        try c.encode(revoked, forKey: .revoked)
        try c.encode(enrollment, forKey: .enrollment)
    }

    enum CodingKeys: String, CodingKey { case id, channel, board, micropython, agent, version, sequence, lastSeen, lastEvent, revoked, enrollment }
}

struct DeviceListResponse: Encodable {
    var devices: [DeviceView]
}

struct EventListResponse: Encodable {
    var events: [EventView]
}

struct DownloadView: Encodable {
    var sha256: String
    var encoding: String
    var bytes: Int
    var status: Int
    var at: String

    init(_ download: BlobDownload) {
        self.sha256 = download.sha256
        self.encoding = download.encoding
        self.bytes = download.bytes
        self.status = download.status
        self.at = rfc3339(download.at)
    }
}

struct DownloadListResponse: Encodable {
    var downloads: [DownloadView]
}

// MARK: Access control

struct CreateAdminTokenRequest: Codable {
    var name: String
}

struct CreatedAdminTokenResponse: Encodable {
    var name: String
    var token: String
}

struct AdminTokenView: Encodable {
    var name: String
    var created: String
    var revoked: Bool
    var revokedAt: String?

    init(_ token: AdminTokenRecord) {
        self.name = token.name
        self.created = rfc3339(token.createdAt)
        self.revoked = token.revokedAt != nil
        self.revokedAt = token.revokedAt.map(rfc3339)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(created, forKey: .created)
        try c.encode(revoked, forKey: .revoked)
        try c.encode(revokedAt, forKey: .revokedAt)
    }

    enum CodingKeys: String, CodingKey { case name, created, revoked, revokedAt }
}

struct AdminTokenListResponse: Encodable {
    var tokens: [AdminTokenView]
}

struct CreateEnrollmentRequest: Codable {
    var name: String
    var channel: String
}

struct CreatedEnrollmentResponse: Encodable {
    var name: String
    var channel: String
    var secret: String
}

struct EnrollmentView: Encodable {
    var name: String
    var channel: String
    var created: String
    var revoked: Bool
    var revokedAt: String?

    init(_ enrollment: EnrollmentRecord) {
        self.name = enrollment.name
        self.channel = enrollment.channel
        self.created = rfc3339(enrollment.createdAt)
        self.revoked = enrollment.revokedAt != nil
        self.revokedAt = enrollment.revokedAt.map(rfc3339)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(channel, forKey: .channel)
        try c.encode(created, forKey: .created)
        try c.encode(revoked, forKey: .revoked)
        try c.encode(revokedAt, forKey: .revokedAt)
    }

    enum CodingKeys: String, CodingKey { case name, channel, created, revoked, revokedAt }
}

struct EnrollmentListResponse: Encodable {
    var enrollments: [EnrollmentView]
}

struct EnrollRequest: Codable {
    var id: String
}

struct DeviceTokenResponse: Encodable {
    var id: String
    var token: String
}

struct HealthResponse: Encodable {
    var status = "ok"
}

// MARK: Helpers

/// RFC 3339 UTC with seconds precision, the protocol's only time format.
func rfc3339(_ date: Date) -> String {
    ReleaseManifest.timestamp(date)
}

extension AloftRequestContext {
    /// `value` as a JSON response.
    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try responseEncoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(data.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
