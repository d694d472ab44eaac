import AloftCore
import AloftTools
import Foundation
import Testing

extension Scratch {
    /// Makes a symbolic link at `path` below `root` whose text is `destination`, as `ln -s destination path` would.
    func link(_ path: String, to destination: String, in root: URL) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: destination)
    }
}

@Suite struct ReleaseFolderWalkTests {
    func paths(_ folder: ReleaseFolder) -> [String] { folder.files.map(\.entry.path) }

    func skipped(_ folder: ReleaseFolder) -> [String: String] {
        Dictionary(uniqueKeysWithValues: folder.skipped.map { ($0.path, $0.reason.description) })
    }

    func expectRefused(_ root: URL, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: AloftError(message), sourceLocation: sourceLocation) { try ReleaseFolder(root: root) }
    }

    // MARK: links that stay inside

    @Test func linksInsidePublishTheirTargetsBytesAtTheLinksPath() throws {
        let scratch = Scratch()
        let root = try scratch.folder("app", ["src/real.py": "print('real')\n", "src/pkg/mod.py": "m = 1\n", "lib/util.py": "u = 1\n"])
        try scratch.link("main.py", to: "src/real.py", in: root)  // relative, to a file
        try scratch.link("lib/alias.py", to: "../src/real.py", in: root)  // relative with ../, staying inside
        try scratch.link("chain.py", to: "main.py", in: root)  // a chain: chain.py -> main.py -> src/real.py
        try scratch.link("absolute.py", to: root.appendingPathComponent("lib/util.py").path, in: root)
        try scratch.link("lib/vendor", to: "../src/pkg", in: root)  // a folder
        try scratch.link("lib/vendor2", to: "vendor", in: root)  // a chain ending at a folder

        let folder = try ReleaseFolder(root: root)
        #expect(paths(folder) == [
            "absolute.py", "chain.py", "lib/alias.py", "lib/util.py", "lib/vendor/mod.py", "lib/vendor2/mod.py", "main.py",
            "src/pkg/mod.py", "src/real.py",
        ])
        let real = Digest.sha256Hex(Array("print('real')\n".utf8))
        let byPath = Dictionary(uniqueKeysWithValues: folder.files.map { ($0.entry.path, $0) })
        for path in ["main.py", "lib/alias.py", "chain.py", "src/real.py"] {
            #expect(byPath[path]?.entry.sha256 == real, "\(path)")
            #expect(byPath[path]?.entry.size == 14, "\(path)")
        }
        #expect(byPath["absolute.py"]?.entry.sha256 == Digest.sha256Hex(Array("u = 1\n".utf8)))
        #expect(byPath["lib/vendor/mod.py"]?.entry.sha256 == Digest.sha256Hex(Array("m = 1\n".utf8)))
        // The bytes are read from the target itself, not through the link.
        let target = try #require(byPath["main.py"]?.url)
        #expect(target.lastPathComponent == "real.py")
        #expect((try FileManager.default.attributesOfItem(atPath: target.path))[.type] as? FileAttributeType == .typeRegular)
        #expect(folder.skipped.isEmpty)
    }

    @Test func theFolderItselfMayBeReachedThroughALink() throws {
        let scratch = Scratch()
        let real = try scratch.folder("real", ["main.py": "m\n"])
        try scratch.link("alias", to: real.path, in: scratch.url)
        try scratch.link("real/lib.py", to: "main.py", in: scratch.url)
        let folder = try ReleaseFolder(root: scratch.url.appendingPathComponent("alias"))
        #expect(paths(folder) == ["lib.py", "main.py"])
    }

    // MARK: links that are refused

    #if os(Linux)
    @Test func aLinkToASystemFileIsRefused() throws {
        let scratch = Scratch()
        let root = try scratch.folder("app", ["main.py": "m\n"])
        try scratch.link("lib/secret.py", to: "/etc/passwd", in: root)
        expectRefused(root, "lib/secret.py is a symbolic link to /etc/passwd, outside the release folder")
    }
    #endif

    @Test func linksOutOfTheFolderAreRefused() throws {
        let scratch = Scratch()
        let outside = try scratch.folder("outside", ["secret.txt": "key\n", "pkg/x.py": "x\n"])
        let secret = outside.appendingPathComponent("secret.txt").path

        let absolute = try scratch.folder("absolute", ["main.py": "m\n"])
        try scratch.link("lib/secret.py", to: secret, in: absolute)
        expectRefused(absolute, "lib/secret.py is a symbolic link to \(secret), outside the release folder")

        let relative = try scratch.folder("relative", ["main.py": "m\n"])
        try scratch.link("lib/up.py", to: "../../outside/secret.txt", in: relative)
        expectRefused(relative, "lib/up.py is a symbolic link to ../../outside/secret.txt (\(secret)), outside the release folder")

        // A chain whose first link stays inside but whose end does not.
        let chain = try scratch.folder("chain", ["main.py": "m\n"])
        try scratch.link("inner.py", to: secret, in: chain)
        try scratch.link("a.py", to: "inner.py", in: chain)
        expectRefused(chain, "a.py is a symbolic link to inner.py (\(secret)), outside the release folder")

        // A folder outside.
        let folderOut = try scratch.folder("folder-out", ["main.py": "m\n"])
        try scratch.link("lib/pkg", to: "../../outside/pkg", in: folderOut)
        let pkg = outside.appendingPathComponent("pkg").path
        expectRefused(folderOut, "lib/pkg is a symbolic link to ../../outside/pkg (\(pkg)), outside the release folder")

        // A sibling whose name starts with the folder's own ("app-old" is not inside "app").
        let app = try scratch.folder("app", ["main.py": "m\n"])
        let sibling = try scratch.folder("app-old", ["old.py": "o\n"])
        try scratch.link("old.py", to: "../app-old/old.py", in: app)
        let old = sibling.appendingPathComponent("old.py").path
        expectRefused(app, "old.py is a symbolic link to ../app-old/old.py (\(old)), outside the release folder")
    }

    @Test func danglingLinksAreRefused() throws {
        let scratch = Scratch()
        let root = try scratch.folder("app", ["main.py": "m\n"])
        try scratch.link("lib/gone.py", to: "missing.py", in: root)
        expectRefused(root, "lib/gone.py is a symbolic link to missing.py, which does not exist")

        let far = try scratch.folder("far", ["main.py": "m\n"])
        try scratch.link("x.py", to: "/nonexistent/aloft/x.py", in: far)
        expectRefused(far, "x.py is a symbolic link to /nonexistent/aloft/x.py, which does not exist")
    }

    @Test func loopsAreRefused() throws {
        let scratch = Scratch()
        // Links that point at each other.
        let pair = try scratch.folder("pair", ["main.py": "m\n"])
        try scratch.link("a.py", to: "b.py", in: pair)
        try scratch.link("b.py", to: "a.py", in: pair)
        expectRefused(pair, "a.py is a symbolic link to b.py, which leads back to itself (a loop of links)")

        // A folder link to a folder that holds it.
        let up = try scratch.folder("up", ["main.py": "m\n", "lib/util.py": "u\n"])
        try scratch.link("lib/again", to: "..", in: up)
        expectRefused(up, "lib/again is a symbolic link to .., which leads back into a folder it is in (a loop)")
        let root = try scratch.folder("root", ["main.py": "m\n"])
        try scratch.link("self", to: ".", in: root)
        expectRefused(root, "self is a symbolic link to ., which leads back into a folder it is in (a loop)")

        // Two folder links that lead into each other.
        let mutual = try scratch.folder("mutual", ["p/a.py": "a\n", "q/b.py": "b\n"])
        try scratch.link("p/toq", to: "../q", in: mutual)
        try scratch.link("q/top", to: "../p", in: mutual)
        expectRefused(mutual, "p/toq/top is a symbolic link to ../p, which leads back into a folder it is in (a loop)")
    }

    @Test func aRefusedLinkThatIsLeftOutAnywayIsOnlySkipped() throws {
        let scratch = Scratch()
        let outside = try scratch.folder("outside", ["secret.txt": "key\n"])
        let root = try scratch.folder("app", ["main.py": "m\n", ".aloftignore": "private/\nsecret.py\n"])
        try scratch.link("secret.py", to: outside.appendingPathComponent("secret.txt").path, in: root)
        try scratch.link("private", to: outside.path, in: root)
        try scratch.link("notes.py~", to: "missing", in: root)
        try scratch.link(".env", to: "/nonexistent", in: root)
        let folder = try ReleaseFolder(root: root)
        #expect(paths(folder) == ["main.py"])
        #expect(skipped(folder) == [
            ".aloftignore": "hidden", ".env": "hidden", "notes.py~": "junk: editor backup (*~)",
            "private": "ignored by .aloftignore line 1: private/", "secret.py": "ignored by .aloftignore line 2: secret.py",
        ])
    }

    // MARK: junk

    @Test func junkIsNeverPublished() throws {
        let scratch = Scratch()
        let junk = [
            "__pycache__/main.cpython-312.pyc", "lib/__pycache__/util.cpython-312.pyc", "lib/util.pyc", "notes.py~", "lib/util.py~",
            "#main.py#", ".#main.py", "lib/.util.py.swp", "main.py.swp", "main.py.swo", "main.py.bak", "lib/util.py.orig",
            "lib/util.py.rej", ".DS_Store", "lib/.DS_Store", "Thumbs.db", "lib/desktop.ini", "old.bak/code.py",
        ]
        var files = ["main.py": "m\n", "lib/util.py": "u\n"]
        for path in junk { files[path] = "junk\n" }
        // .aloftignore cannot bring junk back.
        files[".aloftignore"] = "!*.bak\n!__pycache__/\n"
        let folder = try ReleaseFolder(root: scratch.folder("app", files))
        #expect(paths(folder) == ["lib/util.py", "main.py"])
        let reasons = skipped(folder)
        #expect(reasons["notes.py~"] == "junk: editor backup (*~)")
        #expect(reasons["#main.py#"] == "junk: Emacs auto-save file (#*#)")
        #expect(reasons[".#main.py"] == "junk: Emacs lock file (.#*)")
        #expect(reasons["lib/.util.py.swp"] == "junk: Vim swap file (*.swp)")
        #expect(reasons[".DS_Store"] == "junk: macOS Finder metadata (.DS_Store)")
        #expect(reasons["__pycache__"] == "junk: Python bytecode cache (__pycache__)")
        #expect(reasons["old.bak"] == "junk: backup (*.bak)")
        #expect(reasons[".aloftignore"] == "hidden")
        // Every kind of junk was seen, and nothing below a skipped folder is listed.
        let seen = Set(folder.skipped.compactMap { if case .junk(let kind) = $0.reason { kind.pattern } else { nil } })
        #expect(seen == Set(ReleaseJunk.all.map(\.pattern)))
        #expect(!reasons.keys.contains("old.bak/code.py") && !reasons.keys.contains("__pycache__/main.cpython-312.pyc"))
        #expect(folder.skipped.first { $0.path == "old.bak" }?.isDirectory == true)
    }

    @Test func junkPatternsMatchNamesOnly() {
        #expect(ReleaseJunk.kind(of: "lib/util.py", isDirectory: false) == nil)
        #expect(ReleaseJunk.kind(of: "lib/backup/util.py", isDirectory: false) == nil)
        #expect(ReleaseJunk.kind(of: "thumbs.db", isDirectory: false) == nil)
        #expect(ReleaseJunk.kind(of: "a/b/x.pyc", isDirectory: false)?.what == "CPython bytecode")
        #expect(ReleaseJunk.kind(of: "lib/__pycache__", isDirectory: true)?.pattern == "__pycache__")
    }

    @Test func hiddenNamesAreNeverPublished() throws {
        let scratch = Scratch()
        let folder = try ReleaseFolder(root: scratch.folder("app", [
            "main.py": "m\n", ".git/config": "c\n", ".vscode/settings.json": "{}\n", "lib/.secret.py": "s\n", ".aloftignore": "# none\n",
        ]))
        #expect(paths(folder) == ["main.py"])
        #expect(skipped(folder) == [".aloftignore": "hidden", ".git": "hidden", ".vscode": "hidden", "lib/.secret.py": "hidden"])
    }

    // MARK: .aloftignore

    @Test func aloftignoreLeavesOutWhatItMatches() throws {
        let scratch = Scratch()
        let rules = """
            # tests and docs stay on the bench
            tests/
            /docs
            *.md
            !README.md
            /config/*.json
            !/config/device.json
            **/fixtures/**
            lib/**/scratch_*.py
            build/
            !build/keep.py
            \\#literal.py
            data.csv   \n
            """
        let folder = try ReleaseFolder(root: scratch.folder("app", [
            ".aloftignore": rules, "main.py": "m\n",
            "tests/test_main.py": "t\n", "lib/tests/test_util.py": "t\n", "lib/tests.py": "a file, not the folder\n",
            "docs/guide.py": "d\n", "lib/docs/inner.py": "anchored: only the top docs\n",
            "NOTES.md": "n\n", "lib/pkg/CHANGES.md": "c\n", "README.md": "r\n",
            "config/wifi.json": "w\n", "config/device.json": "d\n", "config/sub/deep.json": "* stops at a slash\n",
            "fixtures/a.py": "top-level fixtures: **/ matches no folder too\n", "lib/x/fixtures/b.py": "f\n",
            "lib/scratch_1.py": "s\n", "lib/a/b/scratch_2.py": "s\n", "lib/a/keep_scratch.py": "k\n",
            "build/out.py": "b\n", "build/keep.py": "cannot come back\n",
            "lib/data.csv": "trailing spaces dropped\n",
        ]))
        #expect(paths(folder) == [
            "README.md", "config/device.json", "config/sub/deep.json", "lib/a/keep_scratch.py", "lib/docs/inner.py", "lib/tests.py", "main.py",
        ])
        #expect(skipped(folder) == [
            ".aloftignore": "hidden",
            "tests": "ignored by .aloftignore line 2: tests/",
            "lib/tests": "ignored by .aloftignore line 2: tests/",
            "docs": "ignored by .aloftignore line 3: /docs",
            "NOTES.md": "ignored by .aloftignore line 4: *.md",
            "lib/pkg/CHANGES.md": "ignored by .aloftignore line 4: *.md",
            "config/wifi.json": "ignored by .aloftignore line 6: /config/*.json",
            "fixtures/a.py": "ignored by .aloftignore line 8: **/fixtures/**",
            "lib/x/fixtures/b.py": "ignored by .aloftignore line 8: **/fixtures/**",
            "lib/scratch_1.py": "ignored by .aloftignore line 9: lib/**/scratch_*.py",
            "lib/a/b/scratch_2.py": "ignored by .aloftignore line 9: lib/**/scratch_*.py",
            "build": "ignored by .aloftignore line 10: build/",
            "lib/data.csv": "ignored by .aloftignore line 13: data.csv",
        ])
    }

    @Test func rulesApplyToTheLinksPathNotItsTarget() throws {
        let scratch = Scratch()
        let root = try scratch.folder("app", ["src/lib/util.py": "u\n", "src/lib/test_util.py": "t\n", ".aloftignore": "/src/\nlib/test_*\n"])
        try scratch.link("lib", to: "src/lib", in: root)
        let folder = try ReleaseFolder(root: root)
        #expect(paths(folder) == ["lib/util.py"])
        // A dir-only rule sees a link to a folder as a folder.
        let other = try scratch.folder("other", ["real/x.py": "x\n", ".aloftignore": "alias/\n"])
        try scratch.link("alias", to: "real", in: other)
        #expect(paths(try ReleaseFolder(root: other)) == ["real/x.py"])
    }

    // MARK: what is published

    @Test func nestedPackagesWithEmptyInitFiles() throws {
        let scratch = Scratch()
        let folder = try ReleaseFolder(root: scratch.folder("app", [
            "main.py": "import sensors\n", "lib/sensors/__init__.py": "", "lib/sensors/bme/__init__.py": "",
            "lib/sensors/bme/driver.py": "class BME: pass\n",
        ]))
        #expect(paths(folder) == ["lib/sensors/__init__.py", "lib/sensors/bme/__init__.py", "lib/sensors/bme/driver.py", "main.py"])
        let empty = try #require(folder.files.first { $0.entry.path == "lib/sensors/__init__.py" }?.entry)
        #expect(empty.size == 0)
        #expect(empty.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func binaryFilesAreTakenByteForByte() throws {
        let scratch = Scratch()
        let root = try scratch.folder("app", ["main.py": "m\n"])
        let bytes = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 3) } + Array(0...255)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("lib"), withIntermediateDirectories: true)
        try Data(bytes).write(to: root.appendingPathComponent("lib/font.bin"))
        try Data([0xFF, 0xFE, 0x00, 0x80]).write(to: root.appendingPathComponent("logo.mpy"))
        let folder = try ReleaseFolder(root: root)
        let font = try #require(folder.files.first { $0.entry.path == "lib/font.bin" }?.entry)
        #expect(font.size == bytes.count && font.sha256 == Digest.sha256Hex(bytes))
        #expect(folder.files.first { $0.entry.path == "logo.mpy" }?.entry.size == 4)
    }

    @Test func aBadPathStillFails() throws {
        let scratch = Scratch()
        let root = try scratch.folder("app", ["main.py": "m\n", "lib/bad name.py": "x\n"])
        let lib = root.appendingPathComponent("lib").path
        expectRefused(root, "invalid path 'lib/bad name.py': only A-Z a-z 0-9 . _ - + = @ ~ , and / are allowed (in \(lib))")
        // The same name left out by the rules is no error.
        try Data("lib/bad*\n".utf8).write(to: root.appendingPathComponent(".aloftignore"))
        #expect(paths(try ReleaseFolder(root: root)) == ["main.py"])
    }

    @Test func aFolderWithNothingLeftSaysWhy() throws {
        let scratch = Scratch()
        let root = try scratch.folder("app", ["notes.py~": "n\n", ".git/HEAD": "h\n"])
        expectRefused(root, "release folder \(root.path) has no files (2 left out as junk, hidden or ignored by .aloftignore)")
        let empty = try scratch.folder("empty", [:])
        expectRefused(empty, "release folder \(empty.path) has no files")
    }

    @Test func anUnreadableIgnoreFileIsAnError() throws {
        let scratch = Scratch()
        let root = try scratch.folder("app", ["main.py": "m\n", ".aloftignore/x": "a folder\n"])
        expectRefused(root, "cannot read \(root.appendingPathComponent(".aloftignore").path)")
    }

    // MARK: --dry-run

    @Test func theDryRunReportListsFilesThenSkipsThenATotal() throws {
        let scratch = Scratch()
        let folder = try ReleaseFolder(root: scratch.folder("app", [
            "main.py": "print('app')\n", "lib/util.py": "x = 1\n", "notes.py~": "n\n", "tests/t.py": "t\n", ".aloftignore": "tests/\n",
        ]))
        let main = Digest.sha256Hex(Array("print('app')\n".utf8)).prefix(12)
        let util = Digest.sha256Hex(Array("x = 1\n".utf8)).prefix(12)
        #expect(folder.dryRunReport == [
            "publish  lib/util.py    6 bytes  sha256 \(util)",
            "publish  main.py       13 bytes  sha256 \(main)",
            "skip     .aloftignore  hidden",
            "skip     notes.py~     junk: editor backup (*~)",
            "skip     tests/        ignored by .aloftignore line 1: tests/",
            "total: 2 files, 19 bytes would be published; 3 skipped",
        ])
        let one = try ReleaseFolder(root: scratch.folder("one", ["main.py": "m\n"]))
        #expect(one.dryRunReport == ["publish  main.py  2 bytes  sha256 \(Digest.sha256Hex(Array("m\n".utf8)).prefix(12))",
                                     "total: 1 file, 2 bytes would be published; 0 skipped"])
    }
}
