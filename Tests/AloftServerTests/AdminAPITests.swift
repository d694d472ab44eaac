import AloftCore
import AloftServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct AdminAPITests {
    @Test func healthNeedsNoAuthAndUnknownRoutesAreJSON404() async throws {
        try await TestFleet.run { fleet in
            let health = try await fleet.send(.get, "/healthz", token: nil)
            #expect(health.status == .ok)
            #expect(health.object["status"] as? String == "ok")

            let unknown = try await fleet.send(.get, "/api/v1/nothing-here", token: nil)
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "not_found")
            #expect(unknown.headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }

    @Test func adminEndpointsNeedTheAdminToken() async throws {
        try await TestFleet.run { fleet in
            let deviceToken = try await fleet.registerDevice("dev-1")
            for token in [nil, "wrong-token", deviceToken, ""] as [String?] {
                let response = try await fleet.send(.get, "/api/v1/admin/devices", token: token)
                #expect(response.status == .unauthorized)
                #expect(response.errorCode == "unauthorized")
                #expect(response.object["message"] is String)
            }
            let basic = try await fleet.send(.get, "/api/v1/admin/devices", token: nil, headers: [.authorization: "Basic YWRtaW46YWRtaW4="])
            #expect(basic.status == .unauthorized)
        }
    }

    @Test func registersAndListsDevices() async throws {
        try await TestFleet.run { fleet in
            let created = try await fleet.send(.post, "/api/v1/admin/devices", json: #"{"id":"b-2","channel":"beta"}"#)
            #expect(created.status == .created)
            #expect(created.object["id"] as? String == "b-2")
            #expect(created.object["channel"] as? String == "beta")
            let token = try #require(created.object["token"] as? String)
            #expect(token.hasPrefix("aloft_dev_"))
            #expect(token.count == "aloft_dev_".count + 43)  // 32 bytes, base64url without padding
            _ = try await fleet.registerDevice("a-1")

            let list = try await fleet.send(.get, "/api/v1/admin/devices")
            #expect(list.status == .ok)
            let devices = try #require(list.object["devices"] as? [[String: Any]])
            #expect(devices.map { $0["id"] as? String } == ["a-1", "b-2"])
            let fresh = devices[0]
            #expect(fresh["sequence"] as? Int == 0)
            for key in ["board", "micropython", "agent", "version", "lastSeen", "lastEvent"] {
                #expect(fresh[key] is NSNull, "\(key) should be null")
            }
            #expect(fresh["token"] == nil)

            let one = try await fleet.send(.get, "/api/v1/admin/devices/b-2")
            #expect(one.status == .ok)
            #expect(one.object["channel"] as? String == "beta")
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/nobody").status == .notFound)
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/nobody/events").status == .notFound)
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/nobody/downloads").status == .notFound)
        }
    }

    @Test func theDeviceListComesInPagesThatFollowNext() async throws {
        try await TestFleet.run { fleet in
            for i in 0..<7 { _ = try await fleet.registerDevice(String(format: "d-%02d", i), channel: i % 2 == 0 ? "stable" : "beta") }
            var seen: [String] = []
            var after: String?
            var pages = 0
            repeat {
                let page = try await fleet.send(.get, "/api/v1/admin/devices?limit=3" + (after.map { "&after=" + $0 } ?? ""))
                #expect(page.status == .ok)
                #expect(page.object["total"] as? Int == 7)
                let ids = try #require(page.object["devices"] as? [[String: Any]]).compactMap { $0["id"] as? String }
                #expect(ids.count <= 3)
                seen += ids
                after = page.object["next"] as? String
                if let after { #expect(after == ids.last) }
                pages += 1
            } while after != nil && pages < 10
            #expect(seen == (0..<7).map { String(format: "d-%02d", $0) })
            #expect(pages == 3, "3 + 3 + 1")
            // A filter applies across the pages, and total counts what it matches.
            let beta = try await fleet.send(.get, "/api/v1/admin/devices?channel=beta&limit=2&after=d-01")
            #expect(beta.object["total"] as? Int == 3)
            #expect((beta.object["devices"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["d-03", "d-05"])
            #expect(beta.object["next"] == nil, "d-05 is the last beta device")
            let all = try await fleet.send(.get, "/api/v1/admin/devices")
            #expect((all.object["devices"] as? [[String: Any]])?.count == 7 && all.object["next"] == nil, "one page by default")
            for bad in ["limit=0", "limit=1001", "limit=x", "after=-bad", "after=" + String(repeating: "a", count: 65)] {
                let refused = try await fleet.send(.get, "/api/v1/admin/devices?" + bad)
                #expect(refused.status == .badRequest && refused.errorCode != nil, "\(bad)")
            }
        }
    }

    @Test func deviceRegistrationRefusesBadInput() async throws {
        try await TestFleet.run { fleet in
            _ = try await fleet.registerDevice("dev-1")
            let cases: [(String, HTTPResponse.Status)] = [
                (#"{"id":"dev-1","channel":"stable"}"#, .conflict),
                (#"{"id":"-bad","channel":"stable"}"#, .badRequest),
                (#"{"id":"ok","channel":"Not_A_Channel"}"#, .badRequest),
                (#"{"id":5,"channel":"stable"}"#, .badRequest),
                (#"{"id":"x"}"#, .badRequest),
                (#"{"id":"x","channel":"stable""#, .badRequest),
                (#"["id"]"#, .badRequest),
                ("", .badRequest),
            ]
            for (body, status) in cases {
                let response = try await fleet.send(.post, "/api/v1/admin/devices", json: body)
                #expect(response.status == status, "\(body)")
                #expect(response.errorCode == (status == .conflict ? "conflict" : "bad_request"))
            }
            let wrongType = try await fleet.send(.post, "/api/v1/admin/devices", json: #"{"id":5,"channel":"stable"}"#)
            #expect((wrongType.object["message"] as? String)?.contains("'id'") == true)
            let missing = try await fleet.send(.post, "/api/v1/admin/devices", json: #"{"id":"x"}"#)
            #expect((missing.object["message"] as? String)?.contains("missing field 'channel'") == true)

            let padding = String(repeating: " ", count: 70 * 1024)
            let tooLarge = try await fleet.send(.post, "/api/v1/admin/devices", json: #"{"id":"big","channel":"stable"}"# + padding)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorCode == "payload_too_large")
        }
    }

    @Test func blobUploadAndMissingQuery() async throws {
        try await TestFleet.run { fleet in
            let compressible = Array(String(repeating: "0123456789", count: 100).utf8)
            let sha = Digest.sha256Hex(compressible)
            let first = try await fleet.send(.put, "/api/v1/admin/blobs/\(sha)", body: ByteBuffer(bytes: compressible))
            #expect(first.status == .created)
            #expect(first.object["sha256"] as? String == sha)
            #expect(first.object["size"] as? Int == 1000)
            let zlibSize = try #require(first.object["zlibSize"] as? Int)
            #expect(zlibSize < 1000)
            let again = try await fleet.send(.put, "/api/v1/admin/blobs/\(sha)", body: ByteBuffer(bytes: compressible))
            #expect(again.status == .ok)

            let noise = randomBytes(500, seed: 11)
            let noisy = try await fleet.send(.put, "/api/v1/admin/blobs/\(Digest.sha256Hex(noise))", body: ByteBuffer(bytes: noise))
            #expect(noisy.status == .created)
            #expect(noisy.object["zlibSize"] is NSNull)

            let absent = Digest.sha256Hex(Array("absent".utf8))
            let missing = try await fleet.send(.post, "/api/v1/admin/blobs/missing", json: #"{"sha256":["\#(sha)","\#(absent)","\#(absent)"]}"#)
            #expect(missing.status == .ok)
            #expect(missing.object["missing"] as? [String] == [absent])
            let badQuery = try await fleet.send(.post, "/api/v1/admin/blobs/missing", json: #"{"sha256":["nope"]}"#)
            #expect(badQuery.status == .badRequest)
            #expect(try await fleet.send(.post, "/api/v1/admin/blobs/missing", json: #"{"sha256":"\#(sha)"}"#).status == .badRequest)
        }
    }

    @Test func blobUploadRefusesWrongHashBadNameAndOversize() async throws {
        try await TestFleet.run { fleet in
            let claimed = Digest.sha256Hex(Array("something else".utf8))
            let wrong = try await fleet.send(.put, "/api/v1/admin/blobs/\(claimed)", body: ByteBuffer(string: "these bytes"))
            #expect(wrong.status == .badRequest)
            #expect((wrong.object["message"] as? String)?.contains("hash") == true)
            let missing = try await fleet.send(.post, "/api/v1/admin/blobs/missing", json: #"{"sha256":["\#(claimed)"]}"#)
            #expect(missing.object["missing"] as? [String] == [claimed])

            let badName = try await fleet.send(.put, "/api/v1/admin/blobs/ABCDEF", body: ByteBuffer(string: "x"))
            #expect(badName.status == .badRequest)

            // Refused from the header alone, before any body arrives.
            let declared = try await fleet.send(
                .put, "/api/v1/admin/blobs/\(claimed)", headers: [.contentLength: String(16 * 1024 * 1024 + 1)]
            )
            #expect(declared.status == .contentTooLarge)
            #expect(declared.errorCode == "payload_too_large")
            #expect(try await fleet.send(.put, "/api/v1/admin/blobs/\(claimed)", token: nil, body: ByteBuffer(string: "x")).status == .unauthorized)
        }
    }

    @Test func publishListsAndReportsChannels() async throws {
        try await TestFleet.run { fleet in
            let empty = try await fleet.send(.get, "/api/v1/admin/channels/stable")
            #expect(empty.status == .ok)
            #expect(empty.object["channel"] as? String == "stable")
            #expect(empty.object["latest"] is NSNull)
            #expect(empty.object["next"] as? Int == 1)

            let published = try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            #expect(published.status == .created, "\(published.text)")
            #expect(published.object["version"] as? String == "1.0.0")
            #expect(published.object["sequence"] as? Int == 1)
            #expect(published.object["channel"] as? String == "stable")
            #expect(published.object["legacy"] as? Bool == true)
            var withoutLegacy = TestRelease(version: "1.1.0", sequence: 2)
            withoutLegacy.legacy = false
            let modern = try await fleet.publish(withoutLegacy)
            #expect(modern.status == .created && modern.object["legacy"] as? Bool == false, "\(modern.text)")
            #expect(try await fleet.publish(TestRelease(version: "0.1.0", sequence: 1, channel: "beta")).status == .created)

            let list = try await fleet.send(.get, "/api/v1/admin/releases?channel=stable")
            let releases = try #require(list.object["releases"] as? [[String: Any]])
            #expect(releases.map { $0["sequence"] as? Int } == [2, 1])
            let newest = releases[0]
            #expect(newest["version"] as? String == "1.1.0")
            #expect(newest["files"] as? Int == 2)
            #expect(newest["size"] as? Int == TestRelease.defaultFiles.map(\.bytes.count).reduce(0, +))
            #expect(newest["created"] as? String == "2026-11-29T02:33:34Z")
            #expect((newest["publishedAt"] as? String)?.hasSuffix("Z") == true)
            #expect(releases.map { $0["legacy"] as? Bool } == [false, true])

            let all = try await fleet.send(.get, "/api/v1/admin/releases")
            #expect((all.object["releases"] as? [Any])?.count == 3)
            #expect(try await fleet.send(.get, "/api/v1/admin/releases?channel=Bad!").status == .badRequest)

            let channel = try await fleet.send(.get, "/api/v1/admin/channels/stable")
            let latest = try #require(channel.object["latest"] as? [String: Any])
            #expect(latest["version"] as? String == "1.1.0")
            #expect(latest["sequence"] as? Int == 2)
            #expect(channel.object["next"] as? Int == 3)
            #expect(try await fleet.send(.get, "/api/v1/admin/channels/NOT%20VALID").status == .badRequest)
        }
    }

    /// After a restore from an older backup, devices report sequences the database has no release of: the channel's next
    /// goes above them, and a publish at or below them is refused (the devices would refuse it as a replay).
    @Test func theNextSequenceIsAboveWhatDevicesReported() async throws {
        try await TestFleet.run { fleet in
            #expect(try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1)).status == .created)
            let token = try await fleet.registerDevice("d1")
            #expect(try await fleet.checkIn("d1", token: token, sequence: 4, version: "1.3.0").status == .ok)
            let channel = try await fleet.send(.get, "/api/v1/admin/channels/stable")
            #expect((channel.object["latest"] as? [String: Any])?["sequence"] as? Int == 1)
            #expect(channel.object["next"] as? Int == 5)

            let replay = try await fleet.publish(TestRelease(version: "1.1.0", sequence: 4))
            #expect(replay.status == .conflict, "\(replay.text)")
            #expect(replay.text.contains("not above 4, which a device of channel 'stable' reported"), "\(replay.text)")
            #expect(try await fleet.publish(TestRelease(version: "1.1.0", sequence: 5)).status == .created)
            #expect(try await fleet.offeredSequence("d1", token: token, sequence: 4) == 5)
        }
    }

    @Test func publishRefusesMissingBlobsAndOldSequences() async throws {
        try await TestFleet.run { fleet in
            let release = TestRelease(sequence: 3)
            // The file list first: until the server has it, it cannot know the files.
            let noList = try await fleet.publish(release, upload: false)
            #expect(noList.status == .conflict)
            #expect(noList.errorCode == "conflict")
            #expect(noList.object["missing"] as? [String] == [Digest.sha256Hex(release.fileList)], "\(noList.text)")
            #expect((noList.object["message"] as? String)?.contains("file list") == true)
            try await fleet.putBlob(release.fileList)
            let missing = try await fleet.send(.post, "/api/v1/admin/releases", encoding: release.publication)
            #expect(missing.status == .conflict)
            #expect(Set(missing.object["missing"] as? [String] ?? []) == Set(release.files.map(\.sha256)))

            #expect(try await fleet.publish(release).status == .created)
            let same = try await fleet.publish(TestRelease(version: "9.0.0", sequence: 3))
            #expect(same.status == .conflict)
            #expect((same.object["message"] as? String)?.contains("sequence") == true)
            #expect(try await fleet.publish(TestRelease(version: "0.9.0", sequence: 2)).status == .conflict)
            #expect(try await fleet.publish(TestRelease(version: "1.1.0", sequence: 4)).status == .created)
        }
    }

    @Test func publishRefusesInvalidEnvelopes() async throws {
        try await TestFleet.run { fleet in
            // Sequence 1 is published (which uploads the files), so every refusal below is about its own fault.
            try await fleet.publish(TestRelease(sequence: 1))
            let next = TestRelease(sequence: 2)

            // Same content, not canonical: a space after the first colon.
            var spaced = next.publication
            spaced.manifest = next.envelope.manifest.replacingOccurrences(of: #""channel":"#, with: #""channel": "#)
            try await fleet.putBlob(next.fileList)
            let nonCanonical = try await fleet.send(.post, "/api/v1/admin/releases", encoding: spaced)
            #expect(nonCanonical.status == .badRequest)
            #expect((nonCanonical.object["message"] as? String)?.contains("canonical") == true)

            var badChannel = next
            badChannel.manifest.channel = "Stable"
            let invalid = try await fleet.publish(badChannel)
            #expect(invalid.status == .badRequest && (invalid.object["message"] as? String)?.contains("channel") == true, "\(invalid.text)")

            // A path devices refuse is in the file list now: the list is refused.
            var reserved = next
            reserved.manifest.files[0].path = "boot.py"
            let refused = try await fleet.publish(reserved)
            #expect(refused.status == .badRequest && (refused.object["message"] as? String)?.contains("reserved") == true, "\(refused.text)")

            var wrongSize = next
            wrongSize.manifest.files[0].size += 1
            let sized = try await fleet.publish(wrongSize)
            #expect(sized.status == .badRequest && (sized.object["message"] as? String)?.contains("says") == true, "\(sized.text)")

            var unsigned = next.publication
            unsigned.signatures = []
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", encoding: unsigned).status == .badRequest)
            var garbled = next.publication
            garbled.signatures[0].sig = "not base64"
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", encoding: garbled).status == .badRequest)

            #expect(try await fleet.send(.post, "/api/v1/admin/releases", json: "not json").status == .badRequest)
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", json: #"{"manifest":5,"signatures":[]}"#).status == .badRequest)
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", json: #"{"manifest":"{}","signatures":[]}"#).status == .badRequest)
            let unknown = try await fleet.send(
                .post, "/api/v1/admin/releases",
                json: #"{"manifest":"{}","signatures":[],"legacy":{"manifest":"{}","signatures":[],"format":1}}"#)
            #expect(unknown.status == .badRequest && (unknown.object["message"] as? String)?.contains("unknown field 'legacy.format'") == true)

            let list = try await fleet.send(.get, "/api/v1/admin/releases")
            #expect((list.object["releases"] as? [[String: Any]])?.map { $0["sequence"] as? Int } == [1])
        }
    }

    /// The file list must be the one the manifest names, and meet every rule of docs/protocol.md, "File list".
    @Test func publishChecksTheFileList() async throws {
        try await TestFleet.run { fleet in
            let release = TestRelease(sequence: 1)
            for file in release.files { try await fleet.putBlob(file.bytes) }
            try await fleet.putBlob(release.fileList)

            /// Publishes the release's manifest with its `files` pointing at `list` (uploaded here).
            func publish(list: [UInt8], count: Int? = nil, size: Int? = nil) async throws -> TestResponse {
                try await fleet.putBlob(list)
                var header = release.manifest.header
                header.files = FileListReference(count: count ?? release.files.count, sha256: Digest.sha256Hex(list), size: size ?? list.count)
                let envelope = SignedRelease(manifest: header.canonicalJSON(), signatures: TestRelease.dummySignatures)
                return try await fleet.send(.post, "/api/v1/admin/releases", encoding: ReleasePublication(envelope))
            }
            func expectRefused(_ response: TestResponse, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(response.status == .badRequest && response.errorCode == "bad_request", "\(response.text)", sourceLocation: sourceLocation)
                #expect(response.object["message"] as? String == message, sourceLocation: sourceLocation)
            }
            let lines = release.manifest.fileList.split(separator: "\n").map(String.init)
            expectRefused(try await publish(list: release.fileList, count: 3), "the file list has 2 lines; the manifest says 3")
            expectRefused(try await publish(list: release.fileList, size: release.fileList.count + 1), "the file list is \(release.fileList.count) bytes; the manifest says \(release.fileList.count + 1)")
            expectRefused(try await publish(list: Array((lines[1] + "\n" + lines[0] + "\n").utf8)), "files must be sorted by path ('lib/blob.bin' is out of order)")
            expectRefused(try await publish(list: Array((lines[0] + "\n" + lines[0] + "\n").utf8)), "file 'lib/blob.bin' is listed twice")
            expectRefused(try await publish(list: Array((lines[0] + "\n" + lines[1]).utf8)), "the file list must end with a newline")
            expectRefused(
                try await publish(list: Array(lines.joined(separator: "\n").replacingOccurrences(of: " ", with: "  ").appending("\n").utf8)),
                "file list line 1: expected '<sha256> <size> <path>'")
            let upper = lines[0].prefix(64).uppercased() + lines[0].dropFirst(64)
            expectRefused(try await publish(list: Array((upper + "\n" + lines[1] + "\n").utf8)), "file list line 1: the sha256 must be 64 lowercase hex characters")
            let agent = "\(String(repeating: "a", count: 64)) 1 lib/aloft/update.py\n"
            expectRefused(try await publish(list: Array((agent + lines[1] + "\n").utf8)),
                          "a release that carries the agent must carry all of it: lib/aloft/__init__.py is missing")
            // A file list larger than 1 MiB is refused from its size, before it is read.
            let huge = [UInt8](repeating: 0x0a, count: 1_048_577)
            let tooLarge = try await publish(list: huge)
            #expect(tooLarge.status == .badRequest && (tooLarge.object["message"] as? String)?.contains("files.size") == true, "\(tooLarge.text)")
            // The header names a blob that is not its size: refused before the blob is read.
            var header = release.manifest.header
            header.files.size += 1
            let mismatch = try await fleet.send(
                .post, "/api/v1/admin/releases",
                encoding: ReleasePublication(SignedRelease(manifest: header.canonicalJSON(), signatures: TestRelease.dummySignatures)))
            expectRefused(mismatch, "the file list is \(release.fileList.count) bytes; the manifest says \(release.fileList.count + 1)")

            #expect((try await fleet.send(.get, "/api/v1/admin/releases").object["releases"] as? [Any])?.isEmpty == true)
            #expect(try await fleet.publish(release).status == .created)
        }
    }

    /// The legacy envelope: format 1, the same release, and never alone.
    @Test func publishChecksTheLegacyEnvelope() async throws {
        try await TestFleet.run { fleet in
            let release = TestRelease(sequence: 1)
            for file in release.files { try await fleet.putBlob(file.bytes) }
            try await fleet.putBlob(release.fileList)
            func post(_ publication: ReleasePublication) async throws -> TestResponse {
                try await fleet.send(.post, "/api/v1/admin/releases", encoding: publication)
            }
            func message(_ response: TestResponse) -> String { "\(response.status.code) \(response.object["message"] as? String ?? response.text)" }

            // What publishers before format 2 sent: a format-1 envelope alone.
            let alone = try await post(ReleasePublication(release.legacyEnvelope))
            #expect(message(alone) == #"400 a format-1 manifest alone cannot be published: send the format-2 manifest, with this one as its "legacy" envelope (aloft release publish does)"#)
            #expect(message(try await post(ReleasePublication(release.legacyEnvelope, legacy: release.legacyEnvelope)))
                == #"400 the manifest must be format 2; the format-1 one goes in "legacy""#)
            #expect(message(try await post(ReleasePublication(release.envelope, legacy: release.envelope)))
                == "400 legacy: expected a format-1 manifest, got format 2")

            // Another release in the legacy envelope: each difference is named.
            var other = release
            other.manifest.sequence = 2
            #expect(message(try await post(ReleasePublication(release.envelope, legacy: other.legacyEnvelope)))
                == "400 the legacy manifest does not describe the same release as the manifest: sequence differs")
            other = release
            other.manifest.files[0].sha256 = Digest.sha256Hex(Array("evil".utf8))
            other.manifest.version = SemanticVersion("1.0.0+other")!
            #expect(message(try await post(ReleasePublication(release.envelope, legacy: other.legacyEnvelope)))
                == "400 the legacy manifest does not describe the same release as the manifest: version, files differ")
            other = release
            other.manifest.expires = ReleaseManifest.timestamp(Date().addingTimeInterval(3600))
            #expect(message(try await post(ReleasePublication(release.envelope, legacy: other.legacyEnvelope)))
                == "400 the legacy manifest does not describe the same release as the manifest: expires differs")

            // A legacy envelope that breaks the envelope or manifest rules.
            var unsigned = release.legacyEnvelope
            unsigned.signatures = []
            #expect(message(try await post(ReleasePublication(release.envelope, legacy: unsigned))) == "400 legacy: a release needs 1-8 signatures, it has 0")
            var spaced = release.legacyEnvelope
            spaced.manifest = spaced.manifest.replacingOccurrences(of: #""channel":"#, with: #""channel": "#)
            #expect(message(try await post(ReleasePublication(release.envelope, legacy: spaced))).hasPrefix("400 legacy: manifest is not in canonical form"))
            var deep = release.legacyEnvelope
            deep.manifest = String(repeating: "[", count: 20_000)
            #expect(message(try await post(ReleasePublication(release.envelope, legacy: deep))) == "400 legacy: JSON nests deeper than 16 levels")

            // More than 256 files: the server refuses a format-1 manifest of them (publishers leave it out).
            var big = TestRelease(sequence: 1, files: (0..<257).map { TestRelease.File(path: "m\($0).py", bytes: Array("x = \($0)\n".utf8)) })
            #expect(message(try await fleet.publish(big)) == "400 legacy: a format-1 manifest lists at most 256 files, this one has 257")
            big.legacy = false
            #expect(try await fleet.publish(big).status == .created)

            // A release that agents before 0.3.0 cannot install gets no legacy envelope (an empty file, here).
            var empty = TestRelease(version: "1.1.0", sequence: 2, files: TestRelease.defaultFiles + [TestRelease.File(path: "lib/pkg/__init__.py", bytes: [])])
            try await fleet.putBlob(empty.fileList)
            try await fleet.putBlob([])
            #expect(message(try await post(empty.publication))
                == "400 a legacy envelope must not be published for this release: agents before 0.3.0 cannot install an empty file (lib/pkg/__init__.py)")
            empty.legacy = false
            #expect(try await post(empty.publication).status == .created)

            let list = try #require(try await fleet.send(.get, "/api/v1/admin/releases").object["releases"] as? [[String: Any]])
            #expect(list.map { $0["sequence"] as? Int } == [2, 1] && list.last?["legacy"] as? Bool == false && list.last?["files"] as? Int == 257)
        }
    }
}
