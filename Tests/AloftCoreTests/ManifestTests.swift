import Foundation
import Testing

@testable import AloftCore

func sampleManifest(sequence: Int = 1, files: [FileEntry]? = nil) -> ReleaseManifest {
    ReleaseManifest(
        version: SemanticVersion("1.2.0")!, sequence: sequence, channel: "stable", created: "2026-11-29T02:33:34Z",
        compat: Compatibility(boards: ["esp32*", "sim"], micropython: "1.21"),
        files: files ?? [
            FileEntry(path: "main.py", sha256: String(repeating: "a", count: 64), size: 95),
            FileEntry(path: "lib/util.py", sha256: String(repeating: "b", count: 64), size: 812),
        ])
}

/// The sample's file list, as bytes.
func sampleFileList(_ manifest: ReleaseManifest = sampleManifest()) -> [UInt8] { Array(manifest.fileList.utf8) }

extension ReleaseManifest {
    /// This release as the selection rule sees it, published in `formats`.
    func candidate(formats: Set<Int> = [1, 2]) -> ReleaseCandidate {
        ReleaseCandidate(sequence: sequence, compat: compat, expires: expires, formats: formats)
    }
}

@Suite struct CanonicalJSONTests {
    @Test func sortsKeysByBytesAndWritesNoWhitespace() {
        let value = CanonicalJSON.object(["b": .integer(1), "a": .array([.string("x"), .null, .bool(true)]), "B": .integer(-2)])
        #expect(value.encoded == #"{"B":-2,"a":["x",null,true],"b":1}"#)
    }

    @Test func escapesOnlyQuoteBackslashAndControls() {
        #expect(CanonicalJSON.string("a\"b\\c/d\n\u{1}é").encoded == #""a\"b\\c/d\u000a\u0001é""#)
    }

