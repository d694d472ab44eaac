/// A release's file list (docs/protocol.md, "File list"): ASCII text, one line `<sha256> <size> <path>\n` per file,
/// sorted by path bytewise.
///
/// A list has exactly one encoding, so its SHA-256 names it: a format-2 manifest signs that name (``FileListReference``),
/// and the list travels as a blob. ``parse(_:)`` refuses everything ``encode(_:)`` would not have written.
public enum FileList {
    /// Most lines a list may have: files in a release.
    public static let maxLines = 4096
    /// Largest list accepted, in bytes. With the path rules a list of ``maxLines`` lines stays below it.
    public static let maxBytes = 1_048_576

    /// The one encoding of `files`, sorted by path; whether the files make a valid release is ``validate(_:)``'s concern.
    public static func encode(_ files: [FileEntry]) -> String {
        var text = ""
        for file in files.sorted(by: { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }) {
            text += "\(file.sha256) \(file.size) \(file.path)\n"
        }
        return text
    }

    /// The files of a list, after checking every rule: line shape, path rules, sorted and unique, no path both a file
    /// and a folder, the agent all or none, 1 to ``maxLines`` lines, at most ``maxBytes`` bytes.
    public static func parse(_ bytes: some Collection<UInt8>) throws(AloftError) -> [FileEntry] {
        guard bytes.count <= maxBytes else { throw AloftError("the file list is larger than \(maxBytes) bytes") }
        let bytes = Array(bytes)
        guard !bytes.isEmpty else { throw AloftError("a release needs at least one file (the file list is empty)") }
        guard bytes.last == newline else { throw AloftError("the file list must end with a newline") }
        var files: [FileEntry] = []
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: newline)!  // the last byte is a newline
            guard files.count < maxLines else { throw AloftError("a release has at most \(maxLines) files; the file list has more lines") }
            files.append(try line(bytes[start..<end], number: files.count + 1))
            start = end + 1
        }
        try validate(files)
        return files
    }

    /// ``parse(_:)``, and the list must be the one `reference` names: its size, its SHA-256, then its number of lines.
    public static func parse(_ bytes: some Collection<UInt8>, matching reference: FileListReference) throws(AloftError) -> [FileEntry] {
        guard bytes.count == reference.size else {
            throw AloftError("the file list is \(bytes.count) bytes; the manifest says \(reference.size)")
        }
        let sha256 = Digest.sha256Hex(bytes)
        guard sha256 == reference.sha256 else {
            throw AloftError("the file list's SHA-256 is \(sha256), not the \(reference.sha256) the manifest names")
        }
        let files = try parse(bytes)
        guard files.count == reference.count else {
            throw AloftError("the file list has \(files.count) lines; the manifest says \(reference.count)")
        }
        return files
    }

    /// The rules a release's files meet, whichever way they are written down: 1 to `maxFiles` files, each a valid path,
    /// a SHA-256 and a size; sorted by path bytewise and unique; no path both a file and a folder; and a release that
    /// carries the agent (files under `lib/aloft/`) carries all of it, `lib/aloft/__init__.py` at least.
    public static func validate(_ files: [FileEntry], maxFiles: Int = maxLines) throws(AloftError) {
        try checkCount(files.count, maxFiles: maxFiles)
        var previous: [UInt8]? = nil
        for file in files {
            try ReleasePath.validate(file.path)
            guard Digest.isSHA256Hex(file.sha256) else { throw AloftError("file '\(file.path)': sha256 must be 64 lowercase hex characters") }
            guard (0...ReleaseManifest.maxFileSize).contains(file.size) else {
                throw AloftError("file '\(file.path)': size must be 0...\(ReleaseManifest.maxFileSize) bytes")
            }
            let key = Array(file.path.utf8)
            if let previous {
                guard previous.lexicographicallyPrecedes(key) else {
                    throw AloftError(previous == key ? "file '\(file.path)' is listed twice" : "files must be sorted by path ('\(file.path)' is out of order)")
                }
            }
            previous = key
        }
        // A file and a folder cannot share a name on the device. Checking every path's folders against the set of
        // paths does not depend on what sorts between them (`lib/data` < `lib/data-x` < `lib/data/y`).
        let paths = Set(files.map(\.path))
        for file in files {
            var prefix = ""
            for segment in file.path.split(separator: "/").dropLast() {
                prefix += prefix.isEmpty ? String(segment) : "/" + segment
                if paths.contains(prefix) { throw AloftError("'\(prefix)' is both a file and a folder") }
            }
        }
        // Agent files replace the device's agent as a whole, never mixed with the modules of another version, so
        // they must at least make an importable package. A release without agent files leaves the agent alone.
        let agentFiles = files.filter { ReleasePath.isAgentFile($0.path) }.count
        if agentFiles > ReleasePath.maxAgentFiles {
            throw AloftError("a release carries at most \(ReleasePath.maxAgentFiles) agent files, this one has \(agentFiles)")
        }
        if agentFiles > 0, !paths.contains(ReleasePath.agentInitFile) {
            throw AloftError("a release that carries the agent must carry all of it: \(ReleasePath.agentInitFile) is missing")
        }
    }

    /// A release has 1 to `maxFiles` files.
    static func checkCount(_ count: Int, maxFiles: Int = maxLines) throws(AloftError) {
        guard count >= 1 else { throw AloftError("a release needs at least one file") }
        guard count <= maxFiles else { throw AloftError("a release has at most \(maxFiles) files, this one has \(count)") }
    }

    private static let newline = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")

    /// One line without its newline: `<64 lowercase hex> <size> <path>`, one space between, nothing else.
    private static func line(_ line: ArraySlice<UInt8>, number: Int) throws(AloftError) -> FileEntry {
        func fail(_ why: String) -> AloftError { AloftError("file list line \(number): \(why)") }
        let hashEnd = line.startIndex + 64
        guard line.count > 64, line[hashEnd] == space else { throw fail("expected '<sha256> <size> <path>'") }
        let sha256 = String(decoding: line[line.startIndex..<hashEnd], as: UTF8.self)
        guard Digest.isSHA256Hex(sha256) else { throw fail("the sha256 must be 64 lowercase hex characters") }
        let sizeStart = hashEnd + 1
        guard let sizeEnd = line[sizeStart...].firstIndex(of: space), sizeEnd > sizeStart else {
            throw fail("expected '<sha256> <size> <path>'")
        }
        let digits = line[sizeStart..<sizeEnd]
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw fail("the size must be a decimal number of bytes") }
        guard digits.count == 1 || digits.first != 0x30 else { throw fail("the size must not have leading zeros") }
        // Nine digits cannot overflow, and anything longer is above the limit anyway.
        guard digits.count <= 9, let size = Int(String(decoding: digits, as: UTF8.self)), size <= ReleaseManifest.maxFileSize else {
            throw fail("the size must be 0...\(ReleaseManifest.maxFileSize) bytes")
        }
        let pathBytes = line[(sizeEnd + 1)...]
        // The path rules allow only ASCII without spaces, so a second space or a stray byte is a path error.
        let path = String(decoding: pathBytes, as: UTF8.self)
        do { try ReleasePath.validate(path) } catch { throw fail(error.message) }
        return FileEntry(path: path, sha256: sha256, size: size)
    }
}

/// What a format-2 manifest says about its file list: how many lines, how many bytes, and its SHA-256.
public struct FileListReference: Codable, Sendable, Equatable {
    public var count: Int
    public var sha256: String
    public var size: Int

    public init(count: Int, sha256: String, size: Int) {
        self.count = count
        self.sha256 = sha256
        self.size = size
    }

    /// The reference to the encoding of `files` (``FileList/encode(_:)``).
    public init(of files: [FileEntry]) {
        let text = Array(FileList.encode(files).utf8)
        self.init(count: files.count, sha256: Digest.sha256Hex(text), size: text.count)
    }

    public func validate() throws(AloftError) {
        try FileList.checkCount(count)
        guard (1...FileList.maxBytes).contains(size) else { throw AloftError("files.size must be 1...\(FileList.maxBytes) bytes, got \(size)") }
        guard Digest.isSHA256Hex(sha256) else { throw AloftError("files.sha256 must be 64 lowercase hex characters") }
    }

    var canonicalValue: CanonicalJSON {
        .object(["count": .integer(count), "sha256": .string(sha256), "size": .integer(size)])
    }
}
