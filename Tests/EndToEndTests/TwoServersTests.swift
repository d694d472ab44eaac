import AloftCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

enum TestPostgres {
    static var url: String? { ProcessInfo.processInfo.environment["ALOFT_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }
}

/// Two `aloft serve` processes on one throwaway PostgreSQL database and no shared disk: real devices on either get the
/// releases published through the other (blobs through the database), a revocation on one is refused by the other
/// within a second, and a server killed in the middle of a publish leaves no half release.
@Suite(.enabled(if: TestPostgres.url != nil, "needs ALOFT_TEST_POSTGRES_URL (make test runs the tests under scripts/with-postgres.sh)"))
struct TwoServersTests {
    static var postgres: String? { TestPostgres.url }

    static var psql: String? {
        let candidates = ["/usr/bin/psql"] + ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).sorted().reversed()
            .map { "/usr/lib/postgresql/\($0)/bin/psql" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A database of its own on the test cluster (the shared one is migrated by other tests at the same time), dropped after.
    static func withDatabase(_ body: (String) throws -> Void) throws {
        let url = try #require(postgres), psql = try #require(psql, "no psql")
        let name = "aloft_two_\(UUID().uuidString.prefix(8).lowercased())"
        let created = try runCommand(psql, [url, "-q", "-c", "CREATE DATABASE \(name)"])
        try #require(created.code == 0, "\(created.output)")
        defer { _ = try? runCommand(psql, [url, "-q", "-c", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"]) }
        let base = url[..<url.lastIndex(of: "/")!]
        try body("\(base)/\(name)")
    }

    @Test func twoServersOnOnePostgreSQLServeOneFleet() throws {
        try Self.withDatabase { database in
            let scratch = try Scratch("aloft-two-servers")
            // The default rate limits: a device fetches the last release's 404 files in one burst of downloads.
            let a = try ServerProcess(data: scratch.url.appendingPathComponent("a"), extraArguments: ["--database", database])
            defer { a.stop() }
            let b = try ServerProcess(data: scratch.url.appendingPathComponent("b"), extraArguments: ["--database", database])
            defer { b.stop() }
            try body(a: a, b: b, scratch: scratch)
        }
    }

    func body(a: ServerProcess, b: ServerProcess, scratch: Scratch) throws {
        #expect(try a.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let key = scratch.path("k/release.key"), pub = scratch.path("k/release.pub")
        let v1: [String: [UInt8]] = [
            "main.py": Array("print('two servers 1')\n".utf8), "lib/pkg/__init__.py": [], "lib/pkg/big.py": Array(String(repeating: "x = 1\n", count: 3000).utf8),
            "assets/noise.bin": seededBytes(count: 20_000, seed: 21),
        ]
        let v2 = v1.merging(["main.py": Array("print('two servers 2')\n".utf8)]) { $1 }
        let published = try a.aloft(["release", "publish", try scratch.release("v1", v1), "--version", "1.0.0", "--key", key])
        try #require(published.code == 0, "\(published.output)")

        // A device of server B installs what was published through A: B has none of the blobs on its disk.
        for (server, id) in [(b, "on-b"), (a, "on-a")] {
            // 4 MiB of flash: the last release's 404 files take a block each and their folder metadata about 60 more;
            // beside the release before, that does not fit 2 MiB (the device's check says so before downloading).
            let provisioned = try server.aloft(["device", "provision", "--id", id, "--pubkey", pub, "--out", scratch.path(id), "--flash-size", "4M"])
            try #require(provisioned.code == 0, "\(provisioned.output)")
        }
        func run(_ server: ServerProcess, _ id: String) throws {
            let ran = try server.aloft(["sim", "run", scratch.path(id), "--until-idle", "--timeout", "180"], timeout: 240)
            #expect(ran.code == 0, "\(id): \(ran.output.suffix(3000))")
        }
        try run(b, "on-b")
        #expect(try appFiles(scratch.path("on-b")) == digests(v1), "the device of B runs 1.0.0")
        #expect(FileManager.default.fileExists(atPath: b.data.appendingPathComponent("blobs").path), "B kept copies of the blobs it served")

        // And the other way round: published through B, installed by a device of A and the device of B.
        let second = try b.aloft(["release", "publish", try scratch.release("v2", v2), "--version", "1.1.0", "--key", key])
        try #require(second.code == 0, "\(second.output)")
        try run(a, "on-a")
        try run(b, "on-b")
        #expect(try appFiles(scratch.path("on-a")) == digests(v2) && appFiles(scratch.path("on-b")) == digests(v2))

        // A token revoked through A is refused by B within a second.
        let registered = try a.post("/api/v1/admin/devices", token: a.adminToken, json: #"{"id":"api-dev","channel":"stable"}"#)
        let token = try #require(registered.body["token"] as? String, "\(registered)")
        let checkIn = #"{"id":"api-dev","version":null,"sequence":0,"format":2}"#
        #expect(try b.post("/api/v1/device/checkin", token: token, json: checkIn).status == 200)
        #expect(try a.aloft(["device", "revoke", "--id", "api-dev"]).code == 0)
        let revoked = Date()
        var refused: TimeInterval? = nil
        while Date().timeIntervalSince(revoked) < 5 {
            if try b.post("/api/v1/device/checkin", token: token, json: checkIn).status == 401 {
                refused = Date().timeIntervalSince(revoked)
                break
            }
            usleep(50_000)
        }
        // Each poll is a Python process (~50 ms), so the figure is an upper bound.
        #expect(refused.map { $0 < 1.0 } == true, "B refused the token revoked through A after \(refused.map { "\($0) s" } ?? "never")")

        // A publish cut short by killing its server: no half release anywhere, and the same publish through B completes.
        var v3 = v2
        for index in 0..<400 { v3["lib/many/m\(index).py"] = Array("N = \(index)\n".utf8) + seededBytes(count: 2000, seed: UInt64(index)) }
        let folder = try scratch.release("v3", v3)
        let publish = Process()
        publish.executableURL = URL(fileURLWithPath: Paths.aloft)
        publish.arguments = ["release", "publish", folder, "--version", "1.2.0", "--key", key, "--server", a.url, "--admin-token", a.adminToken]
        publish.standardOutput = FileHandle.nullDevice
        publish.standardError = FileHandle.nullDevice
        try publish.run()
        let start = Date()
        while a.logText.components(separatedBy: "stored blob").count < 40, Date().timeIntervalSince(start) < 60 { usleep(20_000) }
        a.kill()
        publish.waitUntilExit()
        #expect(publish.terminationStatus != 0, "the publish through the killed server failed")
        let releases = try #require(try b.json(["release", "list", "--json"]) as? [[String: Any]])
        #expect(releases.compactMap { $0["version"] as? String }.sorted() == ["1.0.0", "1.1.0"], "no 1.2.0, not even half of one: \(releases)")
        let again = try b.aloft(["release", "publish", folder, "--version", "1.2.0", "--key", key])
        try #require(again.code == 0, "\(again.output)")
        try run(b, "on-b")
        #expect(try appFiles(scratch.path("on-b")) == digests(v3), "the device of B runs 1.2.0, all 404 files")
    }
}
