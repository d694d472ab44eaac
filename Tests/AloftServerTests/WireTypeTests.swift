import AloftAPI
import AloftCore
import Foundation
import Testing

/// Each wire type against its own schema: what it encodes to matches it, a value with every field set has exactly the
/// schema's members (a field added to one and not the other fails here), and decoding gives the value back.
@Suite struct WireTypeTests {
    static let validator = SchemaValidator(document: OpenAPIDocument.build())
    static let sha = String(repeating: "ab", count: 32)
    static let time = "2026-11-29T02:33:34Z"
    static let signed = SignedRelease(
        manifest: #"{"format":2}"#, signatures: [ReleaseSignature(keyid: "0123456789abcdef", sig: Data(count: 64).base64EncodedString())])
    static let event = EventView(type: "failed", version: "1.1.0", sequence: 4, reason: "sha256 mismatch", step: "firmware", at: time)
    static let image = FirmwareImage(build: "ESP32_GENERIC-OTA", chip: "esp32", micropython: "1.26.0", mpy: 6, sha256: sha, size: 1_703_936)
    /// A check-in with every field set.
    static let fullCheckIn = CheckInRequest(
        id: "dev-1", version: "1.0.0", sequence: 3, board: "esp32", micropython: "1.22.0", agent: "0.4.0", mpy: 2822, free: 1_500_000, rejected: 2,
        format: 2, build: "ESP32_GENERIC-OTA", ota: true, chip: "esp32", slot: 1_572_864, running: "ota_0", firmwareState: "trial", rollback: true,
        firmwareSHA256: sha, firmwareRejected: String(repeating: "cd", count: 32))

    /// The server's encoder, which is what goes on the wire.
    static func encoded(_ value: some Encodable) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try JSONValue.parse(try encoder.encode(value))
    }

    func check<T: Codable & Equatable & WireSchema>(full: T, sparse: T? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reference: JSONValue = ["$ref": .string(JSONSchema.componentPath(T.schemaName))]
        #expect(Self.validator.components[T.schemaName] != nil, "\(T.schemaName) is not in the document", sourceLocation: sourceLocation)
        for value in [full] + (sparse.map { [$0] } ?? []) {
            let json = try Self.encoded(value)
            #expect(Self.validator.errors(json, reference) == [], "\(T.self): \(json)", sourceLocation: sourceLocation)
            #expect(try JSONDecoder().decode(T.self, from: try JSONEncoder().encode(value)) == value, sourceLocation: sourceLocation)
        }
        let members = Set(try Self.encoded(full).objectValue?.keys.map { $0 } ?? [])
        let documented = Set(T.schema.value["properties"]?.objectValue?.keys.map { $0 } ?? [])
        #expect(members == documented, "\(T.self): encodes \(members.sorted()), documented \(documented.sorted())", sourceLocation: sourceLocation)
    }

    @Test func deviceAPI() throws {
        try check(full: Self.fullCheckIn, sparse: CheckInRequest(id: "dev-1", sequence: 0))
        try check(
            full: CheckInResponse(action: CheckInResponse.update, poll: 300, release: Self.signed, zlib: [Self.sha: 812], step: "firmware"),
            sparse: CheckInResponse(action: CheckInResponse.none, poll: 300))
        try check(
            full: EventRequest(id: "dev-1", type: "failed", version: "1.1.0", sequence: 4, reason: "sha256 mismatch", step: "firmware"),
            sparse: EventRequest(id: "dev-1", type: "downloading"))
        try check(full: EnrollRequest(id: "sensor-0001", tags: ["eu"]), sparse: EnrollRequest(id: "sensor-0001"))
        try check(full: CreatedDeviceResponse(id: "dev-1", channel: "stable", token: "aloft_dev_" + String(repeating: "A", count: 43)))
        try check(full: Self.signed)
        try check(full: ReleaseSignature(keyid: "0123456789abcdef", sig: Data(count: 64).base64EncodedString()))
    }

