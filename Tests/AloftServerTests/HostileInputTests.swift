import AloftCore
import AloftServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bodies and connections a client would never send on purpose: every one gets a 4xx with a JSON body, or a
/// closed connection, and the server goes on answering.
@Suite struct HostileInputTests {
    @Test func unknownFieldsAreRefusedEverywhere() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let cases: [(String, String, String)] = [
                ("/api/v1/device/checkin", #"{"id":"dev-1","sequence":0,"rejeted":3}"#, "rejeted"),
                ("/api/v1/device/events", #"{"id":"dev-1","type":"failed","why":"x"}"#, "why"),
                ("/api/v1/admin/devices", #"{"id":"d2","channel":"stable","token":"mine"}"#, "token"),
                ("/api/v1/admin/blobs/missing", #"{"sha256":[],"all":true}"#, "all"),
                ("/api/v1/admin/releases", #"{"manifest":"{}","signatures":[{"keyid":"0123456789abcdef","sig":"","alg":"ed25519"}]}"#, "signatures[0].alg"),
                ("/api/v1/admin/releases", #"{"manifest":"{}","signatures":[],"note":1}"#, "note"),
                ("/api/v1/admin/tokens", #"{"name":"x","scope":"read"}"#, "scope"),
            ]
            for (uri, body, field) in cases {
                let response = try await fleet.send(.post, uri, token: uri.contains("/device/") ? token : TestFleet.adminToken, json: body)
                #expect(response.status == .badRequest && response.errorCode == "bad_request", "\(uri) \(body): \(response.text)")
                #expect((response.object["message"] as? String)?.contains("unknown field '\(field)'") == true, "\(response.text)")
            }
            // `null` for an optional field is the same as leaving it out, not an unknown field.
            let nulls = #"{"id":"dev-1","version":null,"sequence":0,"board":null,"micropython":null,"agent":null,"mpy":null,"free":null,"rejected":null}"#
            #expect(try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: nulls).status == .ok)
        }
    }

    @Test func deepNestingIsRefusedBeforeAnyParser() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            func deep(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
            let deepInAField = #"{"id":"dev-1","sequence":0,"board":"# + deep(30_000) + "}"
            let cases: [(String, String)] = [
                ("/api/v1/device/checkin", deep(30_000)),
                ("/api/v1/device/checkin", deepInAField),
                ("/api/v1/device/events", String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)),
                ("/api/v1/admin/devices", deep(30_000)),
                ("/api/v1/admin/releases", deep(100_000)),
                ("/api/v1/admin/tokens", deep(17)),
            ]
            for (uri, body) in cases {
                let response = try await fleet.send(.post, uri, token: uri.contains("/device/") ? token : TestFleet.adminToken, json: body)
                #expect(response.status == .badRequest, "\(uri): \(response.status)")
                #expect((response.object["message"] as? String)?.contains("nests deeper than 16") == true, "\(response.text)")
            }
            // Brackets inside strings are text, not nesting.
            let inString = try await fleet.send(.post, "/api/v1/device/events", token: token, json: #"{"id":"dev-1","type":"failed","reason":"[[[[[[[[[[[[[[[[[[[[[[[[["}"#)
            #expect(inString.status == .noContent)

            // The manifest travels as a string inside the envelope; its own nesting is checked before it is parsed.
            let envelope = SignedRelease(
                manifest: deep(50_000), signatures: [ReleaseSignature(keyid: "0123456789abcdef", sig: Data(count: 64).base64EncodedString())])
            let publish = try await fleet.send(.post, "/api/v1/admin/releases", encoding: envelope)
            #expect(publish.status == .badRequest && (publish.object["message"] as? String)?.contains("nests deeper") == true, "\(publish.text)")
            #expect(try await fleet.send(.get, "/healthz", token: nil).status == .ok)
        }
    }

    @Test func oversizedAndOddBodiesAreRefused() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            // Refused from the header alone, before any body arrives.
            let declared = try await fleet.send(.post, "/api/v1/device/checkin", token: token, headers: [.contentLength: "1000000000"])
            #expect(declared.status == .contentTooLarge && declared.errorCode == "payload_too_large")
            let big = try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: String(repeating: " ", count: 65 * 1024) + "{}")
            #expect(big.status == .contentTooLarge)

            let bodies = [
                #"{"id":"dev-1","sequence":1e400}"#,
                #"{"id":"dev-1","sequence":123456789012345678901234567890}"#,
                #"{"id":"dev-1","sequence":9007199254740992}"#,
                #"{"id":"dev-1","sequence":0,"board":"\u0000"}"#,
                #"{"id":"dev-1","sequence":0,"free":-9223372036854775808}"#,
                #"{"id":"dev-1","sequence":0,"board":["esp32"]}"#,
                #"{"id":"dev-1","sequence":0,"board":"\ud800"}"#,
                "\u{FEFF}" + #"{"id":"dev-1","sequence":0"#,
                "\"just a string\"", "null", "true", "42", "{", "}", "\u{0}",
            ]
            for body in bodies {
                let response = try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: body)
                #expect(response.status == .badRequest && response.errorCode == "bad_request", "\(body): \(response.status) \(response.text)")
            }
            // Unicode is fine where text is expected.
            let unicode = try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: #"{"id":"dev-1","sequence":0,"board":"ésp32-🛰"}"#)
            #expect(unicode.status == .ok)
        }
    }

    // MARK: Connections

