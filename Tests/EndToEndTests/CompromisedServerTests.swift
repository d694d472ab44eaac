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
        // The attacker also stores a file list naming it, and points the signed manifest at that list (keeping the
        // publisher's signature over the old bytes); the legacy envelope, for agents before 0.3.0, gets main.py rewritten.
        var forged = UpdateFlowTests.v2
        forged["main.py"] = evil
        let list = FileList.encode(forged.map { FileEntry(path: $0.key, sha256: Digest.sha256Hex($0.value), size: $0.value.count) })
        _ = try fleet.scratch.release("evil-list", ["list": Array(list.utf8)])
        let uploadList = try runCommand("/usr/bin/env", ["python3", "-c", """
            import sys, urllib.request
            req = urllib.request.Request(sys.argv[1] + "/api/v1/admin/blobs/" + sys.argv[3], data=open(sys.argv[4], "rb").read(), method="PUT",
                                         headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/octet-stream"})
            print(urllib.request.urlopen(req).status)
            """, fleet.server.url, fleet.server.adminToken, Digest.sha256Hex(Array(list.utf8)), fleet.scratch.path("evil-list/list")])
        try #require(uploadList.code == 0, "\(uploadList.output)")
        let rewrite = try runCommand("/usr/bin/env", ["python3", "-c", """
            import json, sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            canonical = lambda m: json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            envelope = json.loads(db.execute("select envelope from releases where sequence = 2").fetchone()[0])
            manifest = json.loads(envelope["manifest"])
            manifest["files"] = {"count": int(sys.argv[5]), "sha256": sys.argv[4], "size": int(sys.argv[6])}
            envelope["manifest"] = canonical(manifest)  # still canonical, still the publisher's signature over the old bytes
            legacy = json.loads(db.execute("select legacy_envelope from releases where sequence = 2").fetchone()[0])
            old = json.loads(legacy["manifest"])
            for f in old["files"]:
                if f["path"] == "main.py":
                    f["sha256"], f["size"] = sys.argv[2], int(sys.argv[3])
            legacy["manifest"] = canonical(old)
            db.execute("update releases set envelope = ?, legacy_envelope = ? where sequence = 2", (json.dumps(envelope), json.dumps(legacy)))
            db.commit()
            """, fleet.server.data.appendingPathComponent("aloft.sqlite").path, Digest.sha256Hex(evil), String(evil.count),
            Digest.sha256Hex(Array(list.utf8)), String(forged.count), String(list.utf8.count)])
        try #require(rewrite.code == 0, "\(rewrite.output)")

        let boot = try fleet.boot()
        #expect(boot.code == 2, "the device must stop short of idle: \(boot.output)")
        #expect(!boot.output.contains("pwned"), "unsigned code ran: \(boot.output)")
        #expect(try appFiles(fleet.device) == digests(UpdateFlowTests.v1), "the device must stay exactly on v1")
        #expect(!(try fleet.downloadedDigests().contains(Digest.sha256Hex(evil))), "nothing of a forged release may be fetched")
        let failed = try fleet.events().first { $0["type"] as? String == "failed" }
        #expect((failed?["reason"] as? String)?.contains("trusted key") == true, "\(String(describing: failed))")
    }

    /// The file list is named by SHA-256 in the signed manifest: replacing its bytes in the blob store changes nothing.
    @Test func aFileListReplacedInTheBlobStoreIsRefused() throws {
        let fleet = try UpdateFlowTests.Fleet(deviceID: "victim-2")
        defer { fleet.stop() }
        try fleet.installV1()
        try fleet.publish(UpdateFlowTests.v2, version: "2.0.0")
        let sha = fileListDigest(UpdateFlowTests.v2)
        var forged = UpdateFlowTests.v2
        forged["main.py"] = Array("print('pwned')\n".utf8)
        let evil = Array(FileList.encode(forged.map { FileEntry(path: $0.key, sha256: Digest.sha256Hex($0.value), size: $0.value.count) }).utf8)
        let stored = try FileManager.default.subpathsOfDirectory(atPath: fleet.server.data.path).filter { $0.contains(sha) }
        try #require(!stored.isEmpty, "the file list's blob \(sha) is not under the server's data folder")
        for blob in stored {
            let url = fleet.server.data.appendingPathComponent(blob)
            // the raw form replaced, its zlib form (if any) removed so the server serves the forgery
            if blob.hasSuffix(".zlib") { try FileManager.default.removeItem(at: url) } else { try Data(evil).write(to: url) }
        }
        let boot = try fleet.boot()
        #expect(boot.code == 2, "the device must stop short of idle: \(boot.output)")
        #expect(!boot.output.contains("pwned"))
        #expect(try appFiles(fleet.device) == digests(UpdateFlowTests.v1), "the device must stay exactly on v1")
        let failed = try fleet.events().first { $0["type"] as? String == "failed" }
        #expect((failed?["reason"] as? String)?.contains("file list") == true, "\(String(describing: failed))")
    }
}