    @Test func managementAPI() throws {
        try check(full: MissingBlobsRequest(sha256: [Self.sha]), sparse: MissingBlobsRequest(sha256: []))
        try check(full: MissingBlobsResponse(missing: [Self.sha]))
        try check(full: StoredBlobResponse(sha256: Self.sha, size: 812, zlibSize: 300), sparse: StoredBlobResponse(sha256: Self.sha, size: 0, zlibSize: nil))
        try check(full: ReleasePublication(Self.signed, legacy: Self.signed, held: true, firmwareWithoutRollback: true), sparse: ReleasePublication(Self.signed))
        let short = FlashShortfallView(count: 3, devices: [.init(id: "dev-1", need: 589_824, free: 307_200)])
        try check(full: short)
        try check(
            full: PublishedReleaseResponse(version: "1.2.0", sequence: 7, channel: "stable", legacy: true, held: true, alreadyPublished: true, shortOfFlash: short),
            sparse: PublishedReleaseResponse(version: "1.2.0", sequence: 7, channel: "stable", legacy: true))
        let summary = ReleaseSummary(
            version: "1.2.0", sequence: 7, channel: "stable", created: Self.time, files: 2, size: 163, publishedAt: Self.time, legacy: false, held: true,
            firmware: [Self.image])
        try check(full: summary)
        try check(full: Self.image)
        try check(full: ReleaseListResponse(releases: [summary]))
        try check(
            full: ChannelResponse(channel: "stable", latest: .init(version: "1.2.0", sequence: 7), next: 8), sparse: ChannelResponse(channel: "beta", latest: nil, next: 1))
        try check(full: CreateDeviceRequest(id: "dev-1", channel: "stable", tags: ["lab"]), sparse: CreateDeviceRequest(id: "dev-1", channel: "stable"))
        try check(full: Self.event, sparse: EventView(type: "confirmed", version: nil, sequence: nil, reason: nil, at: Self.time))
        let firmware = FirmwareView(
            build: "ESP32_GENERIC-OTA", chip: "esp32", micropython: "1.22.0", ota: true, slot: 1_572_864, running: "ota_0", state: "trial", rollback: false,
            sha256: Self.sha, rejected: Self.sha)
        try check(
            full: firmware,
            sparse: FirmwareView(build: nil, chip: nil, micropython: nil, ota: nil, slot: nil, running: nil, state: nil, rollback: nil, sha256: nil, rejected: nil))
        let device = DeviceView(
            id: "dev-1", channel: "stable", board: "esp32", micropython: "1.22.0", agent: "0.3.0", version: "1.2.0", sequence: 7,
            lastSeen: Self.time, lastEvent: Self.event, revoked: false, enrollment: "batch-1", tags: ["eu", "greenhouse"], pin: "1.2.0",
            decision: DecisionView(offer: "1.3.0", reason: "newest", why: "offered 1.3.0: firmware first", step: "firmware"), firmware: firmware,
            free: 307_200)
        let fresh = DeviceView(
            id: "dev-1", channel: "stable", board: nil, micropython: nil, agent: nil, version: nil, sequence: 0, lastSeen: nil, lastEvent: nil,
            revoked: false, enrollment: nil)
        try check(full: device, sparse: fresh)
        try check(full: DeviceListResponse(devices: [device, fresh], total: 5, next: "dev-2"), sparse: DeviceListResponse(devices: [], total: 0, next: nil))
        try check(full: EventListResponse(events: [Self.event]))
        let download = DownloadView(sha256: Self.sha, encoding: "zlib", bytes: 300, status: 200, at: Self.time)
        try check(full: download)
        try check(full: DownloadListResponse(downloads: [download]))
        try check(full: DeviceTokenResponse(id: "dev-1", token: "aloft_dev_" + String(repeating: "-", count: 43)))
        try check(full: HealthResponse())
        try check(full: ErrorResponse(error: "conflict", message: "upload 1 blob", missing: [Self.sha]), sparse: ErrorResponse(error: "not_found", message: "no"))
    }

