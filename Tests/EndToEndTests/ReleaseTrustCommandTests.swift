import AloftCore
import Foundation
import Testing

/// `release publish` with several keys, `--expires-in`/`--expires` and `--trust`/`--threshold`.
@Suite(.serialized) struct ReleaseTrustCommandTests {
    @Test func publishSignsWithEveryKeyAndSetsExpiryAndTrust() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        for name in ["a", "b"] { #expect(try server.aloft(["keys", "generate", "--out", scratch.path(name)]).code == 0) }
        let (aKey, aPub) = (scratch.path("a/release.key"), scratch.path("a/release.pub"))
        let (bKey, bPub) = (scratch.path("b/release.key"), scratch.path("b/release.pub"))
        let a = try ReleasePublicKey(pem: String(contentsOfFile: aPub, encoding: .utf8))
        let b = try ReleasePublicKey(pem: String(contentsOfFile: bPub, encoding: .utf8))
        let app = try scratch.release("app", ["main.py": Array("print('v')\n".utf8)])
        let device = scratch.path("d1")
        #expect(try server.aloft(["device", "provision", "--id", "d1", "--pubkey", aPub, "--out", device, "--flash-size", "512K"]).code == 0)

        func publish(_ version: String, _ extra: [String]) throws -> CommandResult {
            try server.aloft(["release", "publish", app, "--version", version] + extra)
        }
        func refused(_ result: CommandResult, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(result.code != 0 && result.stderr.contains(text), "want '\(text)': \(result.output)", sourceLocation: sourceLocation)
        }
        refused(try publish("1.0.0", []), "pass 1-8 --key options")
        refused(try publish("1.0.0", ["--key", aKey, "--key", aKey]), "the same key is given twice with --key")
        refused(try publish("1.0.0", ["--key", aKey, "--expires-in", "0d"]), "invalid --expires-in '0d'")
        refused(try publish("1.0.0", ["--key", aKey, "--expires-in", "3w"]), "invalid --expires-in '3w'")
        refused(try publish("1.0.0", ["--key", aKey, "--expires", "2027-01-01"]), "invalid --expires '2027-01-01'")
        refused(try publish("1.0.0", ["--key", aKey, "--expires", "2020-01-01T00:00:00Z"]), "must be after created")
        refused(try publish("1.0.0", ["--key", aKey, "--expires", "2030-01-01T00:00:00Z", "--expires-in", "1d"]), "not both")
        refused(try publish("1.0.0", ["--key", aKey, "--threshold", "1"]), "--threshold needs the keys it applies to")
        refused(try publish("1.0.0", ["--key", aKey, "--trust", aPub, "--threshold", "3"]), "--threshold must be between 1 and the number of keys (1), got 3")
        refused(try publish("1.0.0", ["--key", aKey, "--trust", aKey]), "public key")

        // Release 1: signed by A, valid for 30 days, introduces trust {A, B}.
        let first = try publish("1.0.0", ["--key", aKey, "--expires-in", "30d", "--trust", bPub, "--trust", aPub])
        #expect(first.code == 0, "\(first.output)")
        let trusted = [a, b].sorted { $0.rawHex < $1.rawHex }.map(\.keyID)
        #expect(first.stdout.contains("signed by key id \(a.keyID); expires 20"), "\(first.output)")
        #expect(first.stdout.contains("devices then trust key id \(trusted.joined(separator: ", ")) (threshold 1)"), "\(first.output)")
        // Release 2: signed by both keys, needs both from then on.
        let second = try publish("2.0.0", ["--key", aKey, "--key", bKey, "--trust", aPub, "--trust", bPub, "--threshold", "2"])
        #expect(second.code == 0 && second.stdout.contains("signed by key id \(a.keyID), \(b.keyID)") && second.stdout.contains("(threshold 2)"), "\(second.output)")

        // An agent provisioned with {A} accepts the newest release (signed by A among others, fields it may not know).
        let boot = try server.aloft(["sim", "run", device, "--until-idle", "--timeout", "120"], timeout: 150)
        #expect(boot.code == 0, "\(boot.output)")
        let config = try JSONSerialization.jsonObject(with: Data(try server.aloft(["sim", "cat", device, "/.aloft/config.json"]).stdout.utf8)) as? [String: Any]
        #expect(config?["keys"] as? [String] == [a.rawHex] && config?["threshold"] as? Int == 1 && config?["ca"] == nil)
        let record = try server.get("/api/v1/admin/devices/d1")
        #expect(record["sequence"] as? Int == 2, "\(record)")

        // Provisioning checks the threshold against the keys.
        let provision = try server.aloft(["device", "provision", "--id", "d2", "--pubkey", aPub, "--threshold", "2", "--out", scratch.path("d2")])
        #expect(provision.code != 0 && provision.stderr.contains("threshold must be between 1 and the number of distinct keys (1)"), "\(provision.output)")
    }
}
