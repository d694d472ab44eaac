import AloftCore
import AloftStore
import Foundation
import Hummingbird

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where servers that share no disk keep blobs for each other: the database (``FleetStore/storeBlob(_:form:bytes:)``).
public protocol SharedBlobs: Sendable {
    func save(_ sha256: String, form: String, bytes: [UInt8]) async throws
    func fetch(_ sha256: String, form: String) async throws -> [UInt8]?
}

/// A store that shares blobs (PostgreSQL) as ``SharedBlobs``.
public struct StoreBlobs<Store: FleetStore>: SharedBlobs {
    let store: Store

    public init(_ store: Store) {
        self.store = store
    }

    public func save(_ sha256: String, form: String, bytes: [UInt8]) async throws {
        try await store.storeBlob(sha256, form: form, bytes: bytes)
    }

    public func fetch(_ sha256: String, form: String) async throws -> [UInt8]? {
        try await store.blobBytes(sha256, form: form)
    }
}

/// Content-addressed files on disk: `DIR/ab/abcdef…` (raw) and `DIR/ab/abcdef….zlib` (RFC 1950, 1 KiB window).
///
/// A blob becomes visible only by `rename(2)` of a complete, synced temporary file whose SHA-256 was checked first,
/// and is never changed afterwards; so any number of server processes may share the directory.
/// The zlib form is written before the raw one: once the raw file exists, whether a zlib form exists is settled.
///
/// With ``shared`` (servers on one PostgreSQL), a stored blob goes to the database too (zlib form first, as on disk),
/// and a blob this disk lacks is copied from the database on first use: the folder is a read-through cache, and
/// blobs never change, so it never goes stale.
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
    public let shared: (any SharedBlobs)?

    /// Opens (and creates when missing) the blob directory.
    public init(directory: String, shared: (any SharedBlobs)? = nil) throws {
        self.directory = directory
        self.shared = shared
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Whether the blob is on this disk, after copying it from the shared store when it is only there. A copy whose
    /// bytes do not hash to their name is refused (the database is trusted no more than the network).
    @discardableResult
    public func fill(_ sha256: String) async throws -> Bool {
        guard Digest.isSHA256Hex(sha256) else { return false }
        if Self.fileSize(path(of: sha256, encoding: .raw)) != nil { return true }
        guard let shared, let raw = try await shared.fetch(sha256, form: Encoding.raw.rawValue) else { return false }
        guard Digest.sha256Hex(raw) == sha256 else { throw AloftError("the shared copy of blob \(sha256) does not hash to its name") }
        let folder = "\(directory)/\(sha256.prefix(2))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if let zlib = try await shared.fetch(sha256, form: Encoding.zlib.rawValue) {
            try AtomicFile.write(zlib, to: path(of: sha256, encoding: .zlib))
        }
        try AtomicFile.write(raw, to: path(of: sha256, encoding: .raw))
        return true
    }

    /// Where a blob's form lives. `sha256` must already be validated: it becomes a path.
    public func path(of sha256: String, encoding: Encoding) -> String {
        precondition(Digest.isSHA256Hex(sha256), "blob names are validated before they reach the disk")
        let name = "\(directory)/\(sha256.prefix(2))/\(sha256)"
        return encoding == .raw ? name : name + ".zlib"
    }

    /// Size of a stored form, or nil when it does not exist (or `sha256` is not a blob name).
    public func size(of sha256: String, encoding: Encoding = .raw) async throws -> Int? {
        guard try await fill(sha256) else { return nil }
        return Self.fileSize(path(of: sha256, encoding: encoding))
    }

    public func contains(_ sha256: String) async throws -> Bool {
        try await fill(sha256)
    }

    /// The raw bytes of a blob, or nil when there is none. For small blobs the server itself reads (file lists);
    /// devices get theirs streamed by ``BlobResponder``.
    public func read(_ sha256: String) async throws -> [UInt8]? {
        guard try await contains(sha256) else { return nil }
        guard let data = FileManager.default.contents(atPath: path(of: sha256, encoding: .raw)) else {
            throw AloftError("cannot read blob \(sha256) from \(directory)")
        }
        return Array(data)
    }

    /// Stores `bytes` under `sha256` after checking the hash; adds a zlib form when that is smaller.
    ///
    /// Compression and writing run on the calling task: uploads are rare, admin-only and at most 16 MiB.
    public func put(_ bytes: ByteBuffer, sha256: String) async throws -> Stored {
        guard Digest.isSHA256Hex(sha256) else { throw AloftError("'\(sha256.prefix(80))' is not a SHA-256 (64 lowercase hex characters)") }
        let actual = Digest.sha256Hex(bytes.readableBytesView)
        guard actual == sha256 else { throw HashMismatch(expected: sha256, actual: actual) }
        if let size = Self.fileSize(path(of: sha256, encoding: .raw)) {
            let zlibSize = Self.fileSize(path(of: sha256, encoding: .zlib))
            // On disk here, perhaps from before this server shared a database: make sure the others can have it.
            if let shared {
                if zlibSize != nil, let zlib = FileManager.default.contents(atPath: path(of: sha256, encoding: .zlib)) {
                    try await shared.save(sha256, form: Encoding.zlib.rawValue, bytes: Array(zlib))
                }
                try await shared.save(sha256, form: Encoding.raw.rawValue, bytes: Array(bytes.readableBytesView))
            }
            return Stored(sha256: sha256, size: size, zlibSize: zlibSize, created: false)
        }
        let folder = "\(directory)/\(sha256.prefix(2))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let compressed = try Zlib.compress(bytes, windowBits: Self.zlibWindowBits)
        var zlibSize: Int? = nil
        if compressed.readableBytes < bytes.readableBytes {
            try AtomicFile.write(compressed.readableBytesView, to: path(of: sha256, encoding: .zlib))
            zlibSize = compressed.readableBytes
        }
        try AtomicFile.write(bytes.readableBytesView, to: path(of: sha256, encoding: .raw))
        if let shared {
            // The zlib form first, as on disk: once the raw form is in the database, whether a zlib form exists is settled.
            if zlibSize != nil { try await shared.save(sha256, form: Encoding.zlib.rawValue, bytes: Array(compressed.readableBytesView)) }
            try await shared.save(sha256, form: Encoding.raw.rawValue, bytes: Array(bytes.readableBytesView))
        }
        return Stored(sha256: sha256, size: bytes.readableBytes, zlibSize: zlibSize, created: true)
    }

    static func fileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }
}