    @Test func rollouts() throws {
        try check(full: DecisionView(offer: "1.3.0", reason: "rollout", why: "offered 1.3.0 in phase 1 (10%) of rollout 1", step: "files"),
                  sparse: DecisionView(offer: nil, reason: "up-to-date", why: "up to date"))
        try check(full: DeviceTagsRequest(add: ["a"], remove: ["b"]), sparse: DeviceTagsRequest())
        try check(full: DevicePinRequest(version: "1.2.0"))
        try check(
            full: StartRolloutRequest(
                channel: "stable", version: "2.0.0", phases: [5, 25, 100], tags: ["eu"], boards: ["esp32*"], devices: ["dev-1"], maxFailures: "10%",
                minDevices: 3, soak: 3600, window: "Mon-Fri 01:00-05:00 UTC", manual: true),
            sparse: StartRolloutRequest(channel: "stable", version: "2.0.0"))
        let phase = RolloutPhaseView(
            phase: 1, percent: 10, devices: 4, offered: 1, firmware: 1, downloading: 1, installed: 1, confirmed: 0, failed: 0, rolledBack: 1)
        try check(full: phase)
        let rollout = RolloutView(
            id: 1, channel: "stable", version: "2.0.0", sequence: 4, status: "halted", phase: 1, phases: [phase], tags: ["eu"], boards: [],
            devices: [], maxFailures: "0", minDevices: 1, soak: 0, window: "Sat 22:00-02:00 UTC", manual: false, phaseStartedAt: Self.time,
            settledAt: Self.time, haltReason: "1 of 1 device that tried failed or rolled back (limit 0): 1× main.py raised", createdAt: Self.time)
        var started = rollout
        started.shortOfFlash = FlashShortfallView(count: 1, devices: [.init(id: "dev-1", need: 589_824, free: 307_200)])
        var fresh = rollout
        fresh.window = nil
        fresh.settledAt = nil
        fresh.haltReason = nil
        try check(full: started, sparse: fresh)
        try check(full: RolloutListResponse(rollouts: [rollout, fresh]))
        try check(
            full: ReleaseEnvelopeResponse(
                channel: "beta", version: "2.0.0", sequence: 4, held: false, release: Self.signed, legacy: Self.signed, firmwareWithoutRollback: true),
            sparse: ReleaseEnvelopeResponse(channel: "beta", version: "2.0.0", sequence: 4, held: true, release: Self.signed, legacy: nil))
    }

    @Test func accessControl() throws {
        try check(full: CreateAdminTokenRequest(name: "ci"))
        try check(full: CreatedAdminTokenResponse(name: "ci", token: "aloft_adm_" + String(repeating: "x", count: 43)))
        let token = AdminTokenView(name: "ci", created: Self.time, revoked: true, revokedAt: Self.time)
        try check(full: token, sparse: AdminTokenView(name: "ci", created: Self.time, revoked: false, revokedAt: nil))
        try check(full: AdminTokenListResponse(tokens: [token]))
        try check(full: CreateEnrollmentRequest(name: "batch-1", channel: "stable", tags: ["batch-1"]), sparse: CreateEnrollmentRequest(name: "batch-1", channel: "stable"))
        try check(full: CreatedEnrollmentResponse(name: "batch-1", channel: "stable", secret: "aloft_enr_" + String(repeating: "9", count: 43)))
        let enrollment = EnrollmentView(name: "batch-1", channel: "stable", created: Self.time, revoked: false, revokedAt: nil)
        try check(full: EnrollmentView(name: "batch-1", channel: "stable", created: Self.time, revoked: true, revokedAt: Self.time, tags: ["eu"]), sparse: enrollment)
        try check(full: EnrollmentListResponse(enrollments: [enrollment]))
    }

