import Foundation
import Testing

/// Every bad input gives one clear line and a non-zero exit, never a crash or a stack trace.
@Suite(.serialized) struct CommandLineTests {
    @Test func keysAreNeverOverwrittenAndArePrivate() throws {
        let scratch = try Scratch()
        let first = try runCommand(Paths.aloft, ["keys", "generate", "--out", scratch.path("k")])
        #expect(first.code == 0, "\(first.output)")
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.path("k/release.key"))
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let before = try Data(contentsOf: URL(fileURLWithPath: scratch.path("k/release.key")))
        expectClearFailure(try runCommand(Paths.aloft, ["keys", "generate", "--out", scratch.path("k")]), mentions: "already exists")
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("k/release.key"))) == before)
        #expect(String(decoding: before, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"))
    }

    @Test func badInputWithAServer() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let app = try scratch.release("app", ["main.py": Array("print(1)\n".utf8)])

        expectClearFailure(try server.aloft(["release", "publish", scratch.path("missing"), "--version", "1.0.0", "--key", scratch.path("k/release.key")]),
                           mentions: "release folder not found")
        expectClearFailure(try server.aloft(["release", "publish", app, "--version", "1.0", "--key", scratch.path("k/release.key")]), mentions: "invalid version")
        expectClearFailure(try server.aloft(["release", "publish", app, "--version", "1.0.0", "--key", scratch.path("k/release.pub")]), mentions: "private key")
        expectClearFailure(try server.aloft(["release", "publish", app, "--version", "1.0.0", "--key", scratch.path("nokey")]), mentions: "cannot read key")
        let traversal = try scratch.release("bad", ["boot.py": Array("x".utf8)])
        expectClearFailure(try server.aloft(["release", "publish", traversal, "--version", "1.0.0", "--key", scratch.path("k/release.key")]), mentions: "reserved")

        let wrongToken = try runCommand(Paths.aloft, ["devices", "list", "--server", server.url, "--admin-token", "nope"])
        expectClearFailure(wrongToken, mentions: "401")
        expectClearFailure(try runCommand(Paths.aloft, ["devices", "list", "--server", "http://127.0.0.1:1", "--admin-token", "x"]), mentions: "cannot reach")
        expectClearFailure(try runCommand(Paths.aloft, ["devices", "list", "--admin-token", "x"]), mentions: "no server")
        expectClearFailure(try runCommand(Paths.aloft, ["devices", "list", "--server", "ftp://x", "--admin-token", "x"]), mentions: "invalid server url")
        expectClearFailure(try runCommand(Paths.aloft, ["serve", "--data", scratch.path("s2"), "--admin-token", "x", "--history-days", "40000"]),
                           mentions: "history-days '40000' from flag --history-days is not 0 (keep forever) to 36500")

        #expect(try server.aloft(["release", "publish", app, "--version", "1.0.0", "--key", scratch.path("k/release.key")]).code == 0)
        expectClearFailure(try server.aloft(["release", "publish", app, "--version", "1.0.1", "--sequence", "1", "--key", scratch.path("k/release.key")]),
                           mentions: "sequence")

        let provision = ["device", "provision", "--id", "d1", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("d1")]
        #expect(try server.aloft(provision).code == 0)
        expectClearFailure(try server.aloft(provision), mentions: "already exists")
        expectClearFailure(try server.aloft(["device", "provision", "--id", "bad id", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("d2")]),
                           mentions: "invalid device id")
        expectClearFailure(try server.aloft(["device", "provision", "--id", "d1", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("d3")]),
                           mentions: "409")
        expectClearFailure(try server.aloft(["device", "provision", "--id", "d4", "--pubkey", scratch.path("k/release.key"), "--out", scratch.path("d4")]),
                           mentions: "public key")
        expectClearFailure(try server.aloft(["sim", "run", scratch.path("nowhere")]), mentions: "no device")
        expectClearFailure(try server.aloft(["sim", "cat", scratch.path("d1"), "/nope.py"]), mentions: "nope.py")
        expectClearFailure(try server.aloft(["sim", "run", scratch.path("d1"), "--heap", "lots"]), mentions: "invalid heap")
    }

    /// The largest release: 4096 files. The blob query goes in batches, the file list is uploaded like a file, and there is
    /// no format-1 manifest of it.
    @Test func publishesAReleaseOf4096Files() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        var files: [String: [UInt8]] = [:]
        for index in 0..<4096 { files["lib/m\(index / 512)/f\(index).py"] = Array("N = \(index)\n".utf8) }
        let app = try scratch.release("many", files)
        let published = try server.aloft(["release", "publish", app, "--version", "1.0.0", "--key", scratch.path("k/release.key")], timeout: 300)
        #expect(published.code == 0, "\(published.output)")
        #expect(published.stdout.contains("4096 files") && published.stdout.contains("uploaded 4097 new blobs"), "\(published.output)")
        #expect(published.stdout.contains("not offered to devices with agents before 0.3.0"), "\(published.output)")
        let releases = try server.json(["release", "list", "--json"]) as? [[String: Any]]
        #expect(releases?.first?["files"] as? Int == 4096 && releases?.first?["legacy"] as? Bool == false, "\(String(describing: releases))")
        // Publishing it again uploads nothing, and is refused only for its sequence.
        expectClearFailure(
            try server.aloft(["release", "publish", app, "--version", "1.0.1", "--sequence", "1", "--key", scratch.path("k/release.key")], timeout: 300),
            mentions: "sequence")
    }

    @Test func dryRunListsWhatWouldBePublishedWithoutAServer() throws {
        let scratch = try Scratch()
        #expect(try runCommand(Paths.aloft, ["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let app = try scratch.release("app", [
            "main.py": Array("print(1)\n".utf8), "lib/font.bin": [0, 255, 128], "notes.py~": Array("n\n".utf8),
            "tests/test_main.py": Array("t\n".utf8), ".aloftignore": Array("tests/\n".utf8),
        ])
        let publish = ["release", "publish", app, "--version", "1.0.0", "--key", scratch.path("k/release.key"), "--dry-run"]
        let result = try runCommand(Paths.aloft, publish)
        #expect(result.code == 0, "\(result.output)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 7, "\(result.output)")
        #expect(lines.first?.hasPrefix("publish  lib/font.bin  3 bytes  sha256 ") == true, "\(result.output)")
        #expect(lines.contains("skip     notes.py~     junk: editor backup (*~)"), "\(result.output)")
        #expect(lines.contains("skip     tests/        ignored by .aloftignore line 1: tests/"), "\(result.output)")
        #expect(lines.contains("total: 2 files, 12 bytes would be published; 3 skipped"), "\(result.output)")
        #expect(lines.last?.hasPrefix("dry run: 1.0.0 on stable, signed by key id ") == true, "\(result.output)")

        // What would stop a publish stops a dry run, with one line.
        try FileManager.default.createSymbolicLink(atPath: app + "/lib/secret.py", withDestinationPath: "/etc/passwd")
        let refused = try runCommand(Paths.aloft, publish)
        expectClearFailure(refused, mentions: "lib/secret.py is a symbolic link to /etc/passwd")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.output)")
    }

    @Test func simListsAndPrintsFlash() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        #expect(try server.aloft(["device", "provision", "--id", "d1", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("d1"), "--flash-size", "512K"]).code == 0)
        #expect(try FileManager.default.attributesOfItem(atPath: scratch.path("d1/flash.img"))[.size] as? Int == 512 * 1024)
        let ls = try server.aloft(["sim", "ls", scratch.path("d1")])
        #expect(ls.code == 0 && ls.stdout.contains("boot.py") && ls.stdout.contains("lib/aloft/__init__.py") && ls.stdout.contains(".aloft/config.json"), "\(ls.output)")
        let config = try server.aloft(["sim", "cat", scratch.path("d1"), "/.aloft/config.json"])
        let json = try JSONSerialization.jsonObject(with: Data(config.stdout.utf8)) as? [String: Any]
        #expect(json?["id"] as? String == "d1" && json?["server"] as? String == server.url)
        #expect((json?["token"] as? String)?.isEmpty == false)
    }
}
