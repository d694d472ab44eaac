import AloftAPI
import AloftCore
import AloftStore
import Foundation
import Hummingbird
import Synchronization

/// What devices call: check-in, events, and blob downloads (docs/protocol.md, "Device API" and "Blobs").
struct DeviceAPI<Store: FleetStore>: Sendable {
    /// Event types the server accepts; each is also a metrics label, so the set stays closed.
    static var eventTypes: Set<String> { Set(EventRequest.types) }
    static var maxReasonCharacters: Int { EventRequest.maxReasonCharacters }
    static var maxAgentCharacters: Int { CheckInRequest.maxAgentCharacters }
    /// Values of a check-in's `format`: the manifest formats the server publishes.
    static var supportedFormats: [Int] { CheckInRequest.formats }

    let store: Store
    let decisions: FleetDecisions<Store>
    let blobs: BlobResponder<Store>
    let metrics: ServerMetrics
    let pollInterval: Int
    let clock: @Sendable () -> Date
    private let idleAnswers = IdleAnswers()

    /// Adds check-in, events, and the blobs: `{sha256}` (raw, or zlib through `Accept-Encoding`) and `{sha256}/zlib` (for
    /// agents before 0.3.0).
    func addRoutes(to routes: RouteTable) {
        routes.add(.checkIn, use: checkIn)
        routes.add(.reportEvent, use: event)
        routes.add(.blob) { request, context in
            try await blobs.respondNegotiating(sha256: context.parameters.require("sha256"), request: request, context: context)
        }
        routes.add(.zlibBlob) { request, context in
            try await blobs.respond(sha256: context.parameters.require("sha256"), encoding: .zlib, request: request, context: context)
        }
    }

    @Sendable func checkIn(request: Request, context: AloftRequestContext) async throws -> Response {
        let device = try Self.device(in: context)
        let body = try await request.decodeJSON(as: CheckInRequest.self)
        try Self.requireSame(device, body.id)
        try Self.validate(body)
        let now = clock()
        try await store.recordCheckIn(
            DeviceCheckIn(
                deviceID: device.id, version: body.version, sequence: body.sequence, board: body.board, micropython: body.micropython,
                agent: body.agent, mpy: body.mpy, free: body.free, rejected: body.rejected, format: body.format, firmware: body.firmwareReport, at: now
            )
        )
        metrics.checkIns.increment()

        // Usually no newer release: then the answer costs the check-in's write and one indexed query, no manifest and no
        // rollout. Expired releases are not offered: a device with a clock would refuse them (docs/protocol.md, "Expiry").
        let facts = DeviceFacts(
            id: device.id, tags: device.tags, pin: device.pin, sequence: body.sequence, board: body.board, micropython: body.micropython,
            rejected: body.rejected, format: body.format ?? ReleaseManifest.legacyFormat, mpy: body.mpy, agent: body.agent, firmware: body.firmware,
            free: body.free)
        let (decision, entries, rollouts) = try await decisions.decide(facts, channel: device.channel, now: now)
        guard let target = decision.offer, let offer = entries[target.sequence]?.offer(format: target.format) else {
            // Outside a maintenance window the device comes back when it opens, and backing off from a failed release when
            // the backoff ends, if that is sooner than its usual poll.
            let poll = decision.retryAt.map { min(pollInterval, max(1, Int($0.timeIntervalSince(now).rounded(.up)))) } ?? pollInterval
            metrics.checkIn(decision.retryAt == nil ? .none : decision.failure == nil ? .window : .backoff)
            return try idleAnswers.response(poll: poll, context: context)
        }
        if let id = decision.rollout {
            try await store.recordOffer(rollout: id, deviceID: device.id, at: now)
            // A phase found done is not done any more while this device has the release to install: its soak waits.
            if let rollout = rollouts.first(where: { $0.id == id }), rollout.settledAt != nil { try await decisions.advance(rollout, now: now) }
        }
        metrics.updatesOffered.increment()
        metrics.checkIn(decision.rollout == nil ? .update : .rollout)
        let step = target.plan.step == .firmware ? UpdateStep.firmware.rawValue : nil
        return try context.json(CheckInResponse(action: CheckInResponse.update, poll: pollInterval, release: offer.release, zlib: offer.zlib, step: step))
    }

    @Sendable func event(request: Request, context: AloftRequestContext) async throws -> Response {
        let device = try Self.device(in: context)
        let body = try await request.decodeJSON(as: EventRequest.self)
        try Self.requireSame(device, body.id)
        try Self.validate(body)
        let now = clock()
        try await store.recordEvent(
            DeviceEvent(deviceID: device.id, type: body.type, version: body.version, sequence: body.sequence, reason: body.reason, step: body.step, at: now)
        )
        metrics.deviceEvent(type: body.type)
        // An event about a rollout's release can halt it, finish its phase or complete it.
        if RolloutDeviceState(event: body.type, step: body.step) != nil {
            try await decisions.eventArrived(channel: device.channel, sequence: body.sequence, now: now)
        }
        return Response(status: .noContent)
    }

    // MARK: Rules

    static func device(in context: AloftRequestContext) throws -> DeviceRecord {
        guard let device = context.device else { throw APIError(.unauthorized, "this endpoint needs a device token") }
        return device
    }

    static func requireSame(_ device: DeviceRecord, _ id: String) throws {
        guard id == device.id else { throw APIError.forbidden("this token belongs to device '\(device.id)', not '\(id.prefix(80))'") }
    }

