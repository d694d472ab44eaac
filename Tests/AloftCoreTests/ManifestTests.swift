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

@Suite struct CanonicalJSONTests {
    @Test func sortsKeysByBytesAndWritesNoWhitespace() {
        let value = CanonicalJSON.object(["b": .integer(1), "a": .array([.string("x"), .null, .bool(true)]), "B": .integer(-2)])
        #expect(value.encoded == #"{"B":-2,"a":["x",null,true],"b":1}"#)
    }

    @Test func escapesOnlyQuoteBackslashAndControls() {
        #expect(CanonicalJSON.string("a\"b\\c/d\n\u{1}é").encoded == #""a\"b\\c/d\u000a\u0001é""#)
    }

    @Test func manifestEncodingIsExact() {
        let text = sampleManifest().canonicalJSON()
        let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)
        #expect(text == #"{"channel":"stable","compat":{"boards":["esp32*","sim"],"micropython":"1.21"},"created":"2026-11-29T02:33:34Z","#
            + #""files":[{"path":"lib/util.py","sha256":"\#(b)","size":812},{"path":"main.py","sha256":"\#(a)","size":95}],"#
            + #""format":1,"sequence":1,"version":"1.2.0"}"#)
    }

    @Test func parseRoundTrips() throws {
        let manifest = sampleManifest()
        #expect(try ReleaseManifest.parse(canonical: manifest.canonicalJSON()) == manifest)
    }

    @Test(arguments: [
        ("whitespace", ",\"format\"", ", \"format\""),
        ("unknown field", "\"format\":1", "\"extra\":1,\"format\":1"),
        ("duplicate key", "\"format\":1", "\"format\":1,\"format\":1"),
        ("float", "\"sequence\":1", "\"sequence\":1.0"),
        ("escaped slash", "lib/util.py", "lib\\/util.py"),
        ("trailing newline", "\"1.2.0\"}", "\"1.2.0\"}\n"),
    ])
    func parseRejectsNonCanonicalSpellings(_ name: String, _ from: String, _ to: String) {
        let text = sampleManifest().canonicalJSON().replacingOccurrences(of: from, with: to)
        #expect(text != sampleManifest().canonicalJSON(), "mutation \(name) changed nothing")
        #expect(throws: AloftError.self) { try ReleaseManifest.parse(canonical: text) }
    }

    @Test func parseRejectsGarbageWithAClearMessage() {
        for text in ["", "[]", "{", "null", "{\"format\":1}", String(repeating: "[", count: 10_000)] {
            #expect(throws: AloftError.self) { try ReleaseManifest.parse(canonical: text) }
        }
        #expect(throws: AloftError("manifest is not valid: missing field 'version'")) {
            try ReleaseManifest.parse(canonical: #"{"channel":"stable","compat":{"boards":["*"]},"created":"2026-11-29T02:33:34Z","files":[],"format":1,"sequence":1}"#)
        }
    }
}

@Suite struct ManifestValidationTests {
    @Test func validManifestPasses() throws {
        try sampleManifest().validate()
    }

    @Test func rejectsEachBrokenRule() {
        var m = sampleManifest()
        m.sequence = 0
        #expect(throws: AloftError.self) { try m.validate() }
        m = sampleManifest(); m.channel = "Stable"
        #expect(throws: AloftError.self) { try m.validate() }
        m = sampleManifest(); m.created = "2026-11-29 02:33:34"
        #expect(throws: AloftError.self) { try m.validate() }
        m = sampleManifest(); m.format = 2
        #expect(throws: AloftError.self) { try m.validate() }
        m = sampleManifest(files: [])
        #expect(throws: AloftError.self) { try m.validate() }
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
        let many = (0..<257).map { FileEntry(path: "f\($0)", sha256: String(repeating: "a", count: 64), size: 1) }
        m = sampleManifest(files: many)
        #expect(throws: AloftError.self) { try m.validate() }
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

    @Test func aReleaseWithPartOfTheAgentIsRefused() {
        let missing = AloftError("a release that carries the agent must carry all of it: lib/aloft/__init__.py is missing")
        let partial = [
            FileEntry(path: "lib/aloft/update.py", sha256: String(repeating: "c", count: 64), size: 10),
            FileEntry(path: "main.py", sha256: String(repeating: "a", count: 64), size: 95),
        ]
        #expect(throws: missing) { try sampleManifest(files: partial).validate() }
        let deep = [FileEntry(path: "lib/aloft/sub/__init__.py", sha256: String(repeating: "c", count: 64), size: 10)]
        #expect(throws: missing) { try sampleManifest(files: deep).validate() }
        // Parsing applies the same rule.
        #expect(throws: missing) { try ReleaseManifest.parse(canonical: sampleManifest(files: partial).canonicalJSON()) }
        // Near misses are application files, not agent files.
        let near = [FileEntry(path: "lib/aloftx/update.py", sha256: String(repeating: "c", count: 64), size: 10)]
        #expect(throws: Never.self) { try sampleManifest(files: near).validate() }
    }

    @Test func timestampFormatting() {
        #expect(ReleaseManifest.timestamp(Date(timeIntervalSince1970: 1_796_000_000)) == "2026-11-30T00:53:20Z")
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
