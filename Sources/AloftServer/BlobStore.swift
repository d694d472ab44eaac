import AloftCore
import CompressNIO
import Foundation
import Hummingbird

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Content-addressed files on disk: `DIR/ab/abcdef…` (raw) and `DIR/ab/abcdef….zlib` (RFC 1950, 1 KiB window).
///
/// A blob becomes visible only by `rename(2)` of a complete, synced temporary file whose SHA-256 was checked first,
/// and is never changed afterwards; so any number of server processes may share the directory.
/// The zlib form is written before the raw one: once the raw file exists, whether a zlib form exists is settled.
public struct BlobStore: Sendable {
    /// Largest blob accepted, the same as the largest file a manifest may list.
    public static let maxBlobSize = ReleaseManifest.maxFileSize
    /// zlib `wbits`: a 1 KiB window, so a device inflates with at most 1 KiB of history.
    public static let zlibWindowBits: Int32 = 10

    /// The two forms a blob is served in.
    public enum Encoding: String, Sendable {
        case raw
        case zlib
    }

    /// What ``put(_:sha256:)`` stored.
    public struct Stored: Sendable, Equatable {
        public var sha256: String
        public var size: Int
        /// Size of the zlib form; nil when compressing did not make it smaller.
        public var zlibSize: Int?
        /// False when the blob was already there.
        public var created: Bool
    }

    /// The bytes do not hash to the name they were sent under.
    public struct HashMismatch: Error, CustomStringConvertible {
        public let expected: String
        public let actual: String
        public var description: String { "the bytes hash to \(actual), not \(expected)" }
    }

    public let directory: String

    /// Opens (and creates when missing) the blob directory.
    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Where a blob's form lives. `sha256` must already be validated: it becomes a path.
    public func path(of sha256: String, encoding: Encoding) -> String {
        precondition(Digest.isSHA256Hex(sha256), "blob names are validated before they reach the disk")
        let name = "\(directory)/\(sha256.prefix(2))/\(sha256)"
        return encoding == .raw ? name : name + ".zlib"
    }

    /// Size of a stored form, or nil when it does not exist (or `sha256` is not a blob name).
    public func size(of sha256: String, encoding: Encoding = .raw) -> Int? {
        guard Digest.isSHA256Hex(sha256) else { return nil }
        return Self.fileSize(path(of: sha256, encoding: encoding))
    }

    public func contains(_ sha256: String) -> Bool {
        size(of: sha256) != nil
    }

    /// The raw bytes of a blob, or nil when there is none. For small blobs the server itself reads (file lists);
    /// devices get theirs streamed by ``BlobResponder``.
    public func read(_ sha256: String) throws -> [UInt8]? {
        guard contains(sha256) else { return nil }
        guard let data = FileManager.default.contents(atPath: path(of: sha256, encoding: .raw)) else {
            throw AloftError("cannot read blob \(sha256) from \(directory)")
        }
        return Array(data)
    }

    /// Stores `bytes` under `sha256` after checking the hash; adds a zlib form when that is smaller.
    ///
    /// Compression and writing run on the calling task: uploads are rare, admin-only and at most 16 MiB.
    public func put(_ bytes: ByteBuffer, sha256: String) throws -> Stored {
        guard Digest.isSHA256Hex(sha256) else { throw AloftError("'\(sha256.prefix(80))' is not a SHA-256 (64 lowercase hex characters)") }
        let actual = Digest.sha256Hex(bytes.readableBytesView)
        guard actual == sha256 else { throw HashMismatch(expected: sha256, actual: actual) }
        if let size = size(of: sha256) {
            return Stored(sha256: sha256, size: size, zlibSize: self.size(of: sha256, encoding: .zlib), created: false)
        }
        let folder = "\(directory)/\(sha256.prefix(2))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let compressed = try Self.zlibCompress(bytes)
        var zlibSize: Int? = nil
        if compressed.readableBytes < bytes.readableBytes {
            try AtomicFile.write(compressed.readableBytesView, to: path(of: sha256, encoding: .zlib))
            zlibSize = compressed.readableBytes
        }
        try AtomicFile.write(bytes.readableBytesView, to: path(of: sha256, encoding: .raw))
        return Stored(sha256: sha256, size: bytes.readableBytes, zlibSize: zlibSize, created: true)
    }

    /// zlib format (RFC 1950), best compression, ``zlibWindowBits`` window.
    public static func zlibCompress(_ bytes: ByteBuffer) throws -> ByteBuffer {
        var input = bytes
        // The Int32 initializer takes wbits directly (the enum one names sizes by memory use, not window).
        let configuration = ZlibConfiguration(windowSize: zlibWindowBits, compressionLevel: Int32(9), memoryLevel: Int32(8))
        return try input.compress(with: .zlib, configuration: configuration)
    }

    static func fileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }
}
