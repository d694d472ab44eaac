import AloftCore
import Foundation

/// A folder of MicroPython files laid out as they should land on the device.
public struct ReleaseFolder: Sendable {
    public struct File: Sendable {
        public var entry: FileEntry
        public var url: URL
    }

    public let root: URL
    public private(set) var files: [File]

    /// What the walk left out, and why (for `--dry-run`); nothing for the agent package.
    public let skipped: [ReleaseFolderWalk.Skipped]

    /// Reads the files of `root` that ``ReleaseFolderWalk`` selects (no junk, no hidden names, nothing `.aloftignore`
    /// leaves out; links only to inside the folder); refuses paths devices would refuse.
    ///
    /// With `agent`, the release also carries that agent package under `lib/aloft/`; a folder that has agent files
    /// of its own is then refused, as the device would get two agents. Without it, agent files in the folder are
    /// published as they are (the manifest rules still ask for the whole agent).
    public init(root: URL, agent: AgentPackage? = nil) throws(AloftError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AloftError("release folder not found: \(root.path)")
        }
        self.root = root
        let walk = try ReleaseFolderWalk(root: root)
        skipped = walk.skipped
        var found: [File] = []
        for file in walk.files {
            do { try ReleasePath.validate(file.path) } catch { throw AloftError("\(error.message) (in \(file.folder.path))") }
            found.append(try Self.read(file.url, as: file.path))
        }
        guard !found.isEmpty else {
            let left = skipped.isEmpty ? "" : " (\(skipped.count) left out as junk, hidden or ignored by \(ReleaseFolderWalk.ignoreFileName))"
            throw AloftError("release folder \(root.path) has no files\(left)")
        }
        if let agent {
            if let own = found.first(where: { ReleasePath.isAgentFile($0.entry.path) }) {
                throw AloftError(
                    "release folder \(root.path) already has agent files (\(own.entry.path)); drop --include-agent to publish them, "
                        + "or remove \(ReleasePath.agentFolder) from the folder to ship the agent of this aloft build")
            }
            for file in agent.files {
                do { try ReleasePath.validate(file.path) } catch { throw AloftError("\(error.message) (in \(agent.folder.path))") }
                found.append(try Self.read(file.url, as: file.path))
            }
        }
        guard found.count <= ReleaseManifest.maxFiles else {
            throw AloftError("the release would have \(found.count) files; a release has at most \(ReleaseManifest.maxFiles)")
        }
        files = found.sorted { Array($0.entry.path.utf8).lexicographicallyPrecedes(Array($1.entry.path.utf8)) }
    }

    /// The application's modules compiled to bytecode (`x.py` → `x.mpy`, written into `dir`), so a device imports them
    /// without compiling: every `.py` but `main.py` (MicroPython runs it by name) and the agent's files (their form is
    /// the agent's, see ``AgentPackage/built(_:into:compiler:)``). A folder with both `x.py` and `x.mpy` is refused.
    public func compiled(with compiler: MpyCross, into dir: URL) throws(AloftError) -> ReleaseFolder {
        var out = self
        let paths = Set(files.map(\.entry.path))
        var compiled: [File] = []
        for file in files {
            let path = file.entry.path
            guard path.hasSuffix(".py"), path != "main.py", !ReleasePath.isAgentFile(path) else {
                compiled.append(file)
                continue
            }
            let target = String(path.dropLast(3)) + ".mpy"
            guard !paths.contains(target) else {
                throw AloftError("\(path) and \(target) are both in the release folder; with --compile keep only the .py")
            }
            let url = dir.appendingPathComponent(target)
            do { try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
                throw AloftError("cannot create \(url.deletingLastPathComponent().path): \(error.localizedDescription)")
            }
            try compiler.compile(file.url, as: path, to: url)
            do { try ReleasePath.validate(target) } catch { throw AloftError("\(error.message) (compiled from \(path))") }
            compiled.append(try Self.read(url, as: target))
        }
        out.files = compiled.sorted { Array($0.entry.path.utf8).lexicographicallyPrecedes(Array($1.entry.path.utf8)) }
        return out
    }

    /// Whether the release carries the agent.
    public var carriesAgent: Bool { files.contains { ReleasePath.isAgentFile($0.entry.path) } }

    /// The version of the agent the release carries (from its `lib/aloft/__init__.py`), if it carries one that says.
    public var agentVersion: String? {
        guard let initFile = files.first(where: { $0.entry.path == ReleasePath.agentInitFile }),
              let data = FileManager.default.contents(atPath: initFile.url.path)
        else { return nil }
        return AgentPackage.version(ofInit: String(decoding: data, as: UTF8.self))
    }

    /// One file of the release: its bytes from `url`, landing at `path` on the device.
    private static func read(_ url: URL, as path: String) throws(AloftError) -> File {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw AloftError("cannot read \(url.path)") }
        guard data.count <= ReleaseManifest.maxFileSize else {
            throw AloftError("\(path) is \(data.count) bytes; files are limited to \(ReleaseManifest.maxFileSize) bytes")
        }
        return File(entry: FileEntry(path: path, sha256: Digest.sha256Hex(data), size: data.count), url: url)
    }

    public func manifest(
        version: SemanticVersion, sequence: Int, channel: String, compat: Compatibility, created: Date = Date(),
        expires: String? = nil, trust: ReleaseTrust? = nil
    ) throws(AloftError) -> ReleaseManifest {
        let manifest = ReleaseManifest(
            version: version, sequence: sequence, channel: channel,
            created: ReleaseManifest.timestamp(created), compat: compat, files: files.map(\.entry), expires: expires, trust: trust)
        try manifest.validate()
        return manifest
    }
}

