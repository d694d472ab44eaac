import AloftCore
import AloftStore
import Foundation

extension BlobStore {
    /// Every blob file on this disk, as paths under ``directory`` (`ab/abcdef…` and `ab/abcdef….zlib`): complete blobs
    /// only, never the temporary file of one being written. A backup copies these.
    public func storedFiles() throws -> [String] {
        let fm = FileManager.default
        guard fm.fileExists(atPath: directory) else { return [] }
        var files: [String] = []
        for folder in try fm.contentsOfDirectory(atPath: directory).sorted() where folder.count == 2 {
            guard let names = try? fm.contentsOfDirectory(atPath: "\(directory)/\(folder)") else { continue }
            for name in names.sorted() {
                let sha256 = name.hasSuffix(".zlib") ? String(name.dropLast(".zlib".count)) : name
                guard Digest.isSHA256Hex(sha256), sha256.hasPrefix(folder) else { continue }
                files.append("\(folder)/\(name)")
            }
        }
        return files
    }

    /// The blobs the store's releases name (file lists, files, firmware images) that are not on this disk, sorted. A
    /// server offers a release only when it has them; publishing checked they were there (``AdminAPI``), so after a
    /// restore a missing one means the backup is incomplete.
    public func missingBlobs(of store: some FleetStore) async throws -> [String] {
        func isHere(_ sha256: String) -> Bool { Digest.isSHA256Hex(sha256) && Self.fileSize(path(of: sha256, encoding: .raw)) != nil }
        var missing = Set<String>()
        for record in try await store.releases(channel: nil, limit: nil) {
            var names: [String] = record.firmware.map(\.sha256)
            if let header = try record.signedEnvelope()?.parsedHeader() {
                names.append(header.files.sha256)
                if isHere(header.files.sha256), let list = FileManager.default.contents(atPath: path(of: header.files.sha256, encoding: .raw)) {
                    names += try header.release(fileList: Array(list)).files.map(\.sha256)
                }
            }
            if let legacy = try record.signedLegacy()?.parsedLegacyManifest() { names += legacy.files.map(\.sha256) }
            missing.formUnion(names.filter { !isHere($0) })
        }
        return missing.sorted()
    }
}
