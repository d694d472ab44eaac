import AloftCore
import Foundation
import Testing

/// A device running the agent as released in 0.2.0 (format 1 only, files inline in its record) updates itself to this
/// checkout's agent through `aloft release publish --include-agent`, then takes releases only format 2 can describe.
/// Real server, CLI and MicroPython devices (docs/device.md, "From an agent before 0.3.0").
@Suite(.serialized) struct MigrationTests {
    @Test func theReleasedAgentUpdatesItselfToThisOneWhichThenTakesFormat2Releases() throws {
        let fleet = try UpdateFlowTests.Fleet(deviceID: "old-1", releasedAgent: true)
        defer { fleet.stop() }
        try fleet.installV1()
        #expect(try fleet.deviceRecord()["agent"] as? String == "0.2.0")

        // v2 carries this checkout's agent; the device is offered its legacy envelope and installs it with 0.2.0's code.
        var v2 = UpdateFlowTests.v2
        v2["main.py"] = Array("import aloft\nprint('app on agent', aloft.VERSION)\n".utf8)
        let folder = try fleet.scratch.release("release-2", v2)
        let publish = try fleet.server.aloft(["release", "publish", folder, "--version", "2.0.0", "--key", fleet.scratch.path("keys/release.key"), "--include-agent"])
        try #require(publish.code == 0, "\(publish.output)")
        #expect(publish.stdout.contains("also signed in format 1"), "\(publish.output)")
        // 0.2.0 holds the whole format-1 file list in RAM, about 1K a file: 56 agent files and the application's (126K on
        // the device side's search with a 2-file application, docs/device.md; 105K with the 36 files of 0.3.0's first agent).
        let boot = try fleet.boot(heap: "144K")
        try #require(boot.code == 0, "the update of the agent failed: \(boot.output)")
        #expect(boot.output.contains("2.0.0 confirmed") && boot.output.contains("app on agent 0.4.0"), "\(boot.output)")
        #expect(boot.output.contains("installed record of 2.0.0 rewritten for this agent"), "\(boot.output)")
        #expect(try appFiles(fleet.device) == digests(v2))
        let flash = try flashContents(fleet.device)
        #expect(!flash.keys.contains { $0.hasPrefix(".aloft/agent") || $0.contains("#") || $0 == ".aloft/journal.json" }, "\(flash.keys.sorted())")
        #expect(flash.keys.contains { $0.hasPrefix(".aloft/lists/") }, "the record is a file list now: \(flash.keys.sorted())")
        #expect(try fleet.deviceRecord()["agent"] as? String == "0.4.0")

        // v3: an empty file and 300 files, which format 1 cannot carry; the migrated device takes it, in a small heap.
        var v3 = v2
        v3["main.py"] = Array("import pkg.mod\nprint('app three', pkg.mod.N)\n".utf8)
        v3["lib/pkg/__init__.py"] = []
        v3["lib/pkg/mod.py"] = Array("N = 3\n".utf8)
        for index in 0..<300 { v3["lib/many/m\(index).py"] = Array("N = \(index)\n".utf8) }
        let third = try fleet.publish(v3, version: "3.0.0")
        #expect(third.stdout.contains("not offered to devices with agents before 0.3.0"), "\(third.output)")
        let update = try fleet.boot(heap: "72K")
        try #require(update.code == 0, "\(update.output)")
        #expect(update.output.contains("app three 3"), "\(update.output)")
        #expect(try appFiles(fleet.device) == digests(v3))
        #expect(try fleet.deviceRecord()["sequence"] as? Int == 3)
    }
}
