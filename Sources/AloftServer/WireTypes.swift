import AloftCore
import AloftStore
import Foundation
import Hummingbird

// Request and response bodies exactly as docs/protocol.md spells them. Fields the protocol shows as `null`
// are encoded explicitly (synthesized Codable would leave them out).

// MARK: Device API

struct CheckInRequest: Decodable {
    var id: String
    var version: String?
    var sequence: Int
    var board: String?
    var micropython: String?
    var mpy: Int?
    var free: Int?
    /// The highest sequence the device rolled back from; nothing at or below it is offered again.
    var rejected: Int?
}

struct CheckInResponse: Encodable {
    var action: String
    var poll: Int
    var release: SignedRelease?
    var zlib: [String: Int]?
}

struct EventRequest: Decodable {
    var id: String
    var type: String
    var version: String?
    var sequence: Int?
    var reason: String?
}

// MARK: Management API

struct MissingBlobsRequest: Decodable {
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
}

struct ReleaseSummary: Encodable {
    var version: String
    var sequence: Int
    var channel: String
    var created: String
    var files: Int
    var size: Int
    var publishedAt: String

    init(_ release: ReleaseRecord) {
        self.version = release.version
        self.sequence = release.sequence
        self.channel = release.channel
        self.created = release.created
        self.files = release.fileCount
        self.size = release.totalSize
        self.publishedAt = rfc3339(release.publishedAt)
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

struct CreateDeviceRequest: Decodable {
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
    var version: String?
    var sequence: Int
    var lastSeen: String?
    var lastEvent: EventView?

    init(_ device: DeviceRecord) {
        self.id = device.id
        self.channel = device.channel
        self.board = device.board
        self.micropython = device.micropython
        self.version = device.version
        self.sequence = device.sequence
        self.lastSeen = device.lastSeen.map(rfc3339)
        self.lastEvent = device.lastEvent.map(EventView.init)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(channel, forKey: .channel)
        try c.encode(board, forKey: .board)
        try c.encode(micropython, forKey: .micropython)
        try c.encode(version, forKey: .version)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(lastSeen, forKey: .lastSeen)
        try c.encode(lastEvent, forKey: .lastEvent)
    }

    enum CodingKeys: String, CodingKey { case id, channel, board, micropython, version, sequence, lastSeen, lastEvent }
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

struct HealthResponse: Encodable {
    var status = "ok"
}

// MARK: Helpers

/// RFC 3339 UTC with seconds precision, the protocol's only time format.
func rfc3339(_ date: Date) -> String {
    ReleaseManifest.timestamp(date)
}

extension Request {
    /// The body, at most `limit` bytes; refused before reading when `Content-Length` already says more.
    func collectBody(limit: Int) async throws -> ByteBuffer {
        if let declared = headers[.contentLength], let length = Int(declared), length > limit {
            throw APIError.payloadTooLarge(limit: limit)
        }
        do {
            return try await body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge(limit: limit)
        }
    }

    /// Decodes a JSON body; any decoding problem becomes a 400 that names the field.
    func decodeJSON<T: Decodable>(as type: T.Type = T.self, limit: Int = AloftRequestContext.maxJSONBody) async throws -> T {
        let buffer = try await collectBody(limit: limit)
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("request body must be a JSON object") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.badRequest("request body is not valid: \(APIError.describe(error))")
        }
    }
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
