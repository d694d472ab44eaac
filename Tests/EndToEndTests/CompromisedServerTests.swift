import AloftCore
import Foundation
import Testing

/// Whoever controls the server's database and blob store still cannot make a device run unsigned code.
@Suite(.serialized) struct CompromisedServerTests {
    @Test func aManifestRewrittenInTheDatabaseIsRefused() throws {
        let fleet = try UpdateFlowTests.Fleet(deviceID: "victim")
        defer { fleet.stop() }
        try fleet.installV1()
        try fleet.publish(UpdateFlowTests.v2, version: "2.0.0")

        // The attacker stores its own file as a blob (any admin can) and points the signed manifest's main.py at it.
        let evil = Array("print('pwned')\n".utf8)
        _ = try fleet.scratch.release("evil", ["main.py": evil])
        let upload = try runCommand("/usr/bin/env", ["python3", "-c", """
            import sys, urllib.request
            req = urllib.request.Request(sys.argv[1] + "/api/v1/admin/blobs/" + sys.argv[3], data=open(sys.argv[4], "rb").read(), method="PUT",
                                         headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/octet-stream"})
            print(urllib.request.urlopen(req).status)
            """, fleet.server.url, fleet.server.adminToken, Digest.sha256Hex(evil), fleet.scratch.path("evil/main.py")])
        try #require(upload.code == 0, "\(upload.output)")
        // This device's agent reads format 1, so it is offered the release's legacy envelope: that is the one rewritten.
        let rewrite = try runCommand("/usr/bin/env", ["python3", "-c", """
            import json, sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            envelope = json.loads(db.execute("select legacy_envelope from releases where sequence = 2").fetchone()[0])
            manifest = json.loads(envelope["manifest"])
            for f in manifest["files"]:
                if f["path"] == "main.py":
                    f["sha256"], f["size"] = sys.argv[2], int(sys.argv[3])
            # still canonical, still carrying the publisher's signature over the old bytes
            envelope["manifest"] = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            db.execute("update releases set legacy_envelope = ? where sequence = 2", (json.dumps(envelope),))
            db.commit()
            """, fleet.server.data.appendingPathComponent("aloft.sqlite").path, Digest.sha256Hex(evil), String(evil.count)])
        try #require(rewrite.code == 0, "\(rewrite.output)")

        let boot = try fleet.boot()
        #expect(boot.code == 2, "the device must stop short of idle: \(boot.output)")
        #expect(!boot.output.contains("pwned"), "unsigned code ran: \(boot.output)")
        #expect(try appFiles(fleet.device) == digests(UpdateFlowTests.v1), "the device must stay exactly on v1")
        #expect(!(try fleet.downloadedDigests().contains(Digest.sha256Hex(evil))), "nothing of a forged release may be fetched")
        let failed = try fleet.events().first { $0["type"] as? String == "failed" }
        #expect((failed?["reason"] as? String)?.contains("trusted key") == true, "\(String(describing: failed))")
    }
}
