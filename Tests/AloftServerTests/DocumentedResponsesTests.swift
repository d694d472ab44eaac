import AloftAPI
import AloftCore
import AloftServer
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Synchronization
import Testing

/// A fleet whose every answer is checked against the served OpenAPI document: the status is one the operation lists,
/// the content type is the documented one, a JSON body matches its schema and the required headers are there.
final class DocumentedFleet: Sendable {
    let fleet: TestFleet
    let document: JSONValue
    let validator: SchemaValidator
    /// `operationId status` of every answer seen.
    private let seen = Mutex<Set<String>>([])

    init(_ fleet: TestFleet) async throws {
        self.fleet = fleet
        document = try JSONValue.parse(try await fleet.send(.get, "/api/v1/openapi.json", token: nil).bytes)
        validator = SchemaValidator(document: document)
    }

    var answersSeen: Set<String> { seen.withLock { $0 } }

    @discardableResult
    func call(
        _ operation: APIOperation, _ parameters: [String: String] = [:], query: String? = nil, token: String? = TestFleet.adminToken,
        json: String? = nil, body: [UInt8]? = nil, headers: HTTPFields = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> TestResponse {
        var uri = operation.path
        for name in operation.pathParameterNames { uri = uri.replacingOccurrences(of: "{\(name)}", with: try #require(parameters[name])) }
        if let query { uri += "?" + query }
        let method = try #require(HTTPRequest.Method(rawValue: operation.method.rawValue))
        let response: TestResponse
        if let json {
            response = try await fleet.send(method, uri, token: token, json: json)
        } else {
            response = try await fleet.send(method, uri, token: token, body: body.map { ByteBuffer(bytes: $0) }, headers: headers)
        }
        let status = String(response.status.code)
        seen.withLock { _ = $0.insert("\(operation.id) \(status)") }
        let entry = document["paths"]?[operation.path]?[operation.method.rawValue.lowercased()]
        guard let answer = entry?["responses"]?[status] else {
            Issue.record("\(operation.id) answered \(status), which the document does not list: \(response.text.prefix(200))", sourceLocation: sourceLocation)
            return response
        }
        let contentType = response.headers[.contentType] ?? ""
        if let content = answer["content"]?.objectValue {
            let mediaType = try #require(content.keys.first)
            #expect(contentType.hasPrefix(mediaType), "\(operation.id) \(status): Content-Type \(contentType)", sourceLocation: sourceLocation)
            if mediaType == "application/json", let schema = content[mediaType]?["schema"] {
                let body = try JSONValue.parse(response.bytes)
                let errors = validator.errors(body, schema)
                #expect(errors == [], "\(operation.id) \(status): \(response.text.prefix(300))", sourceLocation: sourceLocation)
            }
        } else {
            #expect(response.body.readableBytes == 0, "\(operation.id) \(status) has no body in the document", sourceLocation: sourceLocation)
        }
        for (name, header) in answer["headers"]?.objectValue ?? [:] where header["required"] == true {
            #expect(
                response.headers[HTTPField.Name(name)!] != nil, "\(operation.id) \(status): no \(name) header", sourceLocation: sourceLocation)
        }
        return response
    }
}

@Suite struct DocumentedResponsesTests {
    /// Every operation, its answers and the usual refusals, through a fleet's life.
    @Test func realAnswersMatchTheDocument() async throws {
        try await TestFleet.run(rateLimits: .off) { fleet in
            let api = try await DocumentedFleet(fleet)
            try await api.call(.health, token: nil)
            try await api.call(.openAPIDocument, token: nil)
            try await api.call(.metrics)
            try await api.call(.dashboard)

            // Devices, before anything is installed: the view's null members.
            try await api.call(.listDevices)
            let created = try await api.call(.createDevice, json: #"{"id":"dev-1","channel":"stable"}"#)
            let token = try #require(created.object["token"] as? String)
            try await api.call(.createDevice, json: #"{"id":"dev-1","channel":"stable"}"#)
            try await api.call(.createDevice, json: #"{"id":"dev-2","channel":"stable","extra":1}"#)
            try await api.call(.createDevice, token: nil, json: #"{"id":"dev-2","channel":"stable"}"#)
            try await api.call(.device, ["id": "dev-1"])
            try await api.call(.device, ["id": "nobody"])
            try await api.call(.device, ["id": "-bad"])
            try await api.call(.listDevices)
            try await api.call(.checkIn, token: token, json: #"{"id":"dev-1","version":null,"sequence":0}"#)
            try await api.call(.checkIn, token: token, json: #"{"id":"dev-2","version":null,"sequence":0}"#)
            try await api.call(.checkIn, token: token, json: #"{"id":"dev-1","sequence":"zero"}"#)
            try await api.call(.checkIn, token: TestFleet.adminToken, json: #"{"id":"dev-1","sequence":0}"#)
            try await api.call(.channel, ["channel": "stable"])

            // A release: blobs, then the publication; refused while its blobs are missing.
            let release = TestRelease()
            try await api.call(.publishRelease, json: Self.json(release.publication))
            for bytes in release.files.map(\.bytes) + [release.fileList] {
                try await api.call(.putBlob, ["sha256": Digest.sha256Hex(bytes)], body: bytes)
            }
            try await api.call(.putBlob, ["sha256": release.files[0].sha256], body: release.files[0].bytes)
            try await api.call(.putBlob, ["sha256": release.files[0].sha256], body: [1, 2, 3])
            try await api.call(.missingBlobs, json: Self.json(MissingBlobsRequest(sha256: [release.files[0].sha256, String(repeating: "a", count: 64)])))
            try await api.call(.missingBlobs, json: #"{"sha256":["nope"]}"#)
            try await api.call(.publishRelease, json: Self.json(release.publication))
            try await api.call(.publishRelease, json: Self.json(release.publication))
            try await api.call(.publishRelease, json: #"{"manifest":"{}","signatures":[]}"#)
            try await api.call(.listReleases)
            try await api.call(.listReleases, query: "channel=stable")
            try await api.call(.listReleases, query: "channel=Not_A_Channel")
            try await api.call(.channel, ["channel": "stable"])

            // Offers in both formats, then the blobs a device fetches.
            try await api.call(.checkIn, token: token, json: Self.json(CheckInRequest(id: "dev-1", sequence: 0, board: "esp32", micropython: "1.22.0", format: 2)))
            try await api.call(.checkIn, token: token, json: Self.json(CheckInRequest(id: "dev-1", sequence: 0, board: "esp32", micropython: "1.22.0")))
            let sha = release.files[0].sha256
            try await api.call(.blob, ["sha256": sha], token: token, headers: [.acceptEncoding: "deflate"])
            try await api.call(.blob, ["sha256": sha], token: token)
            try await api.call(.blob, ["sha256": sha], token: token, headers: [.range: "bytes=10-"])
            try await api.call(.blob, ["sha256": sha], token: token, headers: [.range: "bytes=999999-"])
            try await api.call(.blob, ["sha256": sha], token: token, headers: [.ifNoneMatch: "\"\(sha)\""])
            try await api.call(.blob, ["sha256": String(repeating: "b", count: 64)], token: token)
            try await api.call(.blob, ["sha256": "not-a-sha"], token: token)
            try await api.call(.blob, ["sha256": sha], token: nil)
            try await api.call(.zlibBlob, ["sha256": sha], token: token)
            try await api.call(.zlibBlob, ["sha256": sha], token: token, headers: [.range: "bytes=0-3"])
            try await api.call(.zlibBlob, ["sha256": sha], token: token, headers: [.ifNoneMatch: "\"\(sha).zlib\""])
            try await api.call(.zlibBlob, ["sha256": sha], token: token, headers: [.range: "bytes=-0"])
            try await api.call(.zlibBlob, ["sha256": release.files[1].sha256], token: token)

            // What the device reports, and what the admin then sees.
            try await api.call(.reportEvent, token: token, json: #"{"id":"dev-1","type":"installed","version":"1.0.0","sequence":1}"#)
            try await api.call(.reportEvent, token: token, json: #"{"id":"dev-1","type":"failed","version":null,"sequence":null,"reason":"bad"}"#)
            try await api.call(.reportEvent, token: token, json: #"{"id":"dev-1","type":"exploded"}"#)
            try await api.call(.reportEvent, token: token, json: #"{"id":"dev-2","type":"failed"}"#)
            try await api.call(
                .checkIn, token: token,
                json: Self.json(CheckInRequest(id: "dev-1", version: "1.0.0", sequence: 1, board: "esp32", micropython: "1.22.0", agent: "0.3.0", format: 2)))
            try await api.call(.device, ["id": "dev-1"])
            try await api.call(.deviceEvents, ["id": "dev-1"])
            try await api.call(.deviceEvents, ["id": "dev-1"], query: "limit=1")
            try await api.call(.deviceEvents, ["id": "dev-1"], query: "limit=0")
            try await api.call(.deviceEvents, ["id": "nobody"])
            try await api.call(.deviceDownloads, ["id": "dev-1"])
            try await api.call(.deviceDownloads, ["id": "nobody"])

            // Tags, pins, a release read back for promotion, unique versions, and rollouts.
            try await api.call(.tagDevice, ["id": "dev-1"], json: #"{"add":["lab","eu"],"remove":["eu"]}"#)
            try await api.call(.tagDevice, ["id": "dev-1"], json: #"{"add":["no tag"]}"#)
            try await api.call(.tagDevice, ["id": "nobody"], json: #"{"add":["lab"]}"#)
            try await api.call(.listDevices, query: "tag=lab&channel=stable&version=1.0.0")
            try await api.call(.listDevices, query: "tag=-")
            try await api.call(.pinDevice, ["id": "dev-1"], json: #"{"version":"1.0.0"}"#)
            try await api.call(.pinDevice, ["id": "dev-1"], json: #"{"version":"7.7.7"}"#)
            try await api.call(.pinDevice, ["id": "dev-1"], json: #"{"version":"x"}"#)
            try await api.call(.device, ["id": "dev-1"])
            try await api.call(.unpinDevice, ["id": "dev-1"])
            try await api.call(.unpinDevice, ["id": "nobody"])
            // A failure remembered, shown with the decision, and forgotten.
            let noFlash = #"{"id":"dev-1","type":"failed","version":"1.0.0","sequence":1,"reason":"insufficient storage: need 843776 bytes, 307200 free"}"#
            try await api.call(.reportEvent, token: token, json: noFlash)
            try await api.call(.device, ["id": "dev-1"])
            try await api.call(.listDevices)
            try await api.call(.retryDevice, ["id": "dev-1"], query: "version=1.0.0")
            try await api.call(.reportEvent, token: token, json: noFlash)
            try await api.call(.retryDevice, ["id": "dev-1"])
            try await api.call(.retryDevice, ["id": "nobody"])
            try await api.call(.retryDevice, ["id": "dev-1"], query: "version=7.7.7")
            try await api.call(.retryDevice, ["id": "dev-1"], query: "version=x")
            try await api.call(.release, ["channel": "stable", "version": "1.0.0"])
            try await api.call(.release, ["channel": "stable", "version": "7.7.7"])
            try await api.call(.release, ["channel": "stable", "version": "x"])
            let next = TestRelease(version: "1.1.0", sequence: 2, files: [TestRelease.File(path: "main.py", bytes: Array("print(2)\n".utf8))])
            for bytes in next.files.map(\.bytes) + [next.fileList] { try await api.call(.putBlob, ["sha256": Digest.sha256Hex(bytes)], body: bytes) }
            var clash = next
            clash.manifest.version = SemanticVersion("1.0.0")!
            clash.manifest.sequence = 3
            let clashed = try await api.call(.publishRelease, json: Self.json(clash.publication))
            #expect(clashed.status == .conflict)
            var held = next.publication
            held.held = true
            try await api.call(.publishRelease, json: Self.json(held))
            try await api.call(.startRollout, json: #"{"channel":"stable","version":"1.1.0","phases":[10,100],"manual":true}"#)
            try await api.call(.startRollout, json: #"{"channel":"stable","version":"1.1.0"}"#)
            try await api.call(.startRollout, json: #"{"channel":"stable","version":"7.7.7"}"#)
            try await api.call(.startRollout, json: #"{"channel":"stable","version":"1.1.0","phases":[100,10]}"#)
            try await api.call(.listRollouts)
            try await api.call(.listRollouts, query: "channel=stable")
            try await api.call(.listRollouts, query: "channel=BAD")
            try await api.call(.rollout, ["rollout": "1"])
            try await api.call(.rollout, ["rollout": "99"])
            try await api.call(.rollout, ["rollout": "x"])
            try await api.call(.pauseRollout, ["rollout": "1"])
            try await api.call(.pauseRollout, ["rollout": "1"])
            try await api.call(.resumeRollout, ["rollout": "1"])
            try await api.call(.resumeRollout, ["rollout": "1"])
            try await api.call(.abortRollout, ["rollout": "1"])
            try await api.call(.abortRollout, ["rollout": "1"])
            try await api.call(.abortRollout, ["rollout": "99"])
            try await api.call(.device, ["id": "dev-1"])

            // The console: its pages, and its buttons with and without the fleet page's form token.
            try await api.call(.startRollout, json: #"{"channel":"stable","version":"1.1.0","phases":[10,100],"manual":true}"#)
            let page = try await api.call(.dashboard)
            let csrf = try #require(page.text.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/).map { String($0.1) })
            try await api.call(.dashboard, query: "changed=2")
            try await api.call(.dashboard, query: "changed=x")
            try await api.call(.consoleDevices)
            try await api.call(.consoleDevices, query: "q=dev&channel=stable&version=none&tag=lab&state=failed&page=1")
            try await api.call(.consoleDevices, query: "page=0")
            try await api.call(.consoleDevice, ["id": "dev-1"])
            try await api.call(.consoleDevice, ["id": "nobody"])
            try await api.call(.consoleDevice, ["id": "-bad"])
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("Sec-Fetch-Site")!: "same-origin"]
            let button = Array("csrf=\(csrf)".utf8)
            try await api.call(.consolePauseRollout, ["rollout": "2"], body: button, headers: form)
            try await api.call(.consolePauseRollout, ["rollout": "2"], body: button, headers: form)
            try await api.call(.consolePauseRollout, ["rollout": "2"], body: Array("csrf=no".utf8), headers: form)
            try await api.call(.consolePauseRollout, ["rollout": "99"], body: button, headers: form)
            try await api.call(.consolePauseRollout, ["rollout": "x"], body: button, headers: form)
            try await api.call(.consoleResumeRollout, ["rollout": "2"], body: button, headers: form)
            try await api.call(.consoleAbortRollout, ["rollout": "2"], body: button, headers: form)
            try await api.call(.consolePauseRollout, ["rollout": "2"], body: Array(repeating: 0x61, count: 2000), headers: form)
            try await api.call(.consoleStartRollout, body: Array("csrf=\(csrf)&channel=stable&version=1.1.0&phases=10,100".utf8), headers: form)
            try await api.call(.consoleStartRollout, body: Array("csrf=\(csrf)&channel=stable&version=1.1.0&phases=100,10".utf8), headers: form)
            try await api.call(.consoleStartRollout, body: Array("csrf=\(csrf)&channel=stable&version=9.0.0".utf8), headers: form)
            try await api.call(.consoleStartRollout, body: Array("csrf=\(csrf)&channel=stable&version=1.1.0&manual=on".utf8), headers: form)
            try await api.call(.consoleStartRollout, body: Array("csrf=no".utf8), headers: form)
            try await api.call(.consoleStartRollout, body: Array(repeating: 0x61, count: 40_000), headers: form)
            try await api.call(.consoleRelease, ["channel": "stable", "version": "1.1.0"])
            try await api.call(.consoleRelease, ["channel": "stable", "version": "7.0.0"])
            try await api.call(.consoleRelease, ["channel": "stable", "version": "x"])
            try await api.call(.consoleTagDevice, ["id": "dev-1"], body: Array("csrf=\(csrf)&add=eu+lab&remove=old".utf8), headers: form)
            try await api.call(.consoleTagDevice, ["id": "dev-1"], body: Array("csrf=\(csrf)&add=-x".utf8), headers: form)
            try await api.call(.consoleTagDevice, ["id": "nobody"], body: Array("csrf=\(csrf)&add=eu".utf8), headers: form)
            try await api.call(.consoleTagDevice, ["id": "dev-1"], body: Array("csrf=no&add=eu".utf8), headers: form)
            try await api.call(.consoleTagDevice, ["id": "dev-1"], body: Array(repeating: 0x61, count: 2000), headers: form)
            try await api.call(.consoleDevice, ["id": "dev-1"], query: "changed=tags")
            try await api.call(.consoleDevice, ["id": "dev-1"], query: "changed=x")
            try await api.call(.consolePinDevice, ["id": "dev-1"], body: Array("csrf=\(csrf)&version=1.0.0".utf8), headers: form)
            try await api.call(.consolePinDevice, ["id": "dev-1"], body: Array("csrf=\(csrf)&version=8.0.0".utf8), headers: form)
            try await api.call(.consoleUnpinDevice, ["id": "dev-1"], body: button, headers: form)
            try await api.call(.consoleUnpinDevice, ["id": "nobody"], body: button, headers: form)

            // Firmware: a release with an image, a device that says what firmware it runs and is offered the firmware step, an
            // event of that step, and what the admin then sees.
            let image = TestRelease.Firmware()
            let withFirmware = TestRelease(version: "1.2.0", sequence: 4, firmware: [image])
            for bytes in withFirmware.files.map(\.bytes) + [withFirmware.fileList] {
                try await api.call(.putBlob, ["sha256": Digest.sha256Hex(bytes)], body: bytes)
            }
            try await api.call(.publishRelease, json: Self.json(withFirmware.publication))
            try await api.call(.putBlob, ["sha256": image.image.sha256], body: image.bytes)
            try await api.call(.publishRelease, json: Self.json(withFirmware.publication))
            try await api.call(.listReleases)
            let firmwareCheckIn = CheckInRequest(
                id: "dev-1", version: "1.0.0", sequence: 1, board: "esp32", micropython: "1.24.1", agent: "0.4.0", format: 2, build: "ESP32_GENERIC-OTA",
                ota: true, chip: "esp32", slot: 1_572_864, running: "ota_0", firmwareState: "valid", rollback: true,
                firmwareSHA256: String(repeating: "1", count: 64))
            let firmwareStep = try await api.call(.checkIn, token: token, json: Self.json(firmwareCheckIn))
            #expect(firmwareStep.object["step"] as? String == "firmware", "\(firmwareStep.text)")
            try await api.call(.checkIn, token: token, json: #"{"id":"dev-1","sequence":1,"chip":"esp8266"}"#)
            try await api.call(.blob, ["sha256": image.image.sha256], token: token, headers: [.range: "bytes=256-"])
            try await api.call(.reportEvent, token: token, json: #"{"id":"dev-1","type":"installed","version":"1.2.0","sequence":4,"step":"firmware"}"#)
            try await api.call(.reportEvent, token: token, json: #"{"id":"dev-1","type":"installed","version":"1.2.0","sequence":4,"step":"files"}"#)
            try await api.call(.device, ["id": "dev-1"])
            try await api.call(.listDevices)
            try await api.call(.deviceEvents, ["id": "dev-1"])
            try await api.call(.release, ["channel": "stable", "version": "1.2.0"])
            try await api.call(.consoleDevice, ["id": "dev-1"])

            // Access control.
            try await api.call(.createAdminToken, json: #"{"name":"ci"}"#)
            try await api.call(.createAdminToken, json: #"{"name":"ci"}"#)
            try await api.call(.createAdminToken, json: #"{"name":"bootstrap"}"#)
            try await api.call(.listAdminTokens)
            try await api.call(.revokeAdminToken, ["name": "ci"])
            try await api.call(.revokeAdminToken, ["name": "nobody"])
            try await api.call(.listAdminTokens)
            let enrollment = try await api.call(.createEnrollment, json: #"{"name":"batch-1","channel":"stable"}"#)
            let secret = try #require(enrollment.object["secret"] as? String)
            try await api.call(.createEnrollment, json: #"{"name":"batch-1","channel":"stable"}"#)
            try await api.call(.enroll, token: secret, json: #"{"id":"sensor-1"}"#)
            try await api.call(.enroll, token: secret, json: #"{"id":"sensor-1"}"#)
            try await api.call(.enroll, token: token, json: #"{"id":"sensor-2"}"#)
            try await api.call(.listEnrollments)
            try await api.call(.revokeEnrollment, ["name": "batch-1"])
            try await api.call(.revokeEnrollment, ["name": "batch-1x"])
            try await api.call(.listEnrollments)
            try await api.call(.revokeDevice, ["id": "dev-1"])
            try await api.call(.revokeDevice, ["id": "nobody"])
            try await api.call(.device, ["id": "dev-1"])
            try await api.call(.checkIn, token: token, json: #"{"id":"dev-1","sequence":1}"#)
            try await api.call(.reissueDeviceToken, ["id": "dev-1"])
            try await api.call(.reissueDeviceToken, ["id": "nobody"])
            try await api.call(.consoleRevokeDevice, ["id": "dev-1"], body: button, headers: form)
            try await api.call(.consoleRevokeDevice, ["id": "nobody"], body: button, headers: form)
            try await api.call(.consoleRevokeDevice, ["id": "dev-1"], body: Array("csrf=no".utf8), headers: form)
            try await api.call(.consoleRetryDevice, ["id": "dev-1"], body: button, headers: form)
            try await api.call(.consoleRetryDevice, ["id": "nobody"], body: button, headers: form)
            try await api.call(.consoleRetryDevice, ["id": "dev-1"], body: Array("csrf=no".utf8), headers: form)
            try await api.call(.consoleNewDeviceToken, ["id": "dev-1"], body: button, headers: form)
            try await api.call(.consoleNewDeviceToken, ["id": "nobody"], body: button, headers: form)
            try await api.call(.consoleNewDeviceToken, ["id": "-x"], body: button, headers: form)
            try await api.call(.consoleNewDeviceToken, ["id": "dev-1"], body: Array(repeating: 0x61, count: 2000), headers: form)
            try await api.call(.listDevices)

            // Bodies too large for the endpoint, refused from Content-Length.
            try await api.call(.createDevice, body: Array(repeating: 0x20, count: BodyLimit.json + 1), headers: [.contentType: "application/json"])

            let seen = api.answersSeen
            for operation in APIOperation.all {
                #expect(seen.contains { $0.hasPrefix(operation.id + " 2") || $0.hasPrefix(operation.id + " 303") }, "\(operation.id) never succeeded here")
            }
        }
    }

    @Test func rateLimitedAnswersMatchTheDocument() async throws {
        try await TestFleet.run(rateLimits: RateLimits(devicePerMinute: 1, addressPerMinute: 0)) { fleet in
            let api = try await DocumentedFleet(fleet)
            let token = try await fleet.registerDevice("dev-1")
            try await api.call(.checkIn, token: token, json: #"{"id":"dev-1","sequence":0}"#)
            let limited = try await api.call(.checkIn, token: token, json: #"{"id":"dev-1","sequence":0}"#)
            #expect(limited.status == .tooManyRequests)
        }
    }

    static func json(_ value: some Encodable) -> String {
        String(decoding: try! JSONEncoder().encode(value), as: UTF8.self)
    }
}