    static func validate(_ body: CheckInRequest) throws {
        try requireSequence(body.sequence, field: "sequence", allowZero: true)
        if let rejected = body.rejected { try requireSequence(rejected, field: "rejected", allowZero: true) }
        if let version = body.version { try requireVersion(version) }
        try requireText(body.board, field: "board", maxBytes: CheckInRequest.maxBoardBytes)
        try requireText(body.micropython, field: "micropython", maxBytes: CheckInRequest.maxMicroPythonBytes)
        if let agent = body.agent { try requireToken(agent, field: "agent", maxBytes: maxAgentCharacters, punctuation: "._-+") }
        if let mpy = body.mpy, mpy < 0 { throw APIError.badRequest("mpy must not be negative") }
        if let free = body.free, free < 0 { throw APIError.badRequest("free must not be negative") }
        if let format = body.format, !supportedFormats.contains(format) {
            throw APIError.badRequest("format must be \(supportedFormats.map(String.init).joined(separator: " or ")), the manifest formats this server knows")
        }
        // The firmware fields (docs/firmware.md, "Check-in"); `ota` and `rollback` are booleans, which decoding checked.
        if let build = body.build { try requireToken(build, field: "build", maxBytes: CheckInRequest.maxBuildBytes, punctuation: "_-") }
        if let chip = body.chip { try requireOne(of: FirmwareImage.chips, chip, field: "chip") }
        if let slot = body.slot, slot < 0 { throw APIError.badRequest("slot must not be negative") }
        if let running = body.running { try requireToken(running, field: "running", maxBytes: CheckInRequest.maxSlotLabelBytes, punctuation: "_") }
        if let state = body.firmwareState { try requireOne(of: CheckInRequest.firmwareStates, state, field: "fw_state") }
        if let sha = body.firmwareSHA256 { try requireSHA256(sha, field: "fw_sha256") }
        if let sha = body.firmwareRejected { try requireSHA256(sha, field: "fw_rejected") }
    }

    static func validate(_ body: EventRequest) throws {
        guard eventTypes.contains(body.type) else {
            throw APIError.badRequest("unknown event type '\(body.type.prefix(40))'; known: \(eventTypes.sorted().joined(separator: ", "))")
        }
        if let version = body.version { try requireVersion(version) }
        if let sequence = body.sequence { try requireSequence(sequence, field: "sequence", allowZero: false) }
        if let reason = body.reason, reason.count > maxReasonCharacters || reason.utf8.count > 4 * maxReasonCharacters {
            throw APIError.badRequest("reason must be at most \(maxReasonCharacters) characters")
        }
        if body.type == DeviceEvent.installed, body.version == nil || body.sequence == nil {
            throw APIError.badRequest("an installed event needs the version and sequence of the release installed")
        }
        if let step = body.step, step != UpdateStep.firmware.rawValue {
            throw APIError.badRequest("step must be firmware (left out for the files step), got '\(step.prefix(40))'")
        }
    }

    private static func requireSequence(_ sequence: Int, field: String, allowZero: Bool) throws {
        guard (allowZero ? 0 : 1)...ReleaseManifest.maxSequence ~= sequence else {
            throw APIError.badRequest("\(field) must be between \(allowZero ? 0 : 1) and \(ReleaseManifest.maxSequence)")
        }
    }

    private static func requireVersion(_ version: String) throws {
        guard version.utf8.count <= 128, SemanticVersion(version) != nil else {
            throw APIError.badRequest("version '\(version.prefix(40))' is not a semantic version like 1.2.0")
        }
    }

    /// Narrower than `board`: the agent version, the firmware build and the slot label are shown in tables and compared by
    /// people, so each stays a short token of letters, digits and `punctuation`.
    private static func requireToken(_ text: String, field: String, maxBytes: Int, punctuation: String) throws {
        let allowed = Array(punctuation.utf8)
        guard (1...maxBytes).contains(text.utf8.count), text.utf8.allSatisfy({ Identifiers.isAlnum($0) || allowed.contains($0) }) else {
            let characters = (["A-Z a-z 0-9"] + punctuation.map(String.init)).joined(separator: " ")
            throw APIError.badRequest("\(field) must be 1-\(maxBytes) of \(characters), got '\(text.prefix(40))'")
        }
    }

    private static func requireSHA256(_ sha: String, field: String) throws {
        guard Digest.isSHA256Hex(sha) else { throw APIError.badRequest("\(field) must be a SHA-256 (64 lowercase hex characters)") }
    }

    private static func requireOne(of values: [String], _ value: String, field: String) throws {
        guard values.contains(value) else {
            throw APIError.badRequest("\(field) must be one of \(values.joined(separator: ", ")), got '\(value.prefix(40))'")
        }
    }

    private static func requireText(_ text: String?, field: String, maxBytes: Int) throws {
        guard let text else { return }
        // Printable ASCII (nearly every board name) needs no look-up of Unicode properties.
        let printable = text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        guard text.utf8.count <= maxBytes, printable || !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.badRequest("\(field) must be at most \(maxBytes) bytes of printable text")
        }
    }
}

/// The answers "nothing to do, come back in `poll` seconds", encoded once per `poll`: nearly every check-in gets the
/// same one, and encoding it was a twentieth of a check-in's time. The bytes are those of the one encoder of every answer.
final class IdleAnswers: Sendable {
    /// Answers kept; `poll` is the server's interval or, outside a maintenance window, the seconds until it opens.
    static var capacity: Int { 256 }
    private let encoded = Mutex<[Int: ByteBuffer]>([:])

    func response(poll: Int, context: AloftRequestContext) throws -> Response {
        let body: ByteBuffer
        if let held = encoded.withLock({ $0[poll] }) {
            body = held
        } else {
            body = ByteBuffer(bytes: try context.responseEncoder.encode(CheckInResponse(action: CheckInResponse.none, poll: poll)))
            encoded.withLock { if $0.count < Self.capacity { $0[poll] = body } }
        }
        return AloftRequestContext.json(encoded: body)
    }
}
