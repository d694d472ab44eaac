import AloftAPI
import AloftCore
import AloftStore
import Foundation
import Hummingbird

// The API's bodies (module AloftAPI) made from what the store keeps, and sent as JSON.

extension ReleaseSummary {
    init(_ release: ReleaseRecord) {
        self.init(
            version: release.version, sequence: release.sequence, channel: release.channel, created: release.created, files: release.fileCount,
            size: release.totalSize, publishedAt: rfc3339(release.publishedAt), legacy: release.legacyEnvelope != nil, held: release.held,
            firmware: release.firmware)
    }
}

extension EventView {
    init(_ event: DeviceEvent) {
        self.init(type: event.type, version: event.version, sequence: event.sequence, reason: event.reason, step: event.step, at: rfc3339(event.at))
    }
}

extension DeviceView {
    init(_ device: DeviceRecord, decision: DecisionView? = nil) {
        self.init(
            id: device.id, channel: device.channel, board: device.board, micropython: device.micropython, agent: device.agent,
            version: device.version, sequence: device.sequence, lastSeen: device.lastSeen.map(rfc3339), lastEvent: device.lastEvent.map(EventView.init),
            revoked: device.revokedAt != nil, enrollment: device.enrollment, tags: device.tags, pin: device.pin, decision: decision,
            firmware: FirmwareView(device), free: device.free)
    }
}

extension FirmwareView {
    /// Nil for a device that said nothing of its firmware (an agent before 0.4.0).
    init?(_ device: DeviceRecord) {
        let f = device.firmware
        guard !f.isEmpty else { return nil }
        self.init(
            build: f.build, chip: f.chip, micropython: device.micropython, ota: f.ota, slot: f.slot, running: f.running, state: f.state,
            rollback: f.rollback, sha256: f.sha256, rejected: f.rejected)
    }
}

extension DecisionView {
    /// The decision as the API shows it; `offered` is the version of the release offered, `failure` the device's failures
    /// with the release the decision is about.
    init(_ decision: CheckInDecision, offered: String?, failure: ReleaseFailure? = nil) {
        self.init(
            offer: offered, reason: decision.reason.code, why: decision.why, step: decision.offer.map(\.plan.step.rawValue),
            failure: failure.map(FailureView.init))
    }
}

extension FailureView {
    init(_ failure: ReleaseFailure) {
        self.init(
            version: failure.version, sequence: failure.sequence, attempts: failure.attempts, kind: failure.kind.rawValue, reason: failure.reason,
            at: rfc3339(failure.at), free: failure.free, retryAt: failure.kind == .passing ? rfc3339(failure.retryAt) : nil)
    }
}

extension DownloadView {
    init(_ download: BlobDownload) {
        self.init(sha256: download.sha256, encoding: download.encoding, bytes: download.bytes, status: download.status, at: rfc3339(download.at))
    }
}

extension AdminTokenView {
    init(_ token: AdminTokenRecord) {
        self.init(name: token.name, created: rfc3339(token.createdAt), revoked: token.revokedAt != nil, revokedAt: token.revokedAt.map(rfc3339))
    }
}

extension EnrollmentView {
    init(_ enrollment: EnrollmentRecord) {
        self.init(
            name: enrollment.name, channel: enrollment.channel, created: rfc3339(enrollment.createdAt), revoked: enrollment.revokedAt != nil,
            revokedAt: enrollment.revokedAt.map(rfc3339), tags: enrollment.tags)
    }
}

/// RFC 3339 UTC with seconds precision, the protocol's only time format.
func rfc3339(_ date: Date) -> String {
    ReleaseManifest.timestamp(date)
}

extension AloftRequestContext {
    /// `value` as a JSON response.
    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Self.json(encoded: ByteBuffer(bytes: try responseEncoder.encode(value)), status: status)
    }

    /// A JSON response of bytes `json(_:status:)` encoded before.
    static func json(encoded body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes)],
            body: .init(byteBuffer: body))
    }
}
