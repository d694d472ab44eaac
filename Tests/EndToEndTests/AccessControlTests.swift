import AloftCore
import Foundation
import Testing

/// Admin tokens, device revocation and enrollment through the real CLI and server, with the device API called
/// the way a device calls it.
@Suite(.serialized) struct AccessControlFlowTests {
    @Test func adminTokensAreCreatedUsedAndRevokedFromTheCommandLine() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }

        let created = try server.aloft(["admin", "token", "create", "--name", "ci"])
        #expect(created.code == 0, "\(created.output)")
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("aloft_adm_") && !token.contains("\n"), "only the token goes to stdout: \(created.stdout)")
        #expect(created.stderr.contains("shown only this once"))

        let withNewToken = try runCommand(Paths.aloft, ["devices", "list", "--json", "--server", server.url, "--admin-token", token])
        #expect(withNewToken.code == 0, "\(withNewToken.output)")

        let listed = try server.aloft(["admin", "token", "list", "--json"])
        #expect(!listed.stdout.contains(token), "the token is never listed")
        let tokens = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(tokens.count == 1 && tokens[0]["name"] as? String == "ci" && tokens[0]["revoked"] as? Bool == false)
        #expect(try server.aloft(["admin", "token", "list"]).stdout.contains("ci"))

        let duplicate = try server.aloft(["admin", "token", "create", "--name", "ci"])
        #expect(duplicate.code != 0 && duplicate.stderr.contains("409"), "\(duplicate.output)")

        #expect(try server.aloft(["admin", "token", "revoke", "--name", "ci"]).code == 0)
        let refused = try runCommand(Paths.aloft, ["devices", "list", "--server", server.url, "--admin-token", token])
        #expect(refused.code != 0 && refused.stderr.contains("401"), "\(refused.output)")
        let after = try #require(try server.json(["admin", "token", "list", "--json"]) as? [[String: Any]])
        #expect(after.first?["revoked"] as? Bool == true)
        let unknown = try server.aloft(["admin", "token", "revoke", "--name", "nobody"])
        #expect(unknown.code != 0 && unknown.stderr.contains("no admin token"), "\(unknown.output)")
    }

    @Test func aRevokedDeviceIsRefusedUntilItGetsANewToken() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("keys")]).code == 0)
        let device = scratch.path("d1")
        let provision = try server.aloft(["device", "provision", "--id", "d1", "--pubkey", scratch.path("keys/release.pub"), "--out", device])
        try #require(provision.code == 0, "\(provision.output)")
        let config = try server.aloft(["sim", "cat", device, "/.aloft/config.json"])
        let token = try #require((try JSONSerialization.jsonObject(with: Data(config.stdout.utf8)) as? [String: Any])?["token"] as? String)
        let checkIn = #"{"id":"d1","version":null,"sequence":0}"#
        #expect(try server.post("/api/v1/device/checkin", token: token, json: checkIn).status == 200)

        let revoke = try server.aloft(["device", "revoke", "--id", "d1"])
        #expect(revoke.code == 0, "\(revoke.output)")
        let refused = try server.post("/api/v1/device/checkin", token: token, json: checkIn)
        #expect(refused.status == 401 && refused.body["error"] as? String == "unauthorized")
        // The device itself finds its check-in refused.
        let boot = try server.aloft(["sim", "run", device, "--until-idle", "--timeout", "120"], timeout: 150)
        #expect(boot.code != 0, "\(boot.output)")
        #expect(boot.output.contains("401") || boot.output.lowercased().contains("revoked"), "\(boot.output)")
        let listed = try #require(try server.json(["devices", "list", "--json"]) as? [[String: Any]])
        #expect(listed.first?["revoked"] as? Bool == true)

        let issued = try server.aloft(["device", "token", "--id", "d1"])
        #expect(issued.code == 0, "\(issued.output)")
        let fresh = issued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(fresh.hasPrefix("aloft_dev_") && fresh != token)
        #expect(try server.post("/api/v1/device/checkin", token: fresh, json: checkIn).status == 200)
        #expect(try server.post("/api/v1/device/checkin", token: token, json: checkIn).status == 401)

        let unknown = try server.aloft(["device", "revoke", "--id", "nobody"])
        #expect(unknown.code != 0 && unknown.stderr.contains("no device"), "\(unknown.output)")
    }

    @Test func devicesEnrollWithAFleetSecret() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }

        let created = try server.aloft(["enrollment", "create", "--name", "batch-7", "--channel", "beta"])
        #expect(created.code == 0, "\(created.output)")
        let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("aloft_enr_"))
        let listed = try server.aloft(["enrollment", "list", "--json"])
        #expect(!listed.stdout.contains(secret))
        let enrollments = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(enrollments.first?["name"] as? String == "batch-7" && enrollments.first?["channel"] as? String == "beta")

        let enrolled = try server.post("/api/v1/device/enroll", token: secret, json: #"{"id":"sensor-1"}"#)
        #expect(enrolled.status == 201, "\(enrolled.body)")
        let token = try #require(enrolled.body["token"] as? String)
        #expect(enrolled.body["channel"] as? String == "beta")
        #expect(try server.post("/api/v1/device/checkin", token: token, json: #"{"id":"sensor-1","sequence":0}"#).status == 200)
        #expect(try server.post("/api/v1/device/checkin", token: secret, json: #"{"id":"sensor-1","sequence":0}"#).status == 401)
        #expect(try server.post("/api/v1/device/enroll", token: token, json: #"{"id":"sensor-2"}"#).status == 401)
        #expect(try server.post("/api/v1/device/enroll", token: secret, json: #"{"id":"sensor-1"}"#).status == 409)
        let device = try server.get("/api/v1/admin/devices/sensor-1")
        #expect(device["channel"] as? String == "beta" && device["enrollment"] as? String == "batch-7")

        #expect(try server.aloft(["enrollment", "revoke", "--name", "batch-7"]).code == 0)
        #expect(try server.post("/api/v1/device/enroll", token: secret, json: #"{"id":"sensor-2"}"#).status == 401)
        #expect(try server.post("/api/v1/device/checkin", token: token, json: #"{"id":"sensor-1","sequence":0}"#).status == 200)
        #expect(try server.aloft(["enrollment", "list"]).stdout.contains("batch-7"))
    }

    @Test func aGenericImageCarriesTheEnrollmentSecretInsteadOfAnIdentity() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("keys")]).code == 0)
        let secret = try server.aloft(["enrollment", "create", "--name", "line-1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let image = ["device", "image", "--pubkey", scratch.path("keys/release.pub"), "--out", scratch.path("generic"), "--flash-size", "512K"]

        let written = try server.aloft(image + ["--enrollment-secret", secret])
        #expect(written.code == 0, "\(written.output)")
        let config = try server.aloft(["sim", "cat", scratch.path("generic"), "/.aloft/config.json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(config.stdout.utf8)) as? [String: Any])
        #expect(json["enroll"] as? String == secret && json["server"] as? String == server.url)
        #expect(json["id"] == nil && json["token"] == nil)
        #expect((json["keys"] as? [String])?.count == 1)
        #expect((try server.get("/api/v1/admin/devices")["devices"] as? [Any])?.isEmpty == true, "making an image registers nothing")

        let wrong = try server.aloft(image + ["--enrollment-secret", "aloft_dev_x", "--out", scratch.path("other")])
        #expect(wrong.code != 0 && wrong.stderr.contains("aloft_enr_"), "\(wrong.output)")
        let again = try server.aloft(image + ["--enrollment-secret", secret])
        #expect(again.code != 0 && again.stderr.contains("already exists"), "\(again.output)")
    }
}

extension ServerProcess {
    /// A POST as a device makes it (Python's urllib, like the harness's `get`): status and JSON body, errors included.
    func post(_ path: String, token: String, json: String) throws -> (status: Int, body: [String: Any]) {
        let result = try runCommand("/usr/bin/env", ["python3", "-c", """
            import json, sys, urllib.error, urllib.request
            request = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(), method="POST",
                headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
            try:
                response = urllib.request.urlopen(request)
                status, body = response.status, response.read()
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read()
            sys.stdout.write(json.dumps({"status": status, "body": body.decode() or "{}"}))
            """, url + path, token, json])
        guard result.code == 0 else { throw AloftError("POST \(path) failed: \(result.output)") }
        let outer = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let text = try #require(outer["body"] as? String)
        let body = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return (try #require(outer["status"] as? Int), body)
    }
}
