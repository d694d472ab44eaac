import Foundation
import Testing

@testable import AloftCore

/// docs/protocol.md, "File list": one encoding, and every other spelling refused with a one-line reason.
@Suite struct FileListTests {
    static let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64), e = String(repeating: "e", count: 64)

    static func entry(_ path: String, _ size: Int = 1, _ sha: String = a) -> FileEntry { FileEntry(path: path, sha256: sha, size: size) }

    func parse(_ text: String) throws(AloftError) -> [FileEntry] { try FileList.parse(Array(text.utf8)) }

    @Test func encodesSortedLinesAndRoundTrips() throws {
        let files = [Self.entry("main.py", 95, Self.a), Self.entry("lib/pkg/__init__.py", 0, Self.e), Self.entry("lib/util.py", 812, Self.b)]
        let text = FileList.encode(files)
        #expect(text == "\(Self.e) 0 lib/pkg/__init__.py\n\(Self.b) 812 lib/util.py\n\(Self.a) 95 main.py\n")
        let parsed = try parse(text)
        #expect(parsed == files.sorted { $0.path < $1.path })
        #expect(FileList.encode(parsed) == text)
        let reference = FileListReference(of: files)
        #expect(reference == FileListReference(count: 3, sha256: Digest.sha256Hex(Array(text.utf8)), size: text.utf8.count))
        #expect(try FileList.parse(Array(text.utf8), matching: reference) == parsed)
    }

    @Test func sortsBytewiseNotByStringOrdering() throws {
        // '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < 'Z' (0x5a) < '_' (0x5f) < 'a' (0x61).
        let paths = ["a-b", "a.b", "a/b", "aZ", "a_b", "ab"]
        let text = FileList.encode(paths.reversed().map { Self.entry($0) })
        #expect(try parse(text).map(\.path) == paths)
    }

    @Test(arguments: [
        ("no newline at the end", "\(a) 1 main.py", "the file list must end with a newline"),
        ("empty", "", "a release needs at least one file (the file list is empty)"),
        ("blank line", "\(a) 1 main.py\n\n", "file list line 2: expected '<sha256> <size> <path>'"),
        ("two spaces", "\(a)  1 main.py\n", "file list line 1: expected '<sha256> <size> <path>'"),
        ("a tab", "\(a)\t1 main.py\n", "file list line 1: expected '<sha256> <size> <path>'"),
        ("no path", "\(a) 1\n", "file list line 1: expected '<sha256> <size> <path>'"),
        ("empty path", "\(a) 1 \n", "file list line 1: invalid path '': empty"),
        ("a space in the path", "\(a) 1 main py\n", "file list line 1: invalid path 'main py': only A-Z a-z 0-9 . _ - + = @ ~ , and / are allowed"),
        ("trailing space", "\(a) 1 main.py \n", "file list line 1: invalid path 'main.py ': only A-Z a-z 0-9 . _ - + = @ ~ , and / are allowed"),
        ("CRLF", "\(a) 1 main.py\r\n", "file list line 1: invalid path 'main.py\r': only A-Z a-z 0-9 . _ - + = @ ~ , and / are allowed"),
        ("uppercase hex", "\(String(repeating: "A", count: 64)) 1 main.py\n", "file list line 1: the sha256 must be 64 lowercase hex characters"),
        ("short hash", "\(String(repeating: "a", count: 63)) 1 main.py\n", "file list line 1: expected '<sha256> <size> <path>'"),
        ("not hex", "\(String(repeating: "g", count: 64)) 1 main.py\n", "file list line 1: the sha256 must be 64 lowercase hex characters"),
        ("leading zero", "\(a) 01 main.py\n", "file list line 1: the size must not have leading zeros"),
        ("00", "\(a) 00 main.py\n", "file list line 1: the size must not have leading zeros"),
        ("sign", "\(a) +1 main.py\n", "file list line 1: the size must be a decimal number of bytes"),
        ("negative", "\(a) -1 main.py\n", "file list line 1: the size must be a decimal number of bytes"),
        ("too large", "\(a) 16777217 main.py\n", "file list line 1: the size must be 0...16777216 bytes"),
        ("huge", "\(a) 99999999999999999999999 main.py\n", "file list line 1: the size must be 0...16777216 bytes"),
        ("reserved path", "\(a) 1 boot.py\n", "file list line 1: invalid path 'boot.py': reserved for the Aloft agent ('boot.py')"),
        ("absolute path", "\(a) 1 /main.py\n", "file list line 1: invalid path '/main.py': absolute paths are not allowed"),
        ("non-ASCII", "\(a) 1 naïve.py\n", "file list line 1: invalid path 'naïve.py': only A-Z a-z 0-9 . _ - + = @ ~ , and / are allowed"),
        ("unsorted", "\(a) 1 main.py\n\(a) 1 lib/x.py\n", "files must be sorted by path ('lib/x.py' is out of order)"),
        ("duplicate", "\(a) 1 main.py\n\(b) 2 main.py\n", "file 'main.py' is listed twice"),
        ("file and folder", "\(a) 1 lib\n\(a) 1 lib/x.py\n", "'lib' is both a file and a folder"),
        ("partial agent", "\(a) 1 lib/aloft/update.py\n\(a) 1 main.py\n",
         "a release that carries the agent must carry all of it: lib/aloft/__init__.py is missing"),
    ])
    func refuses(_ name: String, _ text: String, _ message: String) {
        #expect(throws: AloftError(message), "\(name)") { try parse(text) }
    }

    @Test func aFileAndAFolderAreFoundWhateverSortsBetweenThem() throws {
        // `lib/data-x` sorts between `lib/data` and `lib/data/y`, so comparing each path with the one before misses this.
        let text = FileList.encode([Self.entry("lib/data"), Self.entry("lib/data-x"), Self.entry("lib/data/y")])
        #expect(text.split(separator: "\n").map { $0.split(separator: " ")[2] } == ["lib/data", "lib/data-x", "lib/data/y"])
        #expect(throws: AloftError("'lib/data' is both a file and a folder")) { try parse(text) }
        // Deeper, with more in between.
        let deep = FileList.encode([Self.entry("a/b"), Self.entry("a/b-c/d"), Self.entry("a/b.x"), Self.entry("a/b/c/d")])
        #expect(throws: AloftError("'a/b' is both a file and a folder")) { try parse(deep) }
        // Near names are not folders of each other.
        #expect(try parse(FileList.encode([Self.entry("lib/data"), Self.entry("lib/data-x"), Self.entry("lib/data.py")])).count == 3)
    }

    @Test func theAgentAllOrNone() throws {
        #expect(try parse("\(Self.a) 1 lib/aloft/__init__.py\n\(Self.a) 1 lib/aloft/update.py\n").count == 2)
        #expect(try parse("\(Self.a) 1 lib/aloftx/update.py\n").count == 1)
    }

    /// The device holds the names of the agent's files while it plans an install, so a release carries at most 64.
    @Test func atMost64AgentFiles() throws {
        let agent = [Self.entry("lib/aloft/__init__.py")] + (0..<63).map { Self.entry(String(format: "lib/aloft/m%02d.py", $0)) }
        #expect(try parse(FileList.encode(agent)).count == 64)
        #expect(throws: AloftError("a release carries at most 64 agent files, this one has 65")) {
            try parse(FileList.encode(agent + [Self.entry("lib/aloft/zz.py")]))
        }
    }

    @Test func atMost4096Lines() throws {
        let files = (0..<4097).map { Self.entry(String(format: "f%05d", $0)) }
        #expect(try parse(FileList.encode(Array(files.prefix(4096)))).count == 4096)
        #expect(throws: AloftError("a release has at most 4096 files; the file list has more lines")) { try parse(FileList.encode(files)) }
        #expect(throws: AloftError("the file list is larger than 1048576 bytes")) { try FileList.parse([UInt8](repeating: 0x0a, count: 1_048_577)) }
    }

    @Test func mustBeTheListTheManifestNames() throws {
        let files = [Self.entry("lib/util.py", 812, Self.b), Self.entry("main.py", 95)]
        let bytes = Array(FileList.encode(files).utf8)
        let reference = FileListReference(of: files)
        var wrong = reference
        wrong.size += 1
        #expect(throws: AloftError("the file list is 157 bytes; the manifest says 158")) { try FileList.parse(bytes, matching: wrong) }
        wrong = reference
        wrong.sha256 = Self.e
        #expect(throws: AloftError("the file list's SHA-256 is \(reference.sha256), not the \(Self.e) the manifest names")) {
            try FileList.parse(bytes, matching: wrong)
        }
        wrong = reference
        wrong.count = 3
        #expect(throws: AloftError("the file list has 2 lines; the manifest says 3")) { try FileList.parse(bytes, matching: wrong) }

        // Through the manifest: a header names one list, and only that one makes a release.
        let manifest = sampleManifest(files: files)
        #expect(try ReleaseManifest.parse(canonical: manifest.canonicalJSON(), fileList: bytes) == manifest)
        let other = Array(FileList.encode([Self.entry("lib/util.py", 812, Self.b), Self.entry("main.py", 96)]).utf8)
        #expect(throws: AloftError.self) { try ReleaseManifest.parse(canonical: manifest.canonicalJSON(), fileList: other) }
    }
}
