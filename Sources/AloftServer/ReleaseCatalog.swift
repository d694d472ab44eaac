import AloftCore
import AloftStore
import Foundation
import Synchronization

/// Parsed releases and their zlib maps, by channel and sequence, so check-ins do not re-parse manifests.
///
/// Entries never go stale: a published release is immutable, and its blobs existed (zlib form settled) when it was
/// published. The cache is bounded by dropping everything when it fills; it refills from the store on demand.
final class ReleaseCatalog<Store: FleetStore>: Sendable {
    struct Entry: Sendable {
        var envelope: SignedRelease
        var manifest: ReleaseManifest
        /// Blob → size of its zlib form, for the blobs that have one.
        var zlib: [String: Int]
    }

    private struct Key: Hashable {
        var channel: String
        var sequence: Int
    }

    static var capacity: Int { 512 }

    private let store: Store
    private let blobs: BlobStore
    private let entries = Mutex<[Key: Entry]>([:])

    init(store: Store, blobs: BlobStore) {
        self.store = store
        self.blobs = blobs
    }

    /// The release, or nil when the store has none with this channel and sequence.
    func entry(channel: String, sequence: Int) async throws -> Entry? {
        let key = Key(channel: channel, sequence: sequence)
        if let cached = entries.withLock({ $0[key] }) { return cached }
        guard let record = try await store.release(channel: channel, sequence: sequence) else { return nil }
        let envelope = try JSONDecoder().decode(SignedRelease.self, from: Data(record.envelope.utf8))
        let manifest = try envelope.parsedManifest()
        var zlib: [String: Int] = [:]
        for file in manifest.files {
            if let size = blobs.size(of: file.sha256, encoding: .zlib) { zlib[file.sha256] = size }
        }
        let entry = Entry(envelope: envelope, manifest: manifest, zlib: zlib)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
        return entry
    }
}
