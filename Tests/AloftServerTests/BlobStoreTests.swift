import AloftCore
import AloftServer
import CompressNIO
import Foundation
import Hummingbird
import Testing

@Suite struct BlobStoreTests {
    static func withStore(shared: (any SharedBlobs)? = nil, _ body: (BlobStore, String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-blobs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(BlobStore(directory: directory, shared: shared), directory)
    }

    @Test func zlibUsesA1KiBWindowAndRoundTrips() throws {
        let text = Array((0..<400).map { "line \($0 % 37): the quick brown fox\n" }.joined().utf8)
        let compressed = try Zlib.compress(ByteBuffer(bytes: text), windowBits: BlobStore.zlibWindowBits)
        let header = Array(compressed.readableBytesView.prefix(2))
        // CMF: CM = 8 (deflate), CINFO = 2 -> 2^(2+8) = 1024-byte window.
        #expect(header[0] == 0x28)
        #expect((UInt16(header[0]) << 8 | UInt16(header[1])) % 31 == 0)
        #expect(compressed.readableBytes < text.count)
        // An inflater limited to a 1 KiB window (wbits 10) refuses any stream that declares a larger one.
        var input = compressed
        let inflated = try input.decompress(with: .zlib, configuration: ZlibConfiguration(windowSize: Int32(10)))
        #expect(Array(inflated.readableBytesView) == text)
    }

    @Test func putStoresRawAndSmallerZlibByHash() async throws {
        try await Self.withStore { store, directory in
            let bytes = Array(String(repeating: "abc", count: 1000).utf8)
            let sha = Digest.sha256Hex(bytes)
            let stored = try await store.put(ByteBuffer(bytes: bytes), sha256: sha)
            #expect(stored.created)
            #expect(stored.size == 3000)
            let zlibSize = try #require(stored.zlibSize)
            #expect(zlibSize < 3000)
            #expect(store.path(of: sha, encoding: .raw) == "\(directory)/\(sha.prefix(2))/\(sha)")
            #expect(FileManager.default.contents(atPath: store.path(of: sha, encoding: .raw)) == Data(bytes))
            #expect(try await store.size(of: sha, encoding: .zlib) == zlibSize)
            // No temporary files are left beside the blob.
            let names = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(sha.prefix(2))").sorted()
            #expect(names == [sha, sha + ".zlib"])

            let again = try await store.put(ByteBuffer(bytes: bytes), sha256: sha)
            #expect(!again.created)
            #expect(again.zlibSize == zlibSize)
        }
    }

    @Test func incompressibleBlobHasNoZlibForm() async throws {
        try await Self.withStore { store, _ in
            let bytes = randomBytes(2048, seed: 3)
            let stored = try await store.put(ByteBuffer(bytes: bytes), sha256: Digest.sha256Hex(bytes))
            #expect(stored.zlibSize == nil)
            #expect(try await store.size(of: stored.sha256, encoding: .zlib) == nil)
        }
    }

    @Test func emptyBlobIsStored() async throws {
        try await Self.withStore { store, _ in
            let sha = Digest.sha256Hex([UInt8]())
            let stored = try await store.put(ByteBuffer(), sha256: sha)
            #expect(stored.size == 0)
            #expect(try await store.contains(sha))
        }
    }

    @Test func wrongHashIsRefusedAndNothingBecomesVisible() async throws {
        try await Self.withStore { store, directory in
            let claimed = Digest.sha256Hex(Array("other".utf8))
            await #expect(throws: BlobStore.HashMismatch.self) { try await store.put(ByteBuffer(string: "these bytes"), sha256: claimed) }
            let visible = try await store.contains(claimed)
            #expect(!visible)
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/\(claimed.prefix(2))"))
            await #expect(throws: AloftError.self) { try await store.put(ByteBuffer(string: "x"), sha256: "../../etc/passwd") }
            let traversal = try await store.size(of: "../../etc/passwd")
            #expect(traversal == nil)
        }
    }

    /// Two servers' folders over one shared store (the database, here in memory): what one was given, the other serves.
    @Test func aSharedBlobIsCopiedToADiskThatLacksIt() async throws {
        let shared = MemoryBlobs()
        let bytes = Array(String(repeating: "shared ", count: 500).utf8), sha = Digest.sha256Hex(bytes)
        try await Self.withStore(shared: shared) { first, _ in
            let stored = try await first.put(ByteBuffer(bytes: bytes), sha256: sha)
            #expect(stored.created && stored.zlibSize != nil)
            #expect(shared.forms == ["\(sha).raw", "\(sha).zlib"], "both forms went to the shared store")
        }
        try await Self.withStore(shared: shared) { second, directory in
            #expect(!FileManager.default.fileExists(atPath: second.path(of: sha, encoding: .raw)))
            #expect(try await second.size(of: sha) == bytes.count)
            #expect(try await second.size(of: sha, encoding: .zlib) != nil)
            #expect(FileManager.default.contents(atPath: second.path(of: sha, encoding: .raw)) == Data(bytes), "copied to this disk")
            #expect(try await second.read(sha) == bytes)
            let missing = Digest.sha256Hex(Array("nowhere".utf8))
            let found = try await second.contains(missing)
            #expect(!found)
            // A shared copy that is not what its name says is refused, and not copied.
            let forged = Digest.sha256Hex(Array("forged".utf8))
            try await shared.save(forged, form: "raw", bytes: Array("not forged".utf8))
            await #expect(throws: AloftError.self) { try await second.size(of: forged) }
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/\(forged.prefix(2))/\(forged)"))
        }
    }
}

/// ``SharedBlobs`` in memory, for tests.
final class MemoryBlobs: SharedBlobs, @unchecked Sendable {
    private let lock = NSLock()
    private var blobs: [String: [UInt8]] = [:]

    var forms: [String] { lock.withLock { blobs.keys.sorted() } }

    func save(_ sha256: String, form: String, bytes: [UInt8]) async throws {
        lock.withLock { blobs["\(sha256).\(form)"] = bytes }
    }

    func fetch(_ sha256: String, form: String) async throws -> [UInt8]? {
        lock.withLock { blobs["\(sha256).\(form)"] }
    }
}