    @Test func manifestEncodingIsExact() {
        let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)
        let list = "\(b) 812 lib/util.py\n\(a) 95 main.py\n"
        #expect(sampleManifest().fileList == list)
        let text = sampleManifest().canonicalJSON()
        #expect(text == #"{"channel":"stable","compat":{"boards":["esp32*","sim"],"micropython":"1.21"},"created":"2026-11-29T02:33:34Z","#
            + #""files":{"count":2,"sha256":"\#(Digest.sha256Hex(Array(list.utf8)))","size":\#(list.utf8.count)},"#
            + #""format":2,"sequence":1,"version":"1.2.0"}"#)
    }

    @Test func legacyEncodingIsExact() throws {
        let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)
        #expect(try sampleManifest().legacyCanonicalJSON() == #"{"channel":"stable","compat":{"boards":["esp32*","sim"],"micropython":"1.21"},"#
            + #""created":"2026-11-29T02:33:34Z","#
            + #""files":[{"path":"lib/util.py","sha256":"\#(b)","size":812},{"path":"main.py","sha256":"\#(a)","size":95}],"#
            + #""format":1,"sequence":1,"version":"1.2.0"}"#)
    }

    @Test func parseRoundTrips() throws {
        let manifest = sampleManifest()
        #expect(try ReleaseManifest.parse(canonical: manifest.canonicalJSON(), fileList: sampleFileList()) == manifest)
        #expect(try ManifestHeader.parse(canonical: manifest.canonicalJSON()) == manifest.header)
        #expect(try ReleaseManifest.parse(legacy: manifest.legacyCanonicalJSON()) == manifest)
    }

    @Test(arguments: [
        ("whitespace", ",\"format\"", ", \"format\""),
        ("unknown field", "\"format\":2", "\"extra\":1,\"format\":2"),
        ("duplicate key", "\"format\":2", "\"format\":2,\"format\":2"),
        ("float", "\"sequence\":1", "\"sequence\":1.0"),
        ("unsorted keys", "\"count\":2,\"sha256\"", "\"sha256\""),
        ("unknown field in files", "\"count\":2", "\"count\":2,\"lines\":2"),
        ("escaped slash", "esp32*", "esp32\\/*"),
        ("trailing newline", "\"1.2.0\"}", "\"1.2.0\"}\n"),
        ("format 3", "\"format\":2", "\"format\":3"),
    ])
    func parseRejectsNonCanonicalSpellings(_ name: String, _ from: String, _ to: String) {
        var text = sampleManifest().canonicalJSON().replacingOccurrences(of: from, with: to)
        if name == "unsorted keys" {  // files object with sha256 first: move count to the end
            text = text.replacingOccurrences(of: #""size":157}"#, with: #""size":157,"count":2}"#)
        }
        #expect(text != sampleManifest().canonicalJSON(), "mutation \(name) changed nothing")
        #expect(throws: AloftError.self) { try ManifestHeader.parse(canonical: text) }
    }

    @Test(arguments: [
        ("whitespace", ",\"format\"", ", \"format\""),
        ("unknown field", "\"format\":1", "\"extra\":1,\"format\":1"),
        ("duplicate key", "\"format\":1", "\"format\":1,\"format\":1"),
        ("float", "\"sequence\":1", "\"sequence\":1.0"),
        ("escaped slash", "lib/util.py", "lib\\/util.py"),
        ("trailing newline", "\"1.2.0\"}", "\"1.2.0\"}\n"),
    ])
    func legacyParseRejectsNonCanonicalSpellings(_ name: String, _ from: String, _ to: String) throws {
        let canonical = try sampleManifest().legacyCanonicalJSON()
        let text = canonical.replacingOccurrences(of: from, with: to)
        #expect(text != canonical, "mutation \(name) changed nothing")
        #expect(throws: AloftError.self) { try ReleaseManifest.parse(legacy: text) }
    }

    @Test func parseRejectsGarbageWithAClearMessage() throws {
        for text in ["", "[]", "{", "null", "{\"format\":2}", String(repeating: "[", count: 10_000)] {
            #expect(throws: AloftError.self) { try ManifestHeader.parse(canonical: text) }
            #expect(throws: AloftError.self) { try ReleaseManifest.parse(legacy: text) }
        }
        #expect(throws: AloftError("manifest is not valid: missing field 'version'")) {
            try ManifestHeader.parse(canonical: #"{"channel":"stable","compat":{"boards":["*"]},"created":"2026-11-29T02:33:34Z","files":{"count":1,"sha256":"\#(String(repeating: "a", count: 64))","size":80},"format":2,"sequence":1}"#)
        }
        #expect(throws: AloftError("manifest is not valid: missing field 'version'")) {
            try ReleaseManifest.parse(legacy: #"{"channel":"stable","compat":{"boards":["*"]},"created":"2026-11-29T02:33:34Z","files":[],"format":1,"sequence":1}"#)
        }
        // Each format's parser names the other when it is handed it.
        #expect(throws: AloftError("this is a format-1 manifest (files listed inline); format 2 is expected here")) {
            try ManifestHeader.parse(canonical: sampleManifest().legacyCanonicalJSON())
        }
        #expect(throws: AloftError("expected a format-1 manifest, got format 2")) { try ReleaseManifest.parse(legacy: sampleManifest().canonicalJSON()) }
        let big = sampleManifest().canonicalJSON().replacingOccurrences(of: "\"1.2.0\"", with: "\"1.2.0+\(String(repeating: "b", count: 5000))\"")
        #expect(throws: AloftError("manifest is larger than 4096 bytes")) { try ManifestHeader.parse(canonical: big) }
    }

    @Test func theHeaderStaysSmallWhateverTheRelease() throws {
        let many = (0..<4096).map { FileEntry(path: "lib/m\($0).py", sha256: String(repeating: "c", count: 64), size: 100_000) }
        let manifest = sampleManifest(files: many)
        #expect(throws: Never.self) { try manifest.validate() }
        #expect(manifest.canonicalJSON().utf8.count < 512)
        #expect(throws: AloftError("a format-1 manifest lists at most 256 files, this release has 4096")) { try manifest.legacyCanonicalJSON() }
        #expect(try ReleaseManifest.parse(canonical: manifest.canonicalJSON(), fileList: sampleFileList(manifest)) == manifest)
    }
}

@Suite struct ManifestValidationTests {
    @Test func validManifestPasses() throws {
        try sampleManifest().validate()
        try sampleManifest().header.validate()
    }

