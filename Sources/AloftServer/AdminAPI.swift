import AloftAPI
import AloftCore
import AloftStore
import Foundation
import Hummingbird

/// The management API: blobs, releases, channels and devices (docs/protocol.md, "Management API").
struct AdminAPI<Store: FleetStore>: Sendable {
    static var maxMissingQuery: Int { MissingBlobsRequest.maxHashes }

    let store: Store
    let blobs: BlobStore
    let decisions: FleetDecisions<Store>
    let clock: @Sendable () -> Date

    /// Adds the management routes: blobs, releases, channels and devices.
    func addRoutes(to routes: RouteTable) {
        routes.add(.missingBlobs, use: missingBlobs)
        routes.add(.putBlob, use: putBlob)
        routes.add(.publishRelease, use: publish)
        routes.add(.listReleases, use: listReleases)
        routes.add(.channel, use: channel)
        routes.add(.release, use: release)
        routes.add(.createDevice, use: createDevice)
        routes.add(.listDevices, use: listDevices)
        routes.add(.device, use: device)
        routes.add(.deviceEvents, use: events)
        routes.add(.deviceDownloads, use: downloads)
    }

    // MARK: Blobs

    @Sendable func missingBlobs(request: Request, context: AloftRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: MissingBlobsRequest.self)
        guard body.sha256.count <= Self.maxMissingQuery else { throw APIError.badRequest("ask about at most \(Self.maxMissingQuery) blobs at once") }
        var seen = Set<String>()
        var missing: [String] = []
        for sha in body.sha256 {
            try Self.requireSHA256(sha)
            if seen.insert(sha).inserted {
                if try await !blobs.contains(sha) { missing.append(sha) }
            }
        }
        return try context.json(MissingBlobsResponse(missing: missing))
    }

    @Sendable func putBlob(request: Request, context: AloftRequestContext) async throws -> Response {
        let sha = try context.parameters.require("sha256")
        try Self.requireSHA256(sha)
        let bytes = try await request.collectBody(limit: BodyLimit.blob)
        let stored = try await blobs.put(bytes, sha256: sha)
        if stored.created {
            context.logger.info(
                "stored blob", metadata: ["sha256": "\(sha)", "size": "\(stored.size)", "zlib": "\(stored.zlibSize.map(String.init) ?? "-")"])
        }
        return try context.json(
            StoredBlobResponse(sha256: sha, size: stored.size, zlibSize: stored.zlibSize), status: stored.created ? .created : .ok)
    }

    // MARK: Releases

    @Sendable func publish(request: Request, context: AloftRequestContext) async throws -> Response {
        let publication = try await request.decodeJSON(as: ReleasePublication.self, limit: BodyLimit.releaseEnvelope)
        let header = try publication.parsedHeader()
        let now = clock()
        if header.isExpired(at: now) { throw APIError.badRequest("this release expired at \(header.expires ?? ""); publish it with a later expiry") }
        let fileList = try await fileList(named: header.files)
        let manifest = try publication.parsedRelease(fileList: fileList)
        var missing: [String] = []
        for file in manifest.files where !missing.contains(file.sha256) {
            guard let size = try await blobs.size(of: file.sha256) else {
                missing.append(file.sha256)
                continue
            }
            guard size == file.size else {
                throw APIError.badRequest("file '\(file.path)' says \(file.size) bytes but blob \(file.sha256) has \(size)")
            }
        }
        // A firmware image is a blob like a file (docs/firmware.md), checked the same way; the message names its build.
        var missingFirmware: [String] = []
        for image in manifest.firmware ?? [] {
            guard let size = try await blobs.size(of: image.sha256) else {
                if !missing.contains(image.sha256) { missing.append(image.sha256) }
                missingFirmware.append(image.build)
                continue
            }
            guard size == image.size else {
                throw APIError.badRequest("firmware \(image.build) says \(image.size) bytes but blob \(image.sha256) has \(size)")
            }
        }
        guard missing.isEmpty else {
            let firmware = missingFirmware.isEmpty ? "" : " (the firmware of \(missingFirmware.joined(separator: ", ")) among them)"
            throw APIError(.conflict, "upload the \(missing.count) missing blob(s) before publishing\(firmware)", missing: missing)
        }
        // Versions are unique per channel: the same files and firmware again is a no-op, others a conflict.
        if let existing = try await store.release(channel: manifest.channel, version: manifest.version.description) {
            let other = try Self.fileListHash(existing) != header.files.sha256 ? "files" : existing.firmware != manifest.firmware ?? [] ? "firmware" : nil
            if let other {
                throw APIError(
                    .conflict,
                    "channel '\(existing.channel)' has version \(existing.version) already (sequence \(existing.sequence)) with other \(other); "
                        + "publish these under a new version")
            }
            return try context.json(
                PublishedReleaseResponse(
                    version: existing.version, sequence: existing.sequence, channel: existing.channel, legacy: existing.legacyEnvelope != nil,
                    held: existing.held, alreadyPublished: true))
        }
        // Stored normalized; the manifest strings inside, the only parts signed, are kept byte for byte.
        let envelope = try String(decoding: context.responseEncoder.encode(publication.envelope), as: UTF8.self)
        let legacy = try publication.legacy.map { try String(decoding: context.responseEncoder.encode($0), as: UTF8.self) }
        let held = publication.held ?? false
        let release = try await store.publish(
            NewRelease(
                manifest: manifest, envelope: envelope, legacyEnvelope: legacy, publishedAt: now, held: held,
                firmwareWithoutRollback: publication.firmwareWithoutRollback ?? false))
        context.logger.info(
            "published release",
            metadata: [
                "channel": "\(release.channel)", "sequence": "\(release.sequence)", "version": "\(release.version)", "legacy": "\(legacy != nil)",
                "held": "\(held)", "firmware": "\(release.firmware.map(\.build).joined(separator: ","))",
                "firmwareWithoutRollback": "\(release.firmwareWithoutRollback)",
            ])
        let short = try await decisions.shortOfFlash(channel: release.channel, sequence: release.sequence)
        return try context.json(
            PublishedReleaseResponse(
                version: release.version, sequence: release.sequence, channel: release.channel, legacy: legacy != nil, held: held, shortOfFlash: short),
            status: .created)
    }

    /// The SHA-256 of a stored release's file list, which names every file: the same hash, the same files.
    /// A release from before format 2 has only a legacy manifest; its file list is hashed the way format 2 would.
    static func fileListHash(_ record: ReleaseRecord) throws -> String {
        if let envelope = try record.signedEnvelope() { return try envelope.parsedHeader().files.sha256 }
        guard let legacy = try record.signedLegacy() else { return "" }
        return Digest.sha256Hex(FileList.encode(try legacy.parsedLegacyManifest().files).utf8)
    }

    @Sendable func release(request: Request, context: AloftRequestContext) async throws -> Response {
        let channel = try context.parameters.require("channel")
        try Identifiers.validateChannel(channel)
        let version = try context.parameters.require("version")
        try Self.requireVersion(version)
        guard let record = try await store.release(channel: channel, version: version) else {
            throw APIError.notFound("channel '\(channel)' has no release \(version)")
        }
        guard let envelope = try record.signedEnvelope() else {
            throw APIError.notFound("release \(version) of '\(channel)' predates format 2 and has only a legacy manifest; publish it anew")
        }
        return try context.json(
            ReleaseEnvelopeResponse(
                channel: channel, version: record.version, sequence: record.sequence, held: record.held, release: envelope,
                legacy: try record.signedLegacy(), firmwareWithoutRollback: record.firmwareWithoutRollback))
    }

    /// The bytes of the file list a manifest names: 409 with `missing` when it was not uploaded, 400 when the blob
    /// is not the size the manifest says (checked before the blob is read; a blob may be 16 MiB, a file list only 1 MiB).
    private func fileList(named reference: FileListReference) async throws -> [UInt8] {
        guard let size = try await blobs.size(of: reference.sha256) else {
            throw APIError(.conflict, "upload the file list (blob \(reference.sha256)) before publishing", missing: [reference.sha256])
        }
        guard size == reference.size else {
            throw APIError.badRequest("the file list is \(size) bytes; the manifest says \(reference.size)")
        }
        guard let bytes = try await blobs.read(reference.sha256) else {
            throw APIError(.conflict, "upload the file list (blob \(reference.sha256)) before publishing", missing: [reference.sha256])
        }
        return bytes
    }

    @Sendable func listReleases(request: Request, context: AloftRequestContext) async throws -> Response {
        let channel = request.uri.queryParameters["channel"].map(String.init)
        if let channel { try Identifiers.validateChannel(channel) }
        let releases = try await store.releases(channel: channel)
        return try context.json(ReleaseListResponse(releases: releases.map(ReleaseSummary.init)))
    }

    @Sendable func channel(request: Request, context: AloftRequestContext) async throws -> Response {
        let channel = try context.parameters.require("channel")
        try Identifiers.validateChannel(channel)
        let latest = try await store.latestRelease(channel: channel)
        let next = ChannelSequence.next(latestRelease: latest?.sequence, highestReported: try await store.highestReportedSequence(channel: channel))
        return try context.json(
            ChannelResponse(channel: channel, latest: latest.map { .init(version: $0.version, sequence: $0.sequence) }, next: next))
    }

    // MARK: Devices

    @Sendable func createDevice(request: Request, context: AloftRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: CreateDeviceRequest.self)
        try Identifiers.validateDeviceID(body.id)
        try Identifiers.validateChannel(body.channel)
        let tags = body.tags ?? []
        try Self.requireTags(tags)
        let token = BearerSecret.device.generate()
        let device = try await store.createDevice(NewDevice(id: body.id, channel: body.channel, tokenHash: BearerSecret.hash(token), tags: tags))
        context.logger.info("registered device", metadata: ["id": "\(device.id)", "channel": "\(device.channel)"])
        return try context.json(CreatedDeviceResponse(id: device.id, channel: device.channel, token: token), status: .created)
    }

    @Sendable func listDevices(request: Request, context: AloftRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let tag = query["tag"].map(String.init), channel = query["channel"].map(String.init), version = query["version"].map(String.init)
        if let tag { try Identifiers.validateTag(tag) }
        if let channel { try Identifiers.validateChannel(channel) }
        if let version { try Self.requireVersion(version) }
        let after = query["after"].map(String.init)
        if let after { try Identifiers.validateDeviceID(after) }
        let limit = try Self.limit(request) ?? DeviceListResponse.maxPage
        guard limit <= DeviceListResponse.maxPage else { throw APIError.badRequest("limit is at most \(DeviceListResponse.maxPage) devices a page") }
        let page = try await store.devicePage(DeviceQuery(channel: channel, version: version, tag: tag, after: after, limit: limit + 1))
        let devices = Array(page.devices.prefix(limit))
        let views = try await decisions.views(of: devices, now: clock())
        let next = page.devices.count > limit ? devices.last?.id : nil
        return try context.json(DeviceListResponse(devices: views, total: page.total, next: next))
    }

    @Sendable func device(request: Request, context: AloftRequestContext) async throws -> Response {
        let device = try await decisions.existingDevice(context)
        return try await context.json(decisions.view(device, rollouts: store.rollouts(channel: device.channel), now: clock()))
    }

    @Sendable func events(request: Request, context: AloftRequestContext) async throws -> Response {
        let device = try await decisions.existingDevice(context)
        let events = try await store.events(deviceID: device.id, limit: Self.limit(request))
        return try context.json(EventListResponse(events: events.map(EventView.init)))
    }

    @Sendable func downloads(request: Request, context: AloftRequestContext) async throws -> Response {
        let device = try await decisions.existingDevice(context)
        let downloads = try await store.downloads(deviceID: device.id, limit: Self.limit(request))
        return try context.json(DownloadListResponse(downloads: downloads.map(DownloadView.init)))
    }

    // MARK: Rules

    /// Optional `?limit=N` (newest N) on event and download listings.
    private static func limit(_ request: Request) throws -> Int? {
        guard let text = request.uri.queryParameters["limit"] else { return nil }
        guard let limit = Int(text), limit > 0 else { throw APIError.badRequest("limit must be a positive integer") }
        return limit
    }

    static func requireVersion(_ version: String) throws {
        guard version.utf8.count <= SemanticVersion.maxLength, SemanticVersion(version) != nil else {
            throw APIError.badRequest("version '\(version.prefix(40))' is not a semantic version like 1.2.0")
        }
    }

    static func requireTags(_ tags: [String]) throws {
        guard tags.count <= Identifiers.maxTags else { throw APIError.badRequest("a device has at most \(Identifiers.maxTags) tags") }
        for tag in tags { try Identifiers.validateTag(tag) }
    }

    static func requireSHA256(_ sha: String) throws {
        guard Digest.isSHA256Hex(sha) else { throw APIError.badRequest("'\(sha.prefix(80))' is not a SHA-256 (64 lowercase hex characters)") }
    }
}