    /// A real socket, with a short idle timeout so the slow-client tests take seconds.
    static func live(idleTimeout: Duration = .seconds(1), _ body: @Sendable (_ port: Int, _ fleet: TestFleet) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-hostile-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "aloft.test.hostile")
        logger.logLevel = .critical
        let app = try await buildApplication(
            AloftServerConfiguration(
                host: "127.0.0.1", port: 0, dataDirectory: directory, adminToken: TestFleet.adminToken, database: .sqliteMemory,
                idleTimeout: idleTimeout, logger: logger)
        )
        try await app.test(.live) { client in
            try await body(try #require(client.port), TestFleet(client: client, dataDirectory: directory))
        }
    }

    @Test func hugeHeadersGetA400OrAClosedConnection() async throws {
        try await Self.live { port, fleet in
            for head in [
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n",
                "GET /healthz HTTP/1.1\r\nHost: x\r\n" + (0..<1000).map { "X-\($0): y\r\n" }.joined() + "\r\n",
                "GET /\(String(repeating: "p", count: 200_000)) HTTP/1.1\r\nHost: x\r\n\r\n",
                "POST /api/v1/device/checkin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(String(repeating: "t", count: 9000))\r\n\r\n",
            ] {
                let connection = try RawConnection(port: port)
                await connection.send(head)
                let answer = await connection.receive(for: .seconds(5))
                #expect(answer.closed, "the connection should end")
                #expect(answer.text.isEmpty || answer.text.hasPrefix("HTTP/1.1 4"), "\(answer.text.prefix(200))")
            }
            #expect(try await RawConnection.get(port: port, "/healthz").hasPrefix("HTTP/1.1 200"), "the server still answers")
        }
    }

    @Test func aChunkedBodyIsCutOffAtTheLimit() async throws {
        try await Self.live(idleTimeout: .seconds(10)) { port, fleet in
            let token = try await fleet.registerDevice("dev-1")
            let connection = try RawConnection(port: port)
            await connection.send(
                "POST /api/v1/device/checkin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n")
            let chunk = String(repeating: " ", count: 16 * 1024)
            for _ in 0..<5 { await connection.send(String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n") }
            let answer = await connection.receive(for: .seconds(5), until: "payload_too_large")
            #expect(answer.text.hasPrefix("HTTP/1.1 413"), "\(answer.text.prefix(300))")
            #expect(answer.text.contains(#""error":"payload_too_large""#))
            #expect(try await RawConnection.get(port: port, "/healthz").hasPrefix("HTTP/1.1 200"), "the server still answers")
        }
    }

    @Test func silentAndSlowClientsAreDisconnected() async throws {
        // 3 s, not 1: the test client's own connection must outlive a busy machine's pause before it registers the device
        // (with 1 s, `make test` on 2 cores has seen it closed first: "I/O on closed channel").
        try await Self.live(idleTimeout: .seconds(3)) { port, fleet in
            let token = try await fleet.registerDevice("dev-1")
            let silent = try RawConnection(port: port)
            let halfHead = try RawConnection(port: port)
            await halfHead.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
            let halfBody = try RawConnection(port: port)
            await halfBody.send("POST /api/v1/device/checkin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Length: 100\r\n\r\n{\"id\":")
            let start = ContinuousClock.now
            for connection in [silent, halfHead, halfBody] {
                let answer = await connection.receive(for: .seconds(10))
                #expect(answer.closed, "an idle connection is closed")
                #expect(!answer.text.contains("200 OK"))
            }
            #expect(ContinuousClock.now - start < .seconds(8))

            // A connection that keeps talking is not cut: two requests a bit apart on one connection.
            let alive = try RawConnection(port: port)
            await alive.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await alive.receive(for: .seconds(5), until: "\"ok\"").text.hasPrefix("HTTP/1.1 200"))
            try await Task.sleep(for: .milliseconds(500))
            await alive.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(await alive.receive(for: .seconds(5)).text.hasPrefix("HTTP/1.1 200"))
            #expect(try await RawConnection.get(port: port, "/healthz").hasPrefix("HTTP/1.1 200"), "the server still answers")
        }
    }
}

/// A blocking TCP connection to 127.0.0.1 for writing bytes no HTTP client would.
final class RawConnection: @unchecked Sendable {
    private let fd: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw AloftError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw AloftError("connect() failed")
        }
    }

    deinit { close(fd) }

    /// Sends what it can; a server that already closed the connection makes the rest fail quietly.
    func send(_ text: String) async {
        await Self.onThread { self.sendBlocking(text) }
    }

    /// Reads until the server closes, `marker` shows up, or `timeout` passes.
    func receive(for timeout: Duration, until marker: String? = nil) async -> Answer {
        await Self.onThread { self.receiveBlocking(for: timeout, until: marker) }
    }

    /// One `GET` on a fresh connection; for checking that the server still answers after an abusive client.
    static func get(port: Int, _ path: String) async throws -> String {
        let connection = try RawConnection(port: port)
        await connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return await connection.receive(for: .seconds(10)).text
    }

    /// Blocking socket calls run on a thread of their own: on the cooperative pool (two threads on a small
    /// machine) they would starve the server under test, which runs in the same process.
    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    private func sendBlocking(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            #else
            let sent = bytes[offset...].withUnsafeBytes { Darwin.send(fd, $0.baseAddress, $0.count, 0) }
            #endif
            if sent <= 0 { return }
            offset += sent
        }
    }

    struct Answer: Sendable {
        var text: String
        /// The server closed (or reset) the connection.
        var closed: Bool
    }

    private func receiveBlocking(for timeout: Duration, until marker: String?) -> Answer {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = deadline - ContinuousClock.now
            let ready = poll(&poller, 1, Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            if ready <= 0 { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return Answer(text: String(decoding: bytes, as: UTF8.self), closed: true) }
            bytes += buffer[0..<count]
            if let marker, String(decoding: bytes, as: UTF8.self).contains(marker) { break }
        }
        return Answer(text: String(decoding: bytes, as: UTF8.self), closed: false)
    }
}