    @Test func rejectsEachBrokenRule() {
        var m = sampleManifest()
        m.sequence = 0
        #expect(throws: AloftError.self) { try m.validate() }
        m = sampleManifest(); m.channel = "Stable"
        #expect(throws: AloftError.self) { try m.validate() }
        m = sampleManifest(); m.created = "2026-11-29 02:33:34"
        #expect(throws: AloftError.self) { try m.validate() }
        m = sampleManifest(files: [])
        #expect(throws: AloftError("a release needs at least one file")) { try m.validate() }
        m = sampleManifest(files: [FileEntry(path: "main.py", sha256: String(repeating: "A", count: 64), size: 1)])
        #expect(throws: AloftError.self) { try m.validate() }
        m = sampleManifest(files: [FileEntry(path: "main.py", sha256: String(repeating: "a", count: 64), size: -1)])
        #expect(throws: AloftError.self) { try m.validate() }
        m = sampleManifest(); m.files = Array(m.files.reversed())
        #expect(throws: AloftError("files must be sorted by path ('lib/util.py' is out of order)")) { try m.validate() }
        m = sampleManifest(); m.files.append(m.files[1])
        #expect(throws: AloftError("file 'main.py' is listed twice")) { try m.validate() }
        m = sampleManifest(files: [FileEntry(path: "lib", sha256: String(repeating: "a", count: 64), size: 1),
                                   FileEntry(path: "lib/x.py", sha256: String(repeating: "a", count: 64), size: 1)])
        #expect(throws: AloftError("'lib' is both a file and a folder")) { try m.validate() }
        m = sampleManifest(); m.compat.boards = []
        #expect(throws: AloftError.self) { try m.validate() }
        m = sampleManifest(); m.compat.micropython = "1.x"
        #expect(throws: AloftError.self) { try m.validate() }
        let many = (0..<4097).map { FileEntry(path: "f\($0)", sha256: String(repeating: "a", count: 64), size: 1) }
        m = sampleManifest(files: many)
        #expect(throws: AloftError("a release has at most 4096 files, this one has 4097")) { try m.validate() }
    }

    @Test func headerRulesOnTheFileListReference() {
        var h = sampleManifest().header
        h.format = 1
        #expect(throws: AloftError("unsupported manifest format 1 (this version reads 2)")) { try h.validate() }
        let cases: [(FileListReference, String)] = [
            (FileListReference(count: 0, sha256: String(repeating: "a", count: 64), size: 80), "a release needs at least one file"),
            (FileListReference(count: 4097, sha256: String(repeating: "a", count: 64), size: 80), "a release has at most 4096 files, this one has 4097"),
            (FileListReference(count: 1, sha256: String(repeating: "a", count: 64), size: 0), "files.size must be 1...1048576 bytes, got 0"),
            (FileListReference(count: 1, sha256: String(repeating: "a", count: 64), size: 1_048_577), "files.size must be 1...1048576 bytes, got 1048577"),
            (FileListReference(count: 1, sha256: String(repeating: "A", count: 64), size: 80), "files.sha256 must be 64 lowercase hex characters"),
        ]
        for (reference, message) in cases {
            h = sampleManifest().header
            h.files = reference
            #expect(throws: AloftError(message)) { try h.validate() }
            #expect(throws: AloftError(message)) { try ManifestHeader.parse(canonical: h.canonicalJSON()) }
        }
    }

    @Test func aReleaseMayCarryTheWholeAgent() throws {
        let agent = ["lib/aloft/__init__.py", "lib/aloft/update.py", "lib/aloft/x.mpy"].map {
            FileEntry(path: $0, sha256: String(repeating: "c", count: 64), size: 10)
        }
        try sampleManifest(files: sampleManifest().files + agent).validate()
        // Manifest rules do not require application files next to the agent.
        try sampleManifest(files: agent).validate()
        try sampleManifest(files: [agent[0]]).validate()
    }

    @Test func aReleaseWithPartOfTheAgentIsRefused() throws {
        let missing = AloftError("a release that carries the agent must carry all of it: lib/aloft/__init__.py is missing")
        let partial = [
            FileEntry(path: "lib/aloft/update.py", sha256: String(repeating: "c", count: 64), size: 10),
            FileEntry(path: "main.py", sha256: String(repeating: "a", count: 64), size: 95),
        ]
        #expect(throws: missing) { try sampleManifest(files: partial).validate() }
        let deep = [FileEntry(path: "lib/aloft/sub/__init__.py", sha256: String(repeating: "c", count: 64), size: 10)]
        #expect(throws: missing) { try sampleManifest(files: deep).validate() }
        // Parsing applies the same rule, in both formats.
        let manifest = sampleManifest(files: partial)
        #expect(throws: missing) { try ReleaseManifest.parse(canonical: manifest.canonicalJSON(), fileList: sampleFileList(manifest)) }
        #expect(throws: missing) { try ReleaseManifest.parse(legacy: manifest.legacyCanonicalJSON()) }
        // Near misses are application files, not agent files.
        let near = [FileEntry(path: "lib/aloftx/update.py", sha256: String(repeating: "c", count: 64), size: 10)]
        #expect(throws: Never.self) { try sampleManifest(files: near).validate() }
    }