/// Publishing: folder → manifest and file list → signatures (here, offline) → upload the blobs the server lacks → release.
public struct Publisher: Sendable {
    public struct Outcome: Sendable {
        public var manifest: ReleaseManifest
        public var uploadedBlobs: Int
        public var uploadedBytes: Int
        /// Whether a format-1 manifest was signed and published too, so agents before 0.3.0 are offered the release.
        public var legacy: Bool
        /// The channel had this version with the same files already: nothing changed (the manifest's sequence is the one it has).
        public var alreadyPublished: Bool = false
        public var held: Bool = false
    }

    let client: AdminClient

    public init(client: AdminClient) {
        self.client = client
    }

    /// `sequence: nil` takes the channel's latest plus one. Every key in `keys` signs the manifest, and the format-1
    /// manifest when agents before 0.3.0 can take the release (``ReleaseManifest/legacyRefusal``).
    public func publish(
        folder: ReleaseFolder, version: SemanticVersion, keys: [ReleasePrivateKey], channel: String,
        compat: Compatibility, sequence: Int? = nil, created: Date = Date(), expires: String? = nil, trust: ReleaseTrust? = nil,
        held: Bool = false
    ) async throws(AloftError) -> Outcome {
        try Identifiers.validateChannel(channel)
        let next: Int
        if let sequence { next = sequence } else { next = try await client.latestSequence(channel: channel) + 1 }
        let manifest = try folder.manifest(
            version: version, sequence: next, channel: channel, compat: compat, created: created, expires: expires, trust: trust)
        let signed = try SignedRelease(signing: manifest, with: keys)
        let legacy = manifest.legacyRefusal == nil ? try SignedRelease(signingLegacy: manifest, with: keys) : nil
        let fileList = Array(manifest.fileList.utf8)
        let fileListSHA = Digest.sha256Hex(fileList)
        let missing = Set(try await client.missingBlobs(Array(Set(manifest.files.map(\.sha256) + [fileListSHA])).sorted()))
        var uploadedBytes = 0
        var uploaded = Set<String>()
        for file in folder.files where missing.contains(file.entry.sha256) && !uploaded.contains(file.entry.sha256) {
            guard let data = FileManager.default.contents(atPath: file.url.path), Digest.sha256Hex(data) == file.entry.sha256 else {
                throw AloftError("\(file.entry.path) changed while publishing; run the command again")
            }
            try await client.uploadBlob(sha256: file.entry.sha256, bytes: Array(data))
            uploaded.insert(file.entry.sha256)
            uploadedBytes += data.count
        }
        // Last: the list names the files, which are on the server by now. (It is also a file's blob if one has the same bytes.)
        if missing.contains(fileListSHA), !uploaded.contains(fileListSHA) {
            try await client.uploadBlob(sha256: fileListSHA, bytes: fileList)
            uploaded.insert(fileListSHA)
            uploadedBytes += fileList.count
        }
        let answer = try await client.publish(ReleasePublication(signed, legacy: legacy, held: held ? true : nil))
        var published = manifest
        published.sequence = answer.sequence
        return Outcome(
            manifest: published, uploadedBlobs: uploaded.count, uploadedBytes: uploadedBytes, legacy: answer.legacy, alreadyPublished: answer.alreadyPublished,
            held: answer.held)
    }
}
