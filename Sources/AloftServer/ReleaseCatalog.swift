import AloftCore
import AloftStore
import Foundation
import Synchronization

/// What check-ins need of each release, by channel and sequence, so they do not re-parse manifests: what the selection
/// rule looks at, the envelope for each format, and the legacy envelope's zlib map.
///
/// Entries never go stale: a published release is immutable, and its blobs existed (zlib form settled) when it was
/// published. The cache is bounded by dropping everything when it fills; it refills from the store on demand.
final class ReleaseCatalog<Store: FleetStore>: Sendable {
    struct Entry: Sendable {
        var candidate: ReleaseCandidate
        /// The format-2 envelope, when the release has one.
        var envelope: SignedRelease?
        /// The format-1 envelope, when the release has one.
        var legacy: SignedRelease?
        /// For format-1 devices: blob → size of its zlib form, for the blobs of the legacy manifest that have one.
        var legacyZlib: [String: Int]

        /// The envelope a device that reads `format` gets, with the zlib map format 1 carries beside it.
        func offer(format: Int) -> (release: SignedRelease, zlib: [String: Int]?)? {
            switch format {
            case ReleaseManifest.currentFormat: envelope.map { ($0, nil) }
            case ReleaseManifest.legacyFormat: legacy.map { ($0, legacyZlib) }
            default: nil
            }
        }
    }

    private struct Key: Hashable {
        var channel: String
        var sequence: Int
    }

    private struct Update: Hashable {
        var channel: String
        var from: Int
        var to: Int
    }

    static var capacity: Int { 512 }
    /// Updates whose flash need is kept: each is a number, worked out from two file lists once.
    static var needCapacity: Int { 65_536 }

    private let store: Store
    private let blobs: BlobStore
    private let entries = Mutex<[Key: Entry]>([:])
    private let needs = Mutex<[Update: Int?]>([:])

    init(store: Store, blobs: BlobStore) {
        self.store = store
        self.blobs = blobs
    }

    /// The release, or nil when the store has none with this channel and sequence.
    func entry(channel: String, sequence: Int) async throws -> Entry? {
        let key = Key(channel: channel, sequence: sequence)
        if let cached = entries.withLock({ $0[key] }) { return cached }
        guard let record = try await store.release(channel: channel, sequence: sequence) else { return nil }
        let entry = try await Self.entry(record, blobs: blobs)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
        return entry
    }

    /// The free flash a device running release `from` of `channel` (0: none) must report at check-in to take release `to`:
    /// ``FlashNeed/atCheckIn(from:to:agentOnBoard:)``. Nil when either release or its file list is not in the store; then
    /// the agent's own check alone decides. The agent on the board is taken to be the one the installed release carries,
    /// else the one the new release carries (a release that carries none does not change it, and needs no room for it).
    func flashNeed(channel: String, from: Int, to: Int) async throws -> Int? {
        let key = Update(channel: channel, from: from, to: to)
        if let cached = needs.withLock({ $0[key] }) { return cached }
        var need: Int?
        if let new = try await files(channel: channel, sequence: to), let installed = from == 0 ? [] : try await files(channel: channel, sequence: from) {
            let agent = ReleasePath.agentFolder + "/"
            // Of a release that carries none, the board's agent is taken to be files of the new one's names and sizes
            // with other bytes: replaced, and copied before.
            let installedAgent = installed.filter { $0.path.hasPrefix(agent) }
            let board = installedAgent.isEmpty
                ? new.filter { $0.path.hasPrefix(agent) }.map { FileEntry(path: $0.path, sha256: "", size: $0.size) } : installedAgent
            need = FlashNeed.atCheckIn(from: installed, to: new, agentOnBoard: board)
        }
        needs.withLock { needs in
            if needs.count >= Self.needCapacity { needs.removeAll(keepingCapacity: true) }
            needs[key] = need
        }
        return need
    }

    /// A stored release's files: its format-2 file list (a blob), or its legacy manifest's.
    private func files(channel: String, sequence: Int) async throws -> [FileEntry]? {
        guard let record = try await store.release(channel: channel, sequence: sequence) else { return nil }
        if let envelope = try record.signedEnvelope() {
            let reference = try envelope.parsedHeader().files
            guard let bytes = try await blobs.read(reference.sha256) else { return nil }
            return try FileList.parse(bytes, matching: reference)
        }
        return try record.signedLegacy()?.parsedLegacyManifest().files
    }

    /// Parses what was stored; publishing checked that both envelopes describe the same release.
    private static func entry(_ record: ReleaseRecord, blobs: BlobStore) async throws -> Entry {
        let envelope = try record.signedEnvelope()
        let header = try envelope?.parsedHeader()
        let legacy = try record.signedLegacy()
        let legacyManifest = try legacy?.parsedLegacyManifest()
        var zlib: [String: Int] = [:]
        for file in legacyManifest?.files ?? [] {
            if let size = try await blobs.size(of: file.sha256, encoding: .zlib) { zlib[file.sha256] = size }
        }
        var formats = Set<Int>()
        if header != nil { formats.insert(ReleaseManifest.currentFormat) }
        if legacyManifest != nil { formats.insert(ReleaseManifest.legacyFormat) }
        guard let compat = header?.compat ?? legacyManifest?.compat else {
            throw AloftError("release \(record.channel)/\(record.sequence) has no envelope in the store")
        }
        // The images are the signed header's; the permission to send them to boards that do not roll back is the publisher's.
        let candidate = ReleaseCandidate(
            sequence: record.sequence, version: record.version, held: record.held, compat: compat, expires: header?.expires ?? legacyManifest?.expires,
            formats: formats, firmware: header?.firmware ?? [], firmwareWithoutRollback: record.firmwareWithoutRollback)
        return Entry(candidate: candidate, envelope: envelope, legacy: legacy, legacyZlib: zlib)
    }
}

extension ReleaseRecord {
    /// The stored format-2 envelope, decoded; nil for a release from before format 2.
    func signedEnvelope() throws -> SignedRelease? { try envelope.map(Self.decode) }

    /// The stored format-1 envelope, decoded; nil when the release has none.
    func signedLegacy() throws -> SignedRelease? { try legacyEnvelope.map(Self.decode) }

    private static func decode(_ text: String) throws -> SignedRelease { try JSONDecoder().decode(SignedRelease.self, from: Data(text.utf8)) }
}
