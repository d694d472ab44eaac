import AloftCore
import Foundation
import Testing

/// Releases shaped like real projects (device/tests/shapes.py: empty files, eight levels, a module replaced by a package
/// and back, a file and a folder swapping a name, the same bytes at several paths, binary files, a file removed and added
/// back, a thousand files), published from folders with the real CLI and installed version after version by a simulated
/// device against the real server, in a small heap. Each version's main.py checks what it imports; a broken next
/// version is rolled back to exactly the one before. (Power cuts for every shape: device/tests/test_shapes.py.)
@Suite(.serialized) struct ReleaseShapesTests {
    /// `shape` → its versions' folders, written by shapes.py.
    static func folders(_ scratch: Scratch) throws -> [String: [URL]] {
        let out = scratch.url.appendingPathComponent("shapes")
        let write = try runCommand(Paths.micropython, [Paths.repo.appendingPathComponent("device/tests/shapes.py").path, out.path])
        try #require(write.code == 0, "shapes.py failed: \(write.output)")
        var shapes: [String: [URL]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: out.path) {
            let versions = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent(name).path).compactMap(Int.init).sorted()
            shapes[name] = versions.map { out.appendingPathComponent(name).appendingPathComponent(String($0)) }
        }
        return shapes
    }

    /// path → bytes of a release folder.
    static func files(_ folder: URL) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: folder.path) {
            var isDirectory: ObjCBool = false
            let url = folder.appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[path] = Array(try Data(contentsOf: url))
            }
        }
        return files
    }

    @Test(arguments: ["empty", "deep", "package", "swap", "same", "binary", "readd", "many"])
    func everyVersionInstallsAndABrokenOneRollsBack(_ shape: String) throws {
        // The default rate limits: a thousand files come in one burst of downloads, and never cost the device its check-ins.
        let fleet = try UpdateFlowTests.Fleet(deviceID: "shape-\(shape)")
        defer { fleet.stop() }
        let versions = try #require(try Self.folders(fleet.scratch)[shape], "no shape \(shape)")
        for (index, folder) in versions.enumerated() {
            let files = try Self.files(folder)
            if index > 0 {  // the next version broken first: rolled back to exactly the one on the device
                var broken = files
                broken["main.py"] = Array("raise RuntimeError('\(shape) \(index + 1) is broken')\n".utf8)
                try fleet.publish(broken, version: "\(index + 1).0.0-broken", name: "\(shape)-\(index + 1)-broken")
                let before = try appFiles(fleet.device)
                let rollback = try fleet.boot(heap: "72K")
                #expect(rollback.code == 0 && rollback.output.contains("is broken") && rollback.output.contains("rolling back"), "\(rollback.output)")
                #expect(try appFiles(fleet.device) == before, "\(shape): the rollback must restore exactly the version before")
            }
            let result = try fleet.server.aloft(
                ["release", "publish", folder.path, "--version", "\(index + 1).0.0", "--key", fleet.scratch.path("keys/release.key")], timeout: 300)
            try #require(result.code == 0, "\(result.output)")
            let boot = try fleet.boot(heap: "72K")
            #expect(boot.code == 0 && boot.output.contains("app \(shape)-\(index + 1) ok"), "\(shape) version \(index + 1): \(boot.output)")
            #expect(try appFiles(fleet.device) == digests(files), "\(shape) version \(index + 1): the device must hold exactly its files")
            #expect(!(try flashContents(fleet.device)).keys.contains { $0.contains("#") }, "nothing may be left aside once it is confirmed")
        }
    }
}
