import AloftCore
import AloftStore
import Foundation
import Hummingbird
import Synchronization

/// Serves blob files with `ETag`, `If-None-Match`, one-range `Range` and `If-Range`, `Accept-Encoding: deflate`,
/// and records every request.
///
/// Written here rather than with `FileMiddleware`, which answers suffix and past-the-end ranges wrongly for this protocol.
struct BlobResponder<Store: FleetStore>: Sendable {
    let blobs: BlobStore
    let store: Store
    let metrics: ServerMetrics
    var clock: @Sendable () -> Date = { Date() }
    let fileIO = FileIO()

    /// `GET /api/v1/blobs/{sha256}`: the zlib form, said with `Content-Encoding: deflate`, when the request accepts
    /// deflate, has no `Range` (ranges are on the raw bytes) and the blob has a zlib form; else the raw bytes.
    /// Every answer, errors included, says `Vary: Accept-Encoding`, since the same URL has two representations.
    func respondNegotiating(sha256: String, request: Request, context: AloftRequestContext) async throws -> Response {
        let vary = "Accept-Encoding"
        do {
            let accepts = request.headers[.range] == nil
                && AcceptEncoding.accepts("deflate", header: request.headers[values: .acceptEncoding].joined(separator: ","))
            var deflate = false
            if accepts { deflate = try await blobs.size(of: sha256, encoding: .zlib) != nil }
            var response = try await respond(
                sha256: sha256, encoding: deflate ? .zlib : .raw, contentEncoding: deflate ? "deflate" : nil, request: request, context: context)
            response.headers[.vary] = vary
            return response
        } catch {
            guard var answer = APIError.from(error) else { throw error }
            answer.headers[.vary] = vary
            throw answer
        }
    }

    /// One form of a blob as it is stored; `contentEncoding` labels the zlib form as an HTTP content coding.
    func respond(
        sha256: String, encoding: BlobStore.Encoding, contentEncoding: String? = nil, request: Request, context: AloftRequestContext
    ) async throws -> Response {
        guard Digest.isSHA256Hex(sha256) else {
            throw APIError.badRequest("'\(sha256.prefix(80))' is not a SHA-256 (64 lowercase hex characters)")
        }
        let deviceID = context.device?.id
        let clock = self.clock
        let record = { @Sendable (status: HTTPResponse.Status, bytes: Int) async throws in
            try await store.recordDownload(
                BlobDownload(deviceID: deviceID, sha256: sha256, encoding: encoding.rawValue, bytes: bytes, status: status.code, at: clock())
            )
        }
        guard let length = try await blobs.size(of: sha256, encoding: encoding) else {
            try await record(.notFound, 0)
            throw APIError.notFound(encoding == .raw ? "no blob \(sha256) on this server" : "no zlib form of blob \(sha256) on this server")
        }
        let etag = encoding == .raw ? "\"\(sha256)\"" : "\"\(sha256).zlib\""
        var headers: HTTPFields = [.contentType: "application/octet-stream", .acceptRanges: "bytes", .eTag: etag]
        if let contentEncoding { headers[.contentEncoding] = contentEncoding }

        if let ifNoneMatch = request.headers[.ifNoneMatch], EntityTag.ifNoneMatch(ifNoneMatch, matches: etag) {
            try await record(.notModified, 0)
            return Response(status: .notModified, headers: headers)
        }

        var range: ClosedRange<Int>? = nil
        if let header = request.headers[.range], let requested = ByteRangeRequest.parse(header),
            request.headers[.ifRange].map({ EntityTag.ifRange($0, matches: etag) }) ?? true
        {
            switch requested.resolve(length: length) {
            case .whole:
                break
            case .partial(let bytes):
                range = bytes
            case .unsatisfiable:
                try await record(.rangeNotSatisfiable, 0)
                throw APIError(
                    .rangeNotSatisfiable, "range '\(header.prefix(80))' is outside the \(length) bytes of this blob",
                    headers: [.contentRange: "bytes */\(length)"]
                )
            }
        }

        let status: HTTPResponse.Status
        let body: ResponseBody
        let path = blobs.path(of: sha256, encoding: encoding)
        if let range {
            status = .partialContent
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(length)"
            headers[.contentLength] = String(range.count)
            body = try await fileIO.loadFile(path: path, range: range, context: context)
        } else {
            status = .ok
            headers[.contentLength] = String(length)
            body = length == 0 ? ResponseBody() : try await fileIO.loadFile(path: path, context: context)
        }
        let metrics = self.metrics
        let logger = context.logger
        let tally = DownloadTally()
        let counted = ResponseBody(contentLength: body.contentLength) { writer in
            // Recorded just before the final chunk goes out, so a client that has the whole body can read the record.
            let finish = { @Sendable () async in
                guard let bytes = tally.finish() else { return }
                metrics.blobBytesServed(bytes, encoding: encoding)
                do { try await record(status, bytes) } catch { logger.error("cannot record download", metadata: ["error": "\(error)"]) }
            }
            do {
                try await body.write(CountingBodyWriter(parent: writer, tally: tally, beforeFinish: finish))
            } catch {
                await finish()
                throw error
            }
        }
        return Response(status: status, headers: headers, body: counted)
    }
}

/// Bytes written so far for one response, and whether they have been recorded.
private final class DownloadTally: Sendable {
    private let state = Mutex<(bytes: Int, finished: Bool)>((0, false))

    func add(_ count: Int) {
        state.withLock { $0.bytes += count }
    }

    /// The byte count, the first time only.
    func finish() -> Int? {
        state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            return state.bytes
        }
    }
}

private struct CountingBodyWriter: ResponseBodyWriter {
    var parent: any ResponseBodyWriter
    let tally: DownloadTally
    let beforeFinish: @Sendable () async -> Void

    mutating func write(_ buffer: ByteBuffer) async throws {
        try await parent.write(buffer)
        tally.add(buffer.readableBytes)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        await beforeFinish()
        try await parent.finish(trailingHeaders)
    }
}
