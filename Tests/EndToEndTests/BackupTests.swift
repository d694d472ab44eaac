import AloftCore
import Foundation
import Testing

/// `aloft backup` while a server runs, `aloft restore` onto a new data folder, and what a restored server does with
/// devices that went on updating after the backup (docs/deploy.md, "Backups").
@Suite(.serialized) struct BackupTests {
    /// Shaped like a project: a nested package with an empty `__init__.py` (an empty blob the backup must carry too), a
    /// module, a binary asset.
    static let package: [String: [UInt8]] = ["lib/app/__init__.py": [], "lib/app/util.py": Array("def f():\n    return 1\n".utf8)]
    static let v1 = package.merging(["main.py": Array("print('app one')\n".utf8), "lib/data.bin": seededBytes(count: 20_000, seed: 3)]) { $1 }
    static let v2 = package.merging(["main.py": Array("print('app two')\n".utf8), "lib/data.bin": seededBytes(count: 20_000, seed: 3)]) { $1 }
    static let v3 = package.merging(["main.py": Array("print('app three')\n".utf8), "lib/data.bin": seededBytes(count: 20_000, seed: 4)]) { $1 }

    @Test func aRestoredServerKeepsTokensAndPublishesAboveWhatDevicesInstalled() throws {
        let fleet = try UpdateFlowTests.Fleet(deviceID: "d1")  // a server, keys, and device d1 provisioned on it
        defer { fleet.stop() }
        let (scratch, server, device) = (fleet.scratch, fleet.server, fleet.device)
        func publish(_ files: [String: [UInt8]], _ version: String, on target: ServerProcess, extra: [String] = []) throws -> CommandResult {
            let folder = try scratch.release("release-\(version)", files)
            return try target.aloft(["release", "publish", folder, "--version", version, "--key", scratch.path("keys/release.key")] + extra)
        }
        func run(on target: ServerProcess) throws {
            let run = try target.aloft(["sim", "run", device, "--until-idle", "--timeout", "120", "--server", target.url], timeout: 150)
            try #require(run.code == 0, "\(run.output)")
        }
        func record(on target: ServerProcess) throws -> [String: Any] { try target.get("/api/v1/admin/devices/d1") }

        try #require(try publish(Self.v1, "1.0.0", on: server).code == 0)
        try run(on: server)
        #expect(try appFiles(device) == digests(Self.v1))

        // While the server runs.
        let backup = try runCommand(Paths.aloft, ["backup", "--data", server.data.path, "--out", scratch.path("fleet.tar")])
        try #require(backup.code == 0, "\(backup.output)")
        #expect(backup.stdout.contains("backed up"), "\(backup.output)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("fleet.tar.tmp")))

        // After the backup: a release the backup never sees, which the device installs.
        let second = try publish(Self.v2, "1.1.0", on: server)
        try #require(second.code == 0 && second.stdout.contains("sequence 2"), "\(second.output)")
        try run(on: server)
        #expect(try appFiles(device) == digests(Self.v2))
        #expect(try record(on: server)["sequence"] as? Int == 2)
        server.stop()

        let restoredData = scratch.url.appendingPathComponent("restored")
        let restore = try runCommand(Paths.aloft, ["restore", "--from", scratch.path("fleet.tar"), "--data", restoredData.path])
        try #require(restore.code == 0, "\(restore.output)")
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path)).contains { $0.hasPrefix("restored.tmp") })
        let restored = try ServerProcess(data: restoredData)
        defer { restored.stop() }
        #expect((try restored.get("/api/v1/admin/channels/stable")["latest"] as? [String: Any])?["sequence"] as? Int == 1)

        // The device's token from before the backup still works; it reports 2, which the restored database never saw,
        // and is offered nothing (1 is below it).
        try run(on: restored)
        #expect(try appFiles(device) == digests(Self.v2))
        #expect(try record(on: restored)["sequence"] as? Int == 2)
        #expect(try restored.get("/api/v1/admin/channels/stable")["next"] as? Int == 3)

        // A publish at the device's sequence would be a replay to it: refused. The next one goes above it and is installed.
        let replay = try publish(Self.v3, "1.2.0", on: restored, extra: ["--sequence", "2"])
        expectClearFailure(replay, mentions: "which a device of channel 'stable' reported")
        let third = try publish(Self.v3, "1.2.0", on: restored)
        try #require(third.code == 0, "\(third.output)")
        #expect(third.stdout.contains("sequence 3"), "\(third.output)")
        try run(on: restored)
        #expect(try appFiles(device) == digests(Self.v3))
        let after = try record(on: restored)
        #expect(after["sequence"] as? Int == 3 && after["version"] as? String == "1.2.0", "\(after)")
    }

    @Test func badInputsAreOneLineAndAFailure() throws {
        let scratch = try Scratch()
        func aloft(_ arguments: [String]) throws -> CommandResult { try runCommand(Paths.aloft, arguments) }
        func expectOneLine(_ result: CommandResult, mentions text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectClearFailure(result, mentions: text, sourceLocation: sourceLocation)
            #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.output)", sourceLocation: sourceLocation)
        }
        let data = scratch.url.appendingPathComponent("data")
        let out = scratch.path("b.tar")
        expectOneLine(try aloft(["backup", "--data", scratch.path("nowhere"), "--out", out]), mentions: "no data folder")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        expectOneLine(try aloft(["backup", "--data", data.path, "--out", out]), mentions: "no database at")
        expectOneLine(
            try aloft(["backup", "--data", data.path, "--database", "postgres://aloft:secret@db/aloft", "--out", out]), mentions: "docs/deploy.md")

        // A real data folder, from a server that ran on it.
        let server = try ServerProcess(data: data)
        server.stop()
        expectOneLine(try aloft(["backup", "--data", data.path, "--out", scratch.path("no-folder/b.tar")]), mentions: "no folder")
        expectOneLine(try aloft(["backup", "--data", data.path, "--out", scratch.url.path]), mentions: "is a folder")
        try #require(try aloft(["backup", "--data", data.path, "--out", out]).code == 0)

        expectOneLine(try aloft(["restore", "--from", scratch.path("none.tar"), "--data", scratch.path("r1")]), mentions: "no backup file")
        expectOneLine(try aloft(["restore", "--from", out, "--data", data.path]), mentions: "holds an aloft.sqlite already")
        let occupied = scratch.url.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: occupied.appendingPathComponent("note"))
        expectOneLine(try aloft(["restore", "--from", out, "--data", occupied.path]), mentions: "not an empty folder")
        expectOneLine(try aloft(["restore", "--from", out, "--data", scratch.path("no-folder/r")]), mentions: "no folder")
        try Data("not a tar file".utf8).write(to: URL(fileURLWithPath: scratch.path("junk.tar")))
        expectOneLine(try aloft(["restore", "--from", scratch.path("junk.tar"), "--data", scratch.path("r2")]), mentions: "cannot read")
        // A tar that is not a backup.
        #expect(try runCommand("/usr/bin/env", ["tar", "-cf", scratch.path("other.tar"), "-C", scratch.url.path, "occupied"]).code == 0)
        expectOneLine(try aloft(["restore", "--from", scratch.path("other.tar"), "--data", scratch.path("r3")]), mentions: "is not an aloft backup")
        // A backup with a link among its blobs: a later member could be written through it, outside the data folder.
        let linked = scratch.url.appendingPathComponent("linked")
        try FileManager.default.createDirectory(at: linked.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        #expect(try runCommand("/usr/bin/env", ["tar", "-xf", out, "-C", linked.path]).code == 0)
        try FileManager.default.createSymbolicLink(atPath: linked.appendingPathComponent("blobs/away").path, withDestinationPath: "/tmp")
        #expect(try runCommand("/usr/bin/env", ["tar", "-cf", scratch.path("linked.tar"), "-C", linked.path, "aloft.sqlite", "blobs"]).code == 0)
        expectOneLine(try aloft(["restore", "--from", scratch.path("linked.tar"), "--data", scratch.path("r4")]), mentions: "not a file or folder")
        // A backup whose database is damaged: nothing is left behind.
        let unpacked = scratch.url.appendingPathComponent("unpacked")
        try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
        #expect(try runCommand("/usr/bin/env", ["tar", "-xf", out, "-C", unpacked.path]).code == 0)
        let database = unpacked.appendingPathComponent("aloft.sqlite")
        var bytes = [UInt8](try Data(contentsOf: database))
        for index in stride(from: 4096, to: bytes.count, by: 4096) { bytes.replaceSubrange(index..<(index + 64), with: repeatElement(0xA5, count: 64)) }
        try Data(bytes).write(to: database)
        #expect(try runCommand("/usr/bin/env", ["tar", "-cf", scratch.path("damaged.tar"), "-C", unpacked.path, "aloft.sqlite"]).code == 0)
        let damaged = try aloft(["restore", "--from", scratch.path("damaged.tar"), "--data", scratch.path("r4")])
        expectOneLine(damaged, mentions: "database in")
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path)
        #expect(!left.contains { $0.hasPrefix("r4") }, "\(left)")
    }
}
