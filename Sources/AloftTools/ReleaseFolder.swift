import AloftAPI
import AloftCore
import Foundation

/// A folder of MicroPython files laid out as they should land on the device.
public struct ReleaseFolder: Sendable {
    public struct File: Sendable {
        public var entry: FileEntry
        public var url: URL
    }

    /// A firmware image the release carries (docs/firmware.md): its manifest entry and the file it was read from.
    public struct Firmware: Sendable {
        public var image: FirmwareImage
        public var url: URL
    }

    public let root: URL
    public private(set) var files: [File]
    /// The firmware images, one per build (``withFirmware(_:)``).
    public private(set) var firmware: [Firmware] = []

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
            created: ReleaseManifest.timestamp(created), compat: compat, files: files.map(\.entry), expires: expires, trust: trust,
            firmware: firmware.isEmpty ? nil : firmware.map(\.image))
        try manifest.validate()
        return manifest
    }

    /// This folder carrying firmware images too: each `BUILD=FILE` of `specs` read and checked as publish checks an image
    /// (``FirmwareImage/init(build:imageBytes:chip:micropython:)``), with the version (`BUILD=X.Y.Z`) and chip
    /// (`BUILD=CHIP`) given for a build in `versions` and `chips`. One line names the file or option at fault.
    public func withFirmware(_ specs: [String], versions: [String] = [], chips: [String] = []) throws(AloftError) -> ReleaseFolder {
        func pairs(_ list: [String], option: String) throws(AloftError) -> [(String, String)] {
            var out: [(String, String)] = []
            for item in list {
                guard let eq = item.firstIndex(of: "="), eq != item.startIndex, item.index(after: eq) != item.endIndex else {
                    throw AloftError("\(option) takes BUILD=VALUE (e.g. ESP32_GENERIC-OTA=…), got '\(item.prefix(80))'")
                }
                out.append((String(item[..<eq]), String(item[item.index(after: eq)...])))
            }
            return out
        }
        let images = try pairs(specs, option: "--firmware")
        let versions = Dictionary(try pairs(versions, option: "--firmware-version"), uniquingKeysWith: { _, b in b })
        let chips = Dictionary(try pairs(chips, option: "--firmware-chip"), uniquingKeysWith: { _, b in b })
        let builds = Set(images.map(\.0))
        for build in Array(versions.keys) + Array(chips.keys) where !builds.contains(build) {
            throw AloftError("--firmware-version and --firmware-chip name a build of a --firmware: no --firmware \(build)=FILE")
        }
        var next = self
        next.firmware = []
        for (build, path) in images {
            guard !next.firmware.contains(where: { $0.image.build == build }) else { throw AloftError("--firmware \(build) is given twice") }
            var chip: ESPChip? = nil
            if let name = chips[build] {
                guard let known = ESPChip(rawValue: name) else {
                    throw AloftError("--firmware-chip \(build)=\(name): the chip must be one of \(ESPChip.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                chip = known
            }
            let url = URL(fileURLWithPath: path)
            guard let data = FileManager.default.contents(atPath: url.path) else { throw AloftError("cannot read firmware image \(path)") }
            guard data.count <= FirmwareImage.maxSize else {
                throw AloftError("\(path) is \(data.count) bytes; a firmware image is at most \(FirmwareImage.maxSize)")
            }
            do {
                next.firmware.append(Firmware(image: try FirmwareImage(build: build, imageBytes: Array(data), chip: chip, micropython: versions[build]), url: url))
            } catch {
                throw AloftError("\(path): \(error.message)")
            }
        }
        next.firmware.sort { Array($0.image.build.utf8).lexicographicallyPrecedes(Array($1.image.build.utf8)) }
        guard next.firmware.count <= FirmwareImage.maxImages else {
            throw AloftError("a release carries at most \(FirmwareImage.maxImages) firmware images, one per build; \(next.firmware.count) given")
        }
        return next
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
        /// The channel's devices that reported less free flash than updating to it needs.
        public var shortOfFlash: FlashShortfallView?
    }

    let client: AdminClient

    public init(client: AdminClient) {
        self.client = client
    }

    /// `sequence: nil` takes the server's next for the channel (``AdminClient/nextSequence(channel:)``). Every key in `keys` signs the manifest, and the format-1
    /// manifest when agents before 0.3.0 can take the release (``ReleaseManifest/legacyRefusal``). The folder's firmware
    /// images are uploaded like its files; `firmwareWithoutRollback` lets the server offer them to boards whose bootloader
    /// does not roll back (docs/firmware.md, "The decision").
    public func publish(
        folder: ReleaseFolder, version: SemanticVersion, keys: [ReleasePrivateKey], channel: String,
        compat: Compatibility, sequence: Int? = nil, created: Date = Date(), expires: String? = nil, trust: ReleaseTrust? = nil,
        held: Bool = false, firmwareWithoutRollback: Bool = false
    ) async throws(AloftError) -> Outcome {
        try Identifiers.validateChannel(channel)
        let next: Int
        if let sequence { next = sequence } else { next = try await client.nextSequence(channel: channel) }
        let manifest = try folder.manifest(
            version: version, sequence: next, channel: channel, compat: compat, created: created, expires: expires, trust: trust)
        let signed = try SignedRelease(signing: manifest, with: keys)
        let legacy = manifest.legacyRefusal == nil ? try SignedRelease(signingLegacy: manifest, with: keys) : nil
        let fileList = Array(manifest.fileList.utf8)
        let fileListSHA = Digest.sha256Hex(fileList)
        let wanted = manifest.files.map(\.sha256) + folder.firmware.map(\.image.sha256) + [fileListSHA]
        let missing = Set(try await client.missingBlobs(Array(Set(wanted)).sorted()))
        var uploadedBytes = 0
        var uploaded = Set<String>()
        let blobs = folder.files.map { ($0.entry.sha256, $0.url, $0.entry.path) } + folder.firmware.map { ($0.image.sha256, $0.url, $0.url.path) }
        for (sha256, url, name) in blobs where missing.contains(sha256) && !uploaded.contains(sha256) {
            guard let data = FileManager.default.contents(atPath: url.path), Digest.sha256Hex(data) == sha256 else {
                throw AloftError("\(name) changed while publishing; run the command again")
            }
            try await client.uploadBlob(sha256: sha256, bytes: Array(data))
            uploaded.insert(sha256)
            uploadedBytes += data.count
        }
        // Last: the list names the files, which are on the server by now. (It is also a file's blob if one has the same bytes.)
        if missing.contains(fileListSHA), !uploaded.contains(fileListSHA) {
            try await client.uploadBlob(sha256: fileListSHA, bytes: fileList)
            uploaded.insert(fileListSHA)
            uploadedBytes += fileList.count
        }
        let answer = try await client.publish(
            ReleasePublication(signed, legacy: legacy, held: held ? true : nil, firmwareWithoutRollback: firmwareWithoutRollback ? true : nil))
        var published = manifest
        published.sequence = answer.sequence
        return Outcome(
            manifest: published, uploadedBlobs: uploaded.count, uploadedBytes: uploadedBytes, legacy: answer.legacy, alreadyPublished: answer.alreadyPublished,
            held: answer.held, shortOfFlash: answer.shortOfFlash)
    }
}
