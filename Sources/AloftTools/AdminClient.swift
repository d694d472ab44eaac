import AloftAPI
import AloftCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// The management API as Swift calls (docs/protocol.md, "Management API").
///
/// Every failure becomes an ``AloftError`` with one line a person can act on: the server's own
/// message for 4xx/5xx answers, "cannot reach" for connection failures.
public struct AdminClient: Sendable {
    public let server: String
    let adminToken: String
    let http: HTTPClient
    /// Set when the server's certificate is checked against given CA certificates instead of the system's.
    let tlsConfiguration: TLSConfiguration?

    /// One client for the life of the process. It fails fast on a refused connection instead of retrying
    /// until the request deadline (the default), so "server down" is reported at once.
    public static let defaultHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// `caCertificates` is PEM text of the CA certificate(s) an `https://` server's certificate must chain to; nil trusts
    /// the system's CAs.
    public init(server: String, adminToken: String, caCertificates: String? = nil, http: HTTPClient = AdminClient.defaultHTTP) throws(AloftError) {
        var base = server
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw AloftError("invalid server URL '\(server)': expected http://HOST:PORT or https://HOST:PORT")
        }
        guard !adminToken.isEmpty else { throw AloftError("no admin token: pass --admin-token or set ALOFT_ADMIN_TOKEN") }
        self.server = base
        self.adminToken = adminToken
        self.http = http
        if let caCertificates {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try Self.certificates(pem: caCertificates))
            tlsConfiguration = tls
        } else {
            tlsConfiguration = nil
        }
    }

    /// Every certificate in PEM text; refuses text with none, so a wrong file is reported before any connection.
    public static func certificates(pem: String) throws(AloftError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do { certificates = try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)) } catch { certificates = [] }
        guard !certificates.isEmpty else { throw AloftError("no PEM certificate (-----BEGIN CERTIFICATE-----) in the CA file") }
        return certificates
    }

    // MARK: Blobs and releases

    /// Hashes asked about in one request: 512 of them are about 34 KiB of JSON, within the server's 64 KiB body limit.
    static let missingBlobsBatch = 512

    /// Which of `digests` the server lacks, asked in batches, so a release of thousands of files fits the body limit.
    public func missingBlobs(_ digests: [String]) async throws(AloftError) -> [String] {
        var missing: [String] = []
        for start in stride(from: 0, to: digests.count, by: Self.missingBlobsBatch) {
            let batch = Array(digests[start..<min(start + Self.missingBlobsBatch, digests.count)])
            missing += try await call(.missingBlobs, json: MissingBlobsRequest(sha256: batch), as: MissingBlobsResponse.self).missing
        }
        return missing
    }

    public func uploadBlob(sha256: String, bytes: [UInt8]) async throws(AloftError) {
        _ = try await send(.putBlob, ["sha256": sha256], body: bytes, contentType: "application/octet-stream")
    }

    public func publish(_ release: ReleasePublication) async throws(AloftError) -> PublishedReleaseResponse {
        try await call(.publishRelease, json: release, as: PublishedReleaseResponse.self)
    }

    public func releases(channel: String? = nil) async throws(AloftError) -> [ReleaseSummary] {
        try await call(.listReleases, query: channel.map { "channel=\($0)" }, as: ReleaseListResponse.self).releases
    }

    /// The sequence a release published now takes: above the newest release and above what the channel's devices
    /// reported (``ChannelSequence``); latest + 1 from a server that does not say.
    public func nextSequence(channel: String) async throws(AloftError) -> Int {
        let answer = try await call(.channel, ["channel": channel], as: ChannelResponse.self)
        return answer.next ?? (answer.latest?.sequence ?? 0) + 1
    }

    // MARK: Devices

    /// Registers a device with `tags` (for rollout targets): its token, shown this once.
    public func registerDevice(id: String, channel: String, tags: [String] = []) async throws(AloftError) -> CreatedDeviceResponse {
        try await call(.createDevice, json: CreateDeviceRequest(id: id, channel: channel, tags: tags.isEmpty ? nil : tags), as: CreatedDeviceResponse.self)
    }

    public func device(_ id: String) async throws(AloftError) -> DeviceView {
        try await call(.device, ["id": id], as: DeviceView.self)
    }

    public func events(device id: String) async throws(AloftError) -> [EventView] {
        try await call(.deviceEvents, ["id": id], as: EventListResponse.self).events
    }

    public func downloads(device id: String) async throws(AloftError) -> [DownloadView] {
        try await call(.deviceDownloads, ["id": id], as: DownloadListResponse.self).downloads
    }

    // MARK: Transport

    func call<Body: Encodable, Answer: Decodable>(
        _ operation: APIOperation, _ parameters: [String: String] = [:], json: Body, as: Answer.Type
    ) async throws(AloftError) -> Answer {
        let body: Data
        do { body = try JSONEncoder().encode(json) } catch { throw AloftError("cannot encode request: \(error)") }
        let bytes = try await send(operation, parameters, body: Array(body), contentType: "application/json")
        return try decode(Answer.self, from: bytes, path: operation.path)
    }

    func call<Answer: Decodable>(
        _ operation: APIOperation, _ parameters: [String: String] = [:], query: String? = nil, as: Answer.Type
    ) async throws(AloftError) -> Answer {
        try decode(Answer.self, from: try await send(operation, parameters, query: query, body: nil, contentType: nil), path: operation.path)
    }

    /// Sends a request for `operation`, its path's `{parameters}` filled in from `parameters`.
    func send(
        _ operation: APIOperation, _ parameters: [String: String] = [:], query: String? = nil, body: [UInt8]?, contentType: String?
    ) async throws(AloftError) -> [UInt8] {
        var path = operation.path
        for name in operation.pathParameterNames {
            guard let value = parameters[name] else { preconditionFailure("no value for {\(name)} of \(operation.path)") }
            path = path.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return try await send(operation.method.rawValue, path + (query.map { "?\($0)" } ?? ""), body: body, contentType: contentType)
    }

    private func decode<Answer: Decodable>(_ type: Answer.Type, from bytes: [UInt8], path: String) throws(AloftError) -> Answer {
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(bytes))
        } catch {
            throw AloftError("unexpected answer from \(server)\(path): not the JSON this client expects")
        }
    }

    func send(_ method: String, _ path: String, body: [UInt8]?, contentType: String?) async throws(AloftError) -> [UInt8] {
        var request = HTTPClientRequest(url: server + path)
        request.method = HTTPMethod(rawValue: method)
        request.tlsConfiguration = tlsConfiguration
        request.headers.add(name: "Authorization", value: "Bearer \(adminToken)")
        if let body, let contentType {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: HTTPResponseStatus
        let bytes: [UInt8]
        do {
            let response = try await http.execute(request, timeout: .seconds(60))
            status = response.status
            bytes = Array(buffer: try await response.body.collect(upTo: 64 * 1024 * 1024))
        } catch {
            throw AloftError("cannot reach the server at \(server): \(Self.describe(error))")
        }
        guard (200..<300).contains(status.code) else {
            if let error = try? JSONDecoder().decode(ErrorResponse.self, from: Data(bytes)) {
                throw AloftError("server refused: \(error.message) (HTTP \(status.code))")
            }
            throw AloftError("server answered HTTP \(status.code) to \(method) \(path)")
        }
        return bytes
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "its TLS certificate is not signed by a trusted CA (pass the CA certificate with --ca-cert or ALOFT_CA_CERT)"
        }
        if text.contains("failedToValidateHostname") { return "its TLS certificate is not issued for this host name or address" }
        if text.contains("WRONG_VERSION_NUMBER") { return "it does not speak TLS (use http://)" }
        if text.contains("remoteConnectionClosed") { return "the server closed the connection (if it serves HTTPS, use https://)" }
        if text.contains("connectTimeout") || text.contains("Timeout") { return "timed out" }
        if text.contains("connectionRefused") || text.contains("Connection refused") || text.contains("ECONNREFUSED") { return "connection refused" }
        return text.split(separator: "\n").first.map(String.init) ?? text
    }
}