    /// Where the protocol shows `null`, the member is there as `null`; where it says "left out", it is absent.
    /// The bodies checked for unknown fields by their names alone: the names are every field the type encodes.
    @Test func flatBodiesNameEveryFieldTheyEncode() throws {
        func keys(_ value: some Encodable) throws -> Set<String> {
            Set(try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any]).keys)
        }
        #expect(try keys(Self.fullCheckIn) == CheckInRequest.fieldNames)
        #expect(try keys(EventRequest(id: "d", type: "installed", version: "1.0.0", sequence: 1, reason: "r", step: "firmware")) == EventRequest.fieldNames)
    }

    @Test func nullAndAbsentAreAsTheProtocolSays() throws {
        let fresh = try Self.encoded(
            DeviceView(
                id: "d", channel: "stable", board: nil, micropython: nil, agent: nil, version: nil, sequence: 0, lastSeen: nil, lastEvent: nil,
                revoked: false, enrollment: nil))
        for key in ["board", "micropython", "agent", "version", "lastSeen", "lastEvent", "enrollment", "decision", "firmware"] {
            #expect(fresh[key] == .null, "\(key)")
        }
        #expect(try Self.encoded(EventView(type: "installed", version: nil, sequence: nil, reason: nil, at: Self.time))["step"] == .null)
        #expect(try Self.encoded(DecisionView(offer: nil, reason: "up-to-date", why: "up to date"))["step"] == .null)
        // The check-in's answer leaves `step` out for the files step, as the device API leaves out what it does not say.
        #expect(try Self.encoded(CheckInResponse(action: "update", poll: 300, release: Self.signed)).objectValue?.keys.sorted() == ["action", "poll", "release"])
        #expect(try Self.encoded(StoredBlobResponse(sha256: Self.sha, size: 1, zlibSize: nil))["zlibSize"] == .null)
        #expect(try Self.encoded(ChannelResponse(channel: "c", latest: nil))["latest"] == .null)
        #expect(try Self.encoded(EventView(type: "installed", version: nil, sequence: nil, reason: nil, at: Self.time))["reason"] == .null)
        #expect(try Self.encoded(AdminTokenView(name: "n", created: Self.time, revoked: false, revokedAt: nil))["revokedAt"] == .null)
        #expect(try Self.encoded(EnrollmentView(name: "n", channel: "c", created: Self.time, revoked: false, revokedAt: nil))["revokedAt"] == .null)
        let none = try Self.encoded(CheckInResponse(action: "none", poll: 300))
        #expect(none.objectValue?.keys.sorted() == ["action", "poll"])
        #expect(try Self.encoded(ErrorResponse(error: "not_found", message: "no")).objectValue?.keys.sorted() == ["error", "message"])
    }

    /// The checks above are only as good as the validator: it must refuse what a schema rules out.
    @Test func theValidatorRefusesWhatASchemaRulesOut() throws {
        let device: JSONValue = ["$ref": .string(JSONSchema.componentPath(DeviceView.schemaName))]
        let good = try Self.encoded(
            DeviceView(
                id: "dev-1", channel: "stable", board: nil, micropython: nil, agent: nil, version: "1.0.0", sequence: 1, lastSeen: nil,
                lastEvent: Self.event, revoked: false, enrollment: nil))
        #expect(Self.validator.errors(good, device) == [])
        func with(_ key: String, _ value: JSONValue?) -> JSONValue {
            var members = good.objectValue!
            members[key] = value
            return .object(members)
        }
        let bad: [(String, JSONValue)] = [
            ("an unknown member", with("token", "secret")),
            ("a missing member", with("revoked", nil)),
            ("a wrong type", with("sequence", "1")),
            ("null where not allowed", with("channel", .null)),
            ("a pattern broken", with("id", "-dev")),
            ("a string too long", with("channel", .string(String(repeating: "a", count: 33)))),
            ("a number too small", with("sequence", -1)),
            ("a bad nested value", with("lastEvent", ["type": "exploded", "version": nil, "sequence": nil, "reason": nil, "at": "2026-11-29T02:33:34Z"])),
            ("a bad nullable value", with("version", "1.0")),
        ]
        for (what, value) in bad { #expect(Self.validator.errors(value, device) != [], "\(what) passed") }
        #expect(Self.validator.errors(.integer(1), ["type": "string", "maxItem": 3]).contains { $0.contains("unsupported keyword") })
        #expect(Self.validator.errors(.integer(1), ["$ref": "#/components/schemas/Nothing"]).contains { $0.contains("unresolved") })
    }

    @Test func errorCodesFollowTheStatus() {
        #expect(ErrorCode(status: 400) == .badRequest)
        #expect(ErrorCode(status: 405) == .notFound)
        #expect(ErrorCode(status: 418) == .badRequest)
        #expect(ErrorCode(status: 503) == .internal)
        #expect(Set(ErrorCode.allCases.map(\.rawValue)).count == ErrorCode.allCases.count)
    }
}
