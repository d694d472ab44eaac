import AloftAPI
import AloftCore
import Foundation

// Tags, pins, rollouts and promotion through the management API (docs/protocol.md, "Rollouts").
extension AdminClient {
    // MARK: Devices

    /// Devices, filtered on the server by tag, channel and installed version: every page (of `pageSize` devices, the
    /// server's default when nil), in id order.
    public func devices(tag: String? = nil, channel: String? = nil, version: String? = nil, pageSize: Int? = nil) async throws(AloftError)
        -> [DeviceView]
    {
        var query: [String] = pageSize.map { ["limit=\($0)"] } ?? []
        if let tag { query.append("tag=\(try Self.pathSegment(tag, what: "tag"))") }
        if let channel { query.append("channel=\(try Self.pathSegment(channel, what: "channel"))") }
        if let version { query.append("version=\(try Self.queryValue(version))") }
        var devices: [DeviceView] = []
        var after: String?
        repeat {
            var parameters = query
            if let after { parameters.append("after=\(try Self.pathSegment(after, what: "device id"))") }
            let page = try await call(.listDevices, query: parameters.isEmpty ? nil : parameters.joined(separator: "&"), as: DeviceListResponse.self)
            devices += page.devices
            if let next = page.next, next == after || page.devices.isEmpty {
                throw AloftError("the server's device pages do not advance (next is \(next))")
            }
            after = page.next
        } while after != nil
        return devices
    }

    public func tagDevice(id: String, add: [String], remove: [String]) async throws(AloftError) -> DeviceView {
        try await call(
            .tagDevice, ["id": try Self.pathSegment(id, what: "device id")], json: DeviceTagsRequest(add: add, remove: remove), as: DeviceView.self)
    }

    public func pinDevice(id: String, version: String) async throws(AloftError) -> DeviceView {
        try await call(.pinDevice, ["id": try Self.pathSegment(id, what: "device id")], json: DevicePinRequest(version: version), as: DeviceView.self)
    }

    public func unpinDevice(id: String) async throws(AloftError) -> DeviceView {
        try await call(.unpinDevice, ["id": try Self.pathSegment(id, what: "device id")], as: DeviceView.self)
    }

    /// Forgets the device's failures, with release `version` or with all (`aloft device retry`).
    public func retryDevice(id: String, version: String? = nil) async throws(AloftError) -> DeviceRetryResponse {
        try await call(
            .retryDevice, ["id": try Self.pathSegment(id, what: "device id")],
            query: try version.map { v throws(AloftError) in "version=\(try Self.pathSegment(v, what: "version"))" }, as: DeviceRetryResponse.self)
    }

    // MARK: Rollouts

    public func startRollout(_ request: StartRolloutRequest) async throws(AloftError) -> RolloutView {
        try await call(.startRollout, json: request, as: RolloutView.self)
    }

    public func rollouts(channel: String? = nil) async throws(AloftError) -> [RolloutView] {
        try await call(.listRollouts, query: try channel.map { c throws(AloftError) in "channel=\(try Self.pathSegment(c, what: "channel"))" },
                       as: RolloutListResponse.self).rollouts
    }

    public func rollout(_ id: Int) async throws(AloftError) -> RolloutView {
        try await call(.rollout, ["rollout": String(id)], as: RolloutView.self)
    }

    /// `pause`, `resume` or `abort`.
    public func changeRollout(_ id: Int, _ action: APIOperation) async throws(AloftError) -> RolloutView {
        try decodeRollout(try await send(action, ["rollout": String(id)], body: nil, contentType: nil), path: action.path)
    }

    private func decodeRollout(_ bytes: [UInt8], path: String) throws(AloftError) -> RolloutView {
        do { return try JSONDecoder().decode(RolloutView.self, from: Data(bytes)) } catch {
            throw AloftError("unexpected answer from \(server)\(path): not the JSON this client expects")
        }
    }

    // MARK: Releases

    public func release(channel: String, version: String) async throws(AloftError) -> ReleaseEnvelopeResponse {
        try await call(
            .release, ["channel": try Self.pathSegment(channel, what: "channel"), "version": try Self.queryValue(version)],
            as: ReleaseEnvelopeResponse.self)
    }

    public func blob(_ sha256: String) async throws(AloftError) -> [UInt8] {
        guard Digest.isSHA256Hex(sha256) else { throw AloftError("'\(sha256.prefix(80))' is not a SHA-256") }
        return try await send(.blob, ["sha256": sha256], body: nil, contentType: nil)
    }

    /// A version as it goes in a URL: semantic versions hold only characters that need no escaping, but `+` in a query
    /// would read as a space, so it is escaped.
    static func queryValue(_ version: String) throws(AloftError) -> String {
        guard SemanticVersion(version) != nil else { throw AloftError("'\(version.prefix(40))' is not a semantic version like 1.2.0") }
        return version.replacingOccurrences(of: "+", with: "%2B")
    }
}

/// `aloft release promote`: the same files, re-signed here for another channel, published without uploading anything.
public struct Promoter: Sendable {
    let client: AdminClient

    public init(client: AdminClient) {
        self.client = client
    }

    public struct Outcome: Sendable {
        public var manifest: ReleaseManifest
        public var legacy: Bool
        public var alreadyPublished: Bool
        public var shortOfFlash: FlashShortfallView?
    }

    /// Takes release `version` of `from`, makes the same manifest for `to` at its next sequence, signs it with `keys`
    /// (and its format-1 form when agents before 0.3.0 can take it) and publishes it, `held` if asked.
    public func promote(version: String, from: String, to: String, keys: [ReleasePrivateKey], held: Bool, created: Date) async throws(AloftError)
        -> Outcome
    {
        try Identifiers.validateChannel(from)
        try Identifiers.validateChannel(to)
        guard from != to else { throw AloftError("--from and --to are the same channel '\(from)'") }
        let source = try await client.release(channel: from, version: version)
        let header = try source.release.parsedHeader()
        let fileList = try await client.blob(header.files.sha256)
        var manifest = try header.release(fileList: fileList)
        manifest.channel = to
        manifest.sequence = try await client.nextSequence(channel: to)
        manifest.created = ReleaseManifest.timestamp(created)
        try manifest.validate()
        let blobs = manifest.files.map(\.sha256) + (manifest.firmware ?? []).map(\.sha256) + [header.files.sha256]
        let missing = try await client.missingBlobs(Array(Set(blobs)).sorted())
        guard missing.isEmpty else {
            throw AloftError("the server lacks \(missing.count) blob(s) of \(version); publish it from its folder instead")
        }
        let signed = try SignedRelease(signing: manifest, with: keys)
        let legacy = manifest.legacyRefusal == nil ? try SignedRelease(signingLegacy: manifest, with: keys) : nil
        let answer = try await client.publish(
            ReleasePublication(signed, legacy: legacy, held: held ? true : nil, firmwareWithoutRollback: source.firmwareWithoutRollback ? true : nil))
        manifest.sequence = answer.sequence
        return Outcome(manifest: manifest, legacy: legacy != nil, alreadyPublished: answer.alreadyPublished, shortOfFlash: answer.shortOfFlash)
    }
}
