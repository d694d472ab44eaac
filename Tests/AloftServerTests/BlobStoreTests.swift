import AloftCore
import AloftServer
import CompressNIO
import Foundation
import Hummingbird
import Testing

@Suite struct BlobStoreTests {
    static func withStore(_ body: (BlobStore, String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-blobs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(BlobStore(directory: directory), directory)
    }

    @Test func zlibUsesA1KiBWindowAndRoundTrips() throws {
        let text = Array((0..<400).map { "line \($0 % 37): the quick brown fox\n" }.joined().utf8)
        let compressed = try BlobStore.zlibCompress(ByteBuffer(bytes: text))
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

    @Test func putStoresRawAndSmallerZlibByHash() throws {
        try Self.withStore { store, directory in
            let bytes = Array(String(repeating: "abc", count: 1000).utf8)
            let sha = Digest.sha256Hex(bytes)
            let stored = try store.put(ByteBuffer(bytes: bytes), sha256: sha)
            #expect(stored.created)
            #expect(stored.size == 3000)
            let zlibSize = try #require(stored.zlibSize)
            #expect(zlibSize < 3000)
            #expect(store.path(of: sha, encoding: .raw) == "\(directory)/\(sha.prefix(2))/\(sha)")
            #expect(FileManager.default.contents(atPath: store.path(of: sha, encoding: .raw)) == Data(bytes))
            #expect(store.size(of: sha, encoding: .zlib) == zlibSize)
            // No temporary files are left beside the blob.
            let names = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(sha.prefix(2))").sorted()
            #expect(names == [sha, sha + ".zlib"])

            let again = try store.put(ByteBuffer(bytes: bytes), sha256: sha)
            #expect(!again.created)
            #expect(again.zlibSize == zlibSize)
        }
    }

    @Test func incompressibleBlobHasNoZlibForm() throws {
        try Self.withStore { store, _ in
            let bytes = randomBytes(2048, seed: 3)
            let stored = try store.put(ByteBuffer(bytes: bytes), sha256: Digest.sha256Hex(bytes))
            #expect(stored.zlibSize == nil)
            #expect(store.size(of: stored.sha256, encoding: .zlib) == nil)
        }
    }

    @Test func emptyBlobIsStored() throws {
        try Self.withStore { store, _ in
            let sha = Digest.sha256Hex([UInt8]())
            let stored = try store.put(ByteBuffer(), sha256: sha)
            #expect(stored.size == 0)
            #expect(store.contains(sha))
        }
    }

    @Test func wrongHashIsRefusedAndNothingBecomesVisible() throws {
        try Self.withStore { store, directory in
            let claimed = Digest.sha256Hex(Array("other".utf8))
            #expect(throws: BlobStore.HashMismatch.self) { try store.put(ByteBuffer(string: "these bytes"), sha256: claimed) }
            #expect(!store.contains(claimed))
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/\(claimed.prefix(2))"))
            #expect(throws: AloftError.self) { try store.put(ByteBuffer(string: "x"), sha256: "../../etc/passwd") }
            #expect(store.size(of: "../../etc/passwd") == nil)
        }
    }
}
