import AloftCore
import AloftServer
import CompressNIO
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct BlobServingTests {
    static let content = Array((0..<2000).map { "line \($0)\n" }.joined().utf8)

    /// A fleet with one device and `content` uploaded.
    static func withBlob(_ body: @Sendable (TestFleet, _ token: String, _ sha: String) async throws -> Void) async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let sha = try await fleet.putBlob(content)
            try await body(fleet, token, sha)
        }
    }

    @Test func servesTheWholeBlobWithHeaders() async throws {
        try await Self.withBlob { fleet, token, sha in
            let response = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token)
            #expect(response.status == .ok)
            #expect(response.bytes == Self.content)
            #expect(response.headers[.contentType] == "application/octet-stream")
            #expect(response.headers[.contentLength] == String(Self.content.count))
            #expect(response.headers[.acceptRanges] == "bytes")
            #expect(response.headers[.eTag] == "\"\(sha)\"")
            #expect(response.headers[.contentRange] == nil)
            // The admin token may fetch blobs too.
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)").status == .ok)
        }
    }

    @Test func servesRanges() async throws {
        try await Self.withBlob { fleet, token, sha in
            let length = Self.content.count
            let cases: [(String, ClosedRange<Int>)] = [
                ("bytes=0-99", 0...99),
                ("bytes=100-", 100...(length - 1)),
                ("bytes=-10", (length - 10)...(length - 1)),
                ("bytes=-999999", 0...(length - 1)),
                ("bytes=\(length - 1)-\(length + 500)", (length - 1)...(length - 1)),
            ]
            for (header, expected) in cases {
                let response = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.range: header])
                #expect(response.status == .partialContent, "\(header)")
                #expect(response.headers[.contentRange] == "bytes \(expected.lowerBound)-\(expected.upperBound)/\(length)", "\(header)")
                #expect(response.headers[.contentLength] == String(expected.count), "\(header)")
                #expect(response.bytes == Array(Self.content[expected]), "\(header)")
            }
        }
    }

    @Test func refusesRangesPastTheEnd() async throws {
        try await Self.withBlob { fleet, token, sha in
            let length = Self.content.count
            for header in ["bytes=\(length)-", "bytes=\(length + 10)-\(length + 20)", "bytes=-0", "bytes=99999999999999999999999-"] {
                let response = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.range: header])
                #expect(response.status == .rangeNotSatisfiable, "\(header)")
                #expect(response.headers[.contentRange] == "bytes */\(length)")
                #expect(response.errorCode == "range_not_satisfiable")
            }
        }
    }

    @Test func ignoresMalformedAndMultipleRanges() async throws {
        try await Self.withBlob { fleet, token, sha in
            for header in ["bytes=abc", "bytes=5-1", "bytes=0-1,5-6", "lines=1-2", "bytes="] {
                let response = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.range: header])
                #expect(response.status == .ok, "\(header)")
                #expect(response.bytes == Self.content)
            }
        }
    }

    @Test func honoursIfNoneMatchAndIfRange() async throws {
        try await Self.withBlob { fleet, token, sha in
            let etag = "\"\(sha)\""
            let cached = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.ifNoneMatch: etag])
            #expect(cached.status == .notModified)
            #expect(cached.body.readableBytes == 0)
            #expect(cached.headers[.eTag] == etag)
            let stale = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.ifNoneMatch: "\"other\""])
            #expect(stale.status == .ok)

            var headers: HTTPFields = [.range: "bytes=0-9", .ifRange: etag]
            let resumed = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: headers)
            #expect(resumed.status == .partialContent)
            #expect(resumed.bytes == Array(Self.content[0...9]))
            headers[.ifRange] = "\"\(sha).zlib\""
            let changed = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: headers)
            #expect(changed.status == .ok)
            #expect(changed.bytes == Self.content)
        }
    }

    @Test func servesTheZlibFormWithA1KiBWindow() async throws {
        try await Self.withBlob { fleet, token, sha in
            let response = try await fleet.send(.get, "/api/v1/blobs/\(sha)/zlib", token: token)
            #expect(response.status == .ok)
            #expect(response.headers[.eTag] == "\"\(sha).zlib\"")
            #expect(response.bytes.first == 0x28)
            #expect(response.body.readableBytes < Self.content.count)
            var compressed = response.body
            let inflated = try compressed.decompress(with: .zlib, configuration: ZlibConfiguration(windowSize: Int32(10)))
            #expect(Array(inflated.readableBytesView) == Self.content)

            let tail = try await fleet.send(.get, "/api/v1/blobs/\(sha)/zlib", token: token, headers: [.range: "bytes=-4"])
            #expect(tail.status == .partialContent)
            #expect(tail.bytes == Array(response.bytes.suffix(4)))

            let noise = randomBytes(256, seed: 5)
            let noiseSHA = try await fleet.putBlob(noise)
            let none = try await fleet.send(.get, "/api/v1/blobs/\(noiseSHA)/zlib", token: token)
            #expect(none.status == .notFound)
            #expect(none.errorCode == "not_found")
        }
    }

    @Test func servesTheZlibFormToAcceptEncodingDeflate() async throws {
        try await Self.withBlob { fleet, token, sha in
            let legacy = try await fleet.send(.get, "/api/v1/blobs/\(sha)/zlib", token: token)
            let response = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.acceptEncoding: "gzip, deflate"])
            #expect(response.status == .ok)
            #expect(response.headers[.contentEncoding] == "deflate")
            #expect(response.headers[.eTag] == "\"\(sha).zlib\"")
            #expect(response.headers[.vary] == "Accept-Encoding")
            #expect(response.headers[.contentType] == "application/octet-stream")
            #expect(response.headers[.contentLength] == String(legacy.body.readableBytes))
            #expect(response.bytes == legacy.bytes, "the same zlib form as /zlib")
            var compressed = response.body
            let inflated = try compressed.decompress(with: .zlib, configuration: ZlibConfiguration(windowSize: Int32(10)))
            #expect(Array(inflated.readableBytesView) == Self.content)

            // The zlib representation has its own ETag, for If-None-Match too.
            let cached = try await fleet.send(
                .get, "/api/v1/blobs/\(sha)", token: token, headers: [.acceptEncoding: "deflate", .ifNoneMatch: "\"\(sha).zlib\""])
            #expect(cached.status == .notModified && cached.headers[.vary] == "Accept-Encoding" && cached.body.readableBytes == 0)
            let other = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.acceptEncoding: "deflate", .ifNoneMatch: "\"\(sha)\""])
            #expect(other.status == .ok && other.headers[.contentEncoding] == "deflate")
            // Several Accept-Encoding lines count as one list.
            var lines: HTTPFields = [:]
            lines[values: .acceptEncoding] = ["gzip", "deflate;q=0.5"]
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: lines).headers[.contentEncoding] == "deflate")
            // The /zlib route of agents before 0.3.0 is the zlib form as bytes, not a content coding.
            #expect(legacy.headers[.contentEncoding] == nil)
        }
    }

    @Test func servesTheRawBytesOtherwise() async throws {
        try await Self.withBlob { fleet, token, sha in
            let noise = randomBytes(256, seed: 5)
            let noiseSHA = try await fleet.putBlob(noise)
            let cases: [(String, HTTPFields, [UInt8], HTTPResponse.Status)] = [
                ("no Accept-Encoding", [:], Self.content, .ok),
                ("q=0", [.acceptEncoding: "deflate;q=0"], Self.content, .ok),
                ("only gzip", [.acceptEncoding: "gzip"], Self.content, .ok),
                ("identity", [.acceptEncoding: "identity"], Self.content, .ok),
                ("* refused", [.acceptEncoding: "*;q=0"], Self.content, .ok),
                // A Range is on the raw bytes: Accept-Encoding is not looked at.
                ("with Range", [.acceptEncoding: "deflate", .range: "bytes=0-9"], Array(Self.content[0...9]), .partialContent),
            ]
            for (name, headers, expected, status) in cases {
                let response = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: headers)
                #expect(response.status == status, "\(name)")
                #expect(response.bytes == expected, "\(name)")
                #expect(response.headers[.contentEncoding] == nil, "\(name)")
                #expect(response.headers[.eTag] == "\"\(sha)\"", "\(name)")
                #expect(response.headers[.vary] == "Accept-Encoding", "\(name)")
            }
            // A blob that does not compress has no zlib form: raw, whatever was asked.
            let raw = try await fleet.send(.get, "/api/v1/blobs/\(noiseSHA)", token: token, headers: [.acceptEncoding: "deflate"])
            #expect(raw.status == .ok && raw.bytes == noise && raw.headers[.contentEncoding] == nil && raw.headers[.eTag] == "\"\(noiseSHA)\"")
            #expect(raw.headers[.vary] == "Accept-Encoding")
        }
    }

    @Test func everyAnswerOfTheBlobRouteVariesOnAcceptEncoding() async throws {
        try await Self.withBlob { fleet, token, sha in
            let unknown = Digest.sha256Hex(Array("nobody uploaded this".utf8))
            let answers = [
                try await fleet.send(.get, "/api/v1/blobs/\(unknown)", token: token, headers: [.acceptEncoding: "deflate"]),
                try await fleet.send(.get, "/api/v1/blobs/\(sha.uppercased())", token: token),
                try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.range: "bytes=999999-"]),
                try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.ifNoneMatch: "\"\(sha)\""]),
            ]
            #expect(answers.map(\.status) == [.notFound, .badRequest, .rangeNotSatisfiable, .notModified])
            for answer in answers {
                #expect(answer.headers[.vary] == "Accept-Encoding", "\(answer.status)")
            }
            #expect(answers[0].errorCode == "not_found" && answers[2].headers[.contentRange] == "bytes */\(Self.content.count)")
        }
    }

    @Test func refusesUnknownBlobsBadNamesAndStrangers() async throws {
        try await Self.withBlob { fleet, token, sha in
            let unknown = Digest.sha256Hex(Array("nobody uploaded this".utf8))
            let missing = try await fleet.send(.get, "/api/v1/blobs/\(unknown)", token: token)
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "not_found")
            #expect(try await fleet.send(.get, "/api/v1/blobs/..%2F..%2Fetc%2Fpasswd", token: token).status == .badRequest)
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha.uppercased())", token: token).status == .badRequest)
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: nil).status == .unauthorized)
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: "aloft_dev_forged").status == .unauthorized)
        }
    }

    @Test func recordsEveryBlobRequestOfADevice() async throws {
        try await Self.withBlob { fleet, token, sha in
            let unknown = Digest.sha256Hex(Array("absent".utf8))
            _ = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token)
            _ = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.range: "bytes=0-9"])
            let zlib = try await fleet.send(.get, "/api/v1/blobs/\(sha)/zlib", token: token)
            let deflate = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.acceptEncoding: "deflate"])
            _ = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.acceptEncoding: "deflate", .ifNoneMatch: "\"\(sha).zlib\""])
            _ = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.range: "bytes=999999-"])
            _ = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token, headers: [.ifNoneMatch: "\"\(sha)\""])
            _ = try await fleet.send(.get, "/api/v1/blobs/\(unknown)", token: token)
            _ = try await fleet.send(.get, "/api/v1/blobs/\(sha)")  // admin: not a device download

            let response = try await fleet.send(.get, "/api/v1/admin/devices/dev-1/downloads")
            #expect(response.status == .ok)
            let downloads = try #require(response.object["downloads"] as? [[String: Any]])
            let summary = downloads.map { "\($0["encoding"]!) \($0["bytes"]!) \($0["status"]!) \(($0["sha256"] as? String) == sha)" }
            #expect(
                summary == [
                    "raw 0 404 false",
                    "raw 0 304 true",
                    "raw 0 416 true",
                    "zlib 0 304 true",
                    "zlib \(deflate.body.readableBytes) 200 true",
                    "zlib \(zlib.body.readableBytes) 200 true",
                    "raw 10 206 true",
                    "raw \(Self.content.count) 200 true",
                ])
            #expect((downloads[0]["at"] as? String)?.hasSuffix("Z") == true)
        }
    }
}