    @Test func timestampFormatting() {
        #expect(ReleaseManifest.timestamp(Date(timeIntervalSince1970: 1_796_000_000)) == "2026-11-30T00:53:20Z")
    }
}

/// Whether a format-1 and a format-2 manifest describe the same release (docs/protocol.md, "Format 1").
@Suite struct SameReleaseTests {
    @Test func identicalDescriptionsHaveNoDifferences() {
        #expect(sampleManifest().differences(from: sampleManifest()).isEmpty)
    }

    @Test func everyFieldCounts() throws {
        let base = sampleManifest()
        var changes: [(String, (inout ReleaseManifest) -> Void)] = [
            ("channel", { $0.channel = "beta" }),
            ("version", { $0.version = SemanticVersion("1.2.1")! }),
            // Equal by precedence, but another text: not the same manifest.
            ("version", { $0.version = SemanticVersion("1.2.0+build.7")! }),
            ("sequence", { $0.sequence = 2 }),
            ("created", { $0.created = "2026-11-29T02:33:35Z" }),
            ("compat", { $0.compat.micropython = nil }),
            ("expires", { $0.expires = "2027-01-01T00:00:00Z" }),
            ("trust", { $0.trust = ReleaseTrust(keys: [ReleasePrivateKey.generate().publicKey]) }),
            ("files", { $0.files[0].size += 1 }),
            ("files", { $0.files.removeLast() }),
        ]
        changes.append(("channel, sequence", { $0.channel = "beta"; $0.sequence = 9 }))
        for (fields, change) in changes {
            var other = base
            change(&other)
            #expect(base.differences(from: other).joined(separator: ", ") == fields, "\(fields)")
        }
    }

    @Test func aPublicationChecksItsLegacyEnvelope() throws {
        let key = ReleasePrivateKey.generate()
        let manifest = sampleManifest()
        let signed = try SignedRelease(signing: manifest, with: [key])
        let legacy = try SignedRelease(signingLegacy: manifest, with: [key])
        #expect(try ReleasePublication(signed, legacy: legacy).parsedRelease(fileList: sampleFileList()) == manifest)
        #expect(try ReleasePublication(signed).parsedRelease(fileList: sampleFileList()) == manifest)

        var other = manifest
        other.sequence = 2
        #expect(throws: AloftError("the legacy manifest does not describe the same release as the manifest: sequence differs")) {
            try ReleasePublication(signed, legacy: SignedRelease(signingLegacy: other, with: [key])).parsedRelease(fileList: sampleFileList())
        }
        other = manifest
        other.files[1].sha256 = String(repeating: "d", count: 64)
        other.created = "2026-11-29T02:33:35Z"
        #expect(throws: AloftError("the legacy manifest does not describe the same release as the manifest: created, files differ")) {
            try ReleasePublication(signed, legacy: SignedRelease(signingLegacy: other, with: [key])).parsedRelease(fileList: sampleFileList())
        }
        // The legacy envelope must hold a format-1 manifest, and the manifest a format-2 one.
        #expect(throws: AloftError("legacy: expected a format-1 manifest, got format 2")) {
            try ReleasePublication(signed, legacy: signed).parsedRelease(fileList: sampleFileList())
        }
        #expect(throws: AloftError("the manifest must be format 2; the format-1 one goes in \"legacy\"")) {
            try ReleasePublication(legacy, legacy: legacy).parsedHeader()
        }
        #expect(throws: AloftError(
            "a format-1 manifest alone cannot be published: send the format-2 manifest, with this one as its \"legacy\" envelope (aloft release publish does)"
        )) { try ReleasePublication(legacy).parsedHeader() }
    }
}

