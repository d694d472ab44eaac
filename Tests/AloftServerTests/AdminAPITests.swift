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

            let published = try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            #expect(published.status == .created, "\(published.text)")
            #expect(published.object["version"] as? String == "1.0.0")
            #expect(published.object["sequence"] as? Int == 1)
            #expect(published.object["channel"] as? String == "stable")
            #expect(try await fleet.publish(TestRelease(version: "1.1.0", sequence: 2)).status == .created)
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

            let all = try await fleet.send(.get, "/api/v1/admin/releases")
            #expect((all.object["releases"] as? [Any])?.count == 3)
            #expect(try await fleet.send(.get, "/api/v1/admin/releases?channel=Bad!").status == .badRequest)

            let channel = try await fleet.send(.get, "/api/v1/admin/channels/stable")
            let latest = try #require(channel.object["latest"] as? [String: Any])
            #expect(latest["version"] as? String == "1.1.0")
            #expect(latest["sequence"] as? Int == 2)
            #expect(try await fleet.send(.get, "/api/v1/admin/channels/NOT%20VALID").status == .badRequest)
        }
    }

    @Test func publishRefusesMissingBlobsAndOldSequences() async throws {
        try await TestFleet.run { fleet in
            let release = TestRelease(sequence: 3)
            let missing = try await fleet.publish(release, upload: false)
            #expect(missing.status == .conflict)
            #expect(missing.errorCode == "conflict")
            #expect(Set(missing.object["missing"] as? [String] ?? []) == Set(release.files.map(\.sha256)))

            #expect(try await fleet.publish(release).status == .created)
            let same = try await fleet.publish(TestRelease(version: "9.0.0", sequence: 3))
            #expect(same.status == .conflict)
            #expect((same.object["message"] as? String)?.contains("sequence") == true)
            #expect(try await fleet.publish(TestRelease(sequence: 2)).status == .conflict)
            #expect(try await fleet.publish(TestRelease(sequence: 4)).status == .created)
        }
    }

    @Test func publishRefusesInvalidEnvelopes() async throws {
        try await TestFleet.run { fleet in
            let good = TestRelease(sequence: 1)
            for file in good.files { try await fleet.putBlob(file.bytes) }
            let envelope = good.envelope

            // Same content, not canonical: a space after the first colon.
            var spaced = envelope
            spaced.manifest = envelope.manifest.replacingOccurrences(of: #""channel":"#, with: #""channel": "#)
            let nonCanonical = try await fleet.send(.post, "/api/v1/admin/releases", encoding: spaced)
            #expect(nonCanonical.status == .badRequest)
            #expect((nonCanonical.object["message"] as? String)?.contains("canonical") == true)

            var badChannel = good
            badChannel.manifest.channel = "Stable"
            let invalid = try await fleet.send(.post, "/api/v1/admin/releases", encoding: badChannel.envelope)
            #expect(invalid.status == .badRequest)

            var reserved = good
            reserved.manifest.files[0].path = "boot.py"
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", encoding: reserved.envelope).status == .badRequest)

            var wrongSize = good
            wrongSize.manifest.files[0].size += 1
            let sized = try await fleet.send(.post, "/api/v1/admin/releases", encoding: wrongSize.envelope)
            #expect(sized.status == .badRequest)

            var unsigned = envelope
            unsigned.signatures = []
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", encoding: unsigned).status == .badRequest)
            var garbled = envelope
            garbled.signatures[0].sig = "not base64"
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", encoding: garbled).status == .badRequest)

            #expect(try await fleet.send(.post, "/api/v1/admin/releases", json: "not json").status == .badRequest)
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", json: #"{"manifest":5,"signatures":[]}"#).status == .badRequest)
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", json: #"{"manifest":"{}","signatures":[]}"#).status == .badRequest)

            let list = try await fleet.send(.get, "/api/v1/admin/releases")
            #expect((list.object["releases"] as? [Any])?.isEmpty == true)
        }
    }
}