@Suite struct ReleasePathTests {
    @Test(arguments: [
        "main.py", "lib/x.py", "lib/deep/er/file.mpy", "assets/logo.bin", "a-b_c.d+e=f@g~h,i", "lib/aloftx.py", "boot.pyc", "x/.hidden",
        "lib/aloft/__init__.py", "lib/aloft/update.mpy", "lib/aloft/sub/x.py", "x/boot.py", "x/.aloft/y", ".aloftx",
    ])
    func accepts(_ path: String) throws {
        try ReleasePath.validate(path)
        #expect(ReleasePath.reservedOwner(path) == nil)
    }

    @Test func agentFilesAreTheOnesInsideTheAgentFolder() {
        #expect(ReleasePath.isAgentFile("lib/aloft/__init__.py"))
        #expect(ReleasePath.isAgentFile("lib/aloft/sub/x.py"))
        for path in ["lib/aloft", "lib/aloftx.py", "lib/aloftx/y.py", "lib/x.py", "aloft/__init__.py", "x/lib/aloft/y.py"] {
            #expect(!ReleasePath.isAgentFile(path), "\(path)")
        }
    }

    @Test(arguments: [
        ("../boot.py", "'.' and '..' are not allowed"), ("/lib/x", "absolute paths are not allowed"), ("a\\b", "backslashes are not allowed"),
        ("", "empty"), ("a//b", "empty path segment"), ("lib/", "empty path segment"), ("./main.py", "'.' and '..' are not allowed"),
        ("boot.py", "reserved for the Aloft agent ('boot.py')"), (".aloft/config.json", "reserved for the Aloft agent ('.aloft')"),
        (".aloft", "reserved for the Aloft agent ('.aloft')"), (".aloft/agent/__init__.py", "reserved for the Aloft agent ('.aloft')"),
        ("boot.py/x", "reserved for the Aloft agent ('boot.py')"), ("lib/aloft", "reserved for the Aloft agent ('lib/aloft')"),
        ("sp ace.py", "only A-Z a-z 0-9 . _ - + = @ ~ , and / are allowed"), ("naïve.py", "only A-Z a-z 0-9 . _ - + = @ ~ , and / are allowed"),
        ("a:b", "only A-Z a-z 0-9 . _ - + = @ ~ , and / are allowed"), ("nul\u{0}.py", "only A-Z a-z 0-9 . _ - + = @ ~ , and / are allowed"),
        (String(repeating: "a", count: 65), "a segment is longer than 64 bytes"),
        (Array(repeating: "abcdefghij", count: 12).joined(separator: "/"), "longer than 128 bytes"),
        ("a/b/c/d/e/f/g/h/i", "more than 8 levels"),
    ])
    func refuses(_ path: String, _ why: String) {
        #expect(throws: AloftError("invalid path '\(path.prefix(80))': \(why)")) { try ReleasePath.validate(path) }
    }
}

/// Which releases agents before 0.3.0 may be offered (a format-1 manifest of them is signed only then).
@Suite struct LegacyRefusalTests {
    static func release(_ files: [FileEntry]) -> ReleaseManifest {
        ReleaseManifest(version: SemanticVersion("1.0.0")!, sequence: 1, channel: "stable", created: "2026-11-29T02:33:34Z", files: files)
    }

    static func file(_ path: String, size: Int = 3) -> FileEntry {
        FileEntry(path: path, sha256: Digest.sha256Hex(Array(path.utf8)), size: size)
    }

    @Test func aSmallReleaseWithoutEmptyFilesFits() {
        #expect(Self.release([Self.file("main.py"), Self.file("lib/x.py")]).legacyRefusal == nil)
        #expect(Self.release((0..<256).map { Self.file("f\($0)") }).legacyRefusal == nil)
    }

    @Test func moreThan256FilesDoNot() {
        #expect(Self.release((0..<257).map { Self.file("f\($0)") }).legacyRefusal == "format 1 lists at most 256 files, this release has 257")
    }

    /// 0.2.0 fails on an empty file at every check (ENOENT on a download that never got a file), so it must not be offered one.
    @Test func anEmptyFileDoesNot() {
        let release = Self.release([Self.file("main.py"), Self.file("lib/pkg/__init__.py", size: 0)])
        #expect(release.legacyRefusal == "agents before 0.3.0 cannot install an empty file (lib/pkg/__init__.py)")
    }
}
