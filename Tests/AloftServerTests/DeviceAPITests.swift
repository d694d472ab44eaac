import AloftCore
import AloftServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct DeviceAPITests {
    @Test func checkInAnswersNoneWithoutAManifest() async throws {
        try await TestFleet.run(pollInterval: 120) { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let response = try await fleet.checkIn("dev-1", token: token)
            #expect(response.status == .ok)
            #expect(response.text == #"{"action":"none","poll":120}"#)
        }
    }

    @Test func checkInOffersTheNewestReleaseUnchanged() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            let newest = TestRelease(version: "1.1.0", sequence: 2)
            try await fleet.publish(newest)

            // An agent before 0.3.0 says no format: it gets the legacy envelope, byte for byte, and the zlib map.
            let response = try await fleet.checkIn("dev-1", token: token, sequence: 1, version: "1.0.0")
            #expect(response.status == .ok)
            let object = response.object
            #expect(object["action"] as? String == "update")
            #expect(object["poll"] as? Int == 300)
            let release = try #require(object["release"] as? [String: Any])
            #expect(release["manifest"] as? String == newest.legacyEnvelope.manifest)
            let signatures = try #require(release["signatures"] as? [[String: Any]])
            #expect(signatures.first?["keyid"] as? String == TestFleet.signingKey.publicKey.keyID)
            // The device can verify what it got with the key it trusts.
            let envelope = try JSONDecoder().decode(OfferedRelease.self, from: Data(response.body.readableBytesView)).release
            #expect(envelope == newest.legacyEnvelope)
            #expect(try envelope.verifiedLegacy(trusting: [TestFleet.signingKey.publicKey]) == newest.manifest)
            #expect(Set(object.keys) == ["action", "poll", "release", "zlib"])

            // Only the compressible file has a zlib form.
            let zlib = try #require(object["zlib"] as? [String: Int])
            let mainPy = newest.files.first { $0.path == "main.py" }!
            #expect(Set(zlib.keys) == [mainPy.sha256])
            #expect(zlib[mainPy.sha256]! < mainPy.bytes.count)

            let upToDate = try await fleet.checkIn("dev-1", token: token, sequence: 2, version: "1.1.0")
            #expect(upToDate.object["action"] as? String == "none")
            // A device ahead of the server (e.g. reflashed elsewhere) is left alone.
            #expect(try await fleet.checkIn("dev-1", token: token, sequence: 9).object["action"] as? String == "none")
            // A device that rolled back from sequence 2 is not offered it again, only something newer.
            #expect(try await fleet.checkIn("dev-1", token: token, sequence: 1, rejected: 2).object["action"] as? String == "none")
            try await fleet.publish(TestRelease(version: "1.2.0", sequence: 3))
            let newer = try await fleet.checkIn("dev-1", token: token, sequence: 1, rejected: 2)
            #expect(newer.object["action"] as? String == "update")
            #expect(try await fleet.checkIn("dev-1", token: token, sequence: 1, rejected: -1).status == .badRequest)
        }
    }

    @Test func aReleaseThatDoesNotFitTheDevicesFreeFlashIsNotOfferedAndItsPageSaysWhy() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let v1 = TestRelease(version: "1.0.0", sequence: 1)
            try await fleet.publish(v1)
            // 1.1.0 adds a 600 KB asset in a new folder and changes main.py.
            var files = v1.files.filter { $0.path != "main.py" }
            files.append(TestRelease.File(path: "main.py", bytes: Array("print('v2')\n".utf8)))
            files.append(TestRelease.File(path: "www/img/map.png", bytes: randomBytes(600_000, seed: 7)))
            let v2 = TestRelease(version: "1.1.0", sequence: 2, files: files.sorted { $0.path < $1.path })
            try await fleet.publish(v2)
            let need = FlashNeed.atCheckIn(from: v1.manifest.files, to: v2.manifest.files, agentOnBoard: [])
            #expect(need > 600_000 && need < 700_000, "\(need)")

            for format in [1, 2] {
                let short = try await fleet.checkIn("dev-1", token: token, sequence: 1, version: "1.0.0", format: format, free: need - 1)
                #expect(short.object["action"] as? String == "none", "format \(format): \(short.text)")
                let page = try await fleet.send(.get, "/api/v1/admin/devices/dev-1")
                let decision = try #require(page.object["decision"] as? [String: Any], "\(page.text)")
                #expect(decision["reason"] as? String == "unfit", "\(page.text)")
                #expect(decision["why"] as? String == "1.1.0 does not fit it: needs \((need + 999) / 1000) KB of flash, has \((need - 1) / 1000) KB")
                // With the room it needs, to the byte, it is offered; the agent still checks for itself.
                let room = try await fleet.checkIn("dev-1", token: token, sequence: 1, version: "1.0.0", format: format, free: need)
                #expect(room.object["action"] as? String == "update", "format \(format): \(room.text)")
            }
            // A device on nothing yet needs room for the whole release; short of it, it gets the older one that fits.
            let first = FlashNeed.atCheckIn(from: [], to: v2.manifest.files, agentOnBoard: [])
            #expect(first > need)
            func offered(free: Int) async throws -> String? {
                let answer = try await fleet.checkIn("dev-1", token: token, sequence: 0, format: 2, free: free)
                let release = try #require(answer.object["release"] as? [String: Any], "\(answer.text)")
                return try JSONDecoder().decode(SignedRelease.self, from: JSONSerialization.data(withJSONObject: release)).parsedHeader().version.description
            }
            #expect(try await offered(free: first - 1) == "1.0.0")
            #expect(try await offered(free: first) == "1.1.0")
        }
    }

    @Test func publishAndRolloutsNameTheDevicesShortOfFlash() async throws {
        try await TestFleet.run { fleet in
            let v1 = TestRelease(version: "1.0.0", sequence: 1)
            try await fleet.publish(v1)
            var files = v1.files
            files.append(TestRelease.File(path: "www/img/map.png", bytes: randomBytes(600_000, seed: 8)))
            let v2 = TestRelease(version: "1.1.0", sequence: 2, files: files.sorted { $0.path < $1.path })
            let need = FlashNeed.atCheckIn(from: v1.manifest.files, to: v2.manifest.files, agentOnBoard: [])
            // Short of room, with room, short but revoked; and one that never reported its flash.
            for (id, free, sequence) in [("a-short", need - 4096, 1), ("b-room", need, 1), ("e-revoked", 1000, 1)] {
                let token = try await fleet.registerDevice(id)
                #expect(try await fleet.checkIn(id, token: token, sequence: sequence, format: 2, free: free).status == .ok)
            }
            _ = try await fleet.registerDevice("c-silent")
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/e-revoked/revoke").status == .noContent)
            let published = try await fleet.publish(v2)
            let short = try #require(published.object["shortOfFlash"] as? [String: Any], "published: \(published.status) \(published.text)")
            #expect(short["count"] as? Int == 1)
            let listed = try #require(short["devices"] as? [[String: Any]])
            #expect(listed.count == 1 && listed[0]["id"] as? String == "a-short" && listed[0]["need"] as? Int == need && listed[0]["free"] as? Int == need - 4096)

            // A rollout says the same of its target, at start and when shown; a target without the device has none short, and
            // a device already on the release is not short of anything.
            let current = try await fleet.registerDevice("d-current")
            #expect(try await fleet.checkIn("d-current", token: current, sequence: 2, format: 2, free: 1000).status == .ok)
            for id in ["a-short", "d-current"] {
                #expect(try await fleet.send(.post, "/api/v1/admin/devices/\(id)/tags", json: #"{"add":["north"]}"#).status == .ok)
            }
            let started = try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"1.1.0","tags":["north"]}"#)
            #expect(started.status == .created, "\(started.text)")
            #expect((started.object["shortOfFlash"] as? [String: Any])?["count"] as? Int == 1, "\(started.text)")
            let shown = try await fleet.send(.get, "/api/v1/admin/rollouts/1")
            #expect((shown.object["shortOfFlash"] as? [String: Any])?["count"] as? Int == 1, "\(shown.text)")
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts/1/abort").status == .ok)
            let south = try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"1.1.0","tags":["south"]}"#)
            #expect((south.object["shortOfFlash"] as? [String: Any])?["count"] as? Int == 0, "\(south.text)")
        }
    }

    @Test func aFormat2DeviceGetsTheFormat2EnvelopeAndNoZlibMap() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let release = TestRelease(version: "1.0.0", sequence: 1)
            try await fleet.publish(release)

            let response = try await fleet.checkIn("dev-1", token: token, format: 2)
            #expect(response.status == .ok)
            #expect(Set(response.object.keys) == ["action", "poll", "release"], "\(response.text)")
            let offered = try JSONDecoder().decode(OfferedRelease.self, from: Data(response.body.readableBytesView)).release
            #expect(offered == release.envelope)
            let header = try offered.verified(trusting: [TestFleet.signingKey.publicKey])
            #expect(header == release.manifest.header)
            // The file list is a blob like any other; with it the device has the whole release.
            let list = try await fleet.send(.get, "/api/v1/blobs/\(header.files.sha256)", token: token)
            #expect(list.status == .ok)
            #expect(try header.release(fileList: list.bytes) == release.manifest)
            #expect(try await fleet.offeredSequence("dev-1", token: token, format: 2) == 1)
            #expect(try await fleet.offeredSequence("dev-1", token: token, sequence: 1, format: 2) == nil)
            // The size of the answer does not grow with the release.
            var big = TestRelease(
                version: "2.0.0", sequence: 2, files: (0..<300).map { TestRelease.File(path: "lib/m\($0).py", bytes: Array("x = \($0)\n".utf8)) })
            big.legacy = false  // more than format 1's 256 files
            try #require(try await fleet.publish(big).status == .created)
            let bigAnswer = try await fleet.checkIn("dev-1", token: token, sequence: 1, format: 2)
            #expect(bigAnswer.body.readableBytes < 1024, "\(bigAnswer.body.readableBytes)")
        }
    }

    @Test func aFormat1DeviceIsOfferedOnlyReleasesWithALegacyEnvelope() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            try await fleet.publish(TestRelease(version: "1.1.0", sequence: 2))
            var modern = TestRelease(version: "2.0.0", sequence: 3)
            modern.legacy = false
            let published = try await fleet.publish(modern)
            #expect(published.status == .created && published.object["legacy"] as? Bool == false, "\(published.text)")

            // The format-1 device skips 3 and gets the newest release it can read; the format-2 device gets 3.
            #expect(try await fleet.offeredSequence("dev-1", token: token) == 2)
            #expect(try await fleet.offeredSequence("dev-1", token: token, format: 1) == 2)
            #expect(try await fleet.offeredSequence("dev-1", token: token, format: 2) == 3)
            #expect(try await fleet.offeredSequence("dev-1", token: token, sequence: 2) == nil)
            #expect(try await fleet.offeredSequence("dev-1", token: token, sequence: 2, format: 2) == 3)
            // Rejected counts the same in both formats.
            #expect(try await fleet.offeredSequence("dev-1", token: token, sequence: 1, rejected: 2) == nil)
            #expect(try await fleet.offeredSequence("dev-1", token: token, sequence: 1, rejected: 2, format: 2) == 3)
            #expect(try await fleet.offeredSequence("dev-1", token: token, sequence: 1, rejected: 3, format: 2) == nil)
            // Compatibility and a newer legacy release: a board it does not fit falls back to the one it does.
            try await fleet.publish(TestRelease(version: "2.1.0", sequence: 4, compat: Compatibility(boards: ["rp2"])))
            #expect(try await fleet.offeredSequence("dev-1", token: token, board: "rp2") == 4)
            #expect(try await fleet.offeredSequence("dev-1", token: token, board: "esp32") == 2)
            #expect(try await fleet.offeredSequence("dev-1", token: token, board: "esp32", format: 2) == 3)
        }
    }

    @Test func checkInRefusesAnUnknownFormat() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            for value in ["0", "3", "-1", "\"2\"", "true"] {
                let response = try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: #"{"id":"dev-1","sequence":0,"format":\#(value)}"#)
                #expect(response.status == .badRequest, "\(value): \(response.text)")
                #expect((response.object["message"] as? String)?.contains("format") == true, "\(value): \(response.text)")
            }
            for value in ["1", "2", "null"] {
                let response = try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: #"{"id":"dev-1","sequence":0,"format":\#(value)}"#)
                #expect(response.status == .ok, "\(value): \(response.text)")
            }
        }
    }

    @Test func checkInRecordsWhatTheDeviceSaid() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            _ = try await fleet.checkIn("dev-1", token: token, sequence: 4, version: "1.4.0", board: "rp2", micropython: "1.22.0")
            let device = try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object
            #expect(device["board"] as? String == "rp2")
            #expect(device["micropython"] as? String == "1.22.0")
            #expect(device["version"] as? String == "1.4.0")
            #expect(device["sequence"] as? Int == 4)
            let lastSeen = try #require(device["lastSeen"] as? String)
            #expect(lastSeen.count == 20 && lastSeen.hasSuffix("Z"))
            #expect(device["agent"] is NSNull, "an agent that does not say its version")
        }
    }

    @Test func checkInRecordsTheAgentVersion() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let response = try await fleet.checkIn("dev-1", token: token, agent: "0.2.0")
            #expect(response.status == .ok, "\(response.text)")
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object["agent"] as? String == "0.2.0")
            let listed = try #require(try await fleet.send(.get, "/api/v1/admin/devices").object["devices"] as? [[String: Any]])
            #expect(listed.first?["agent"] as? String == "0.2.0")

            // Every allowed character, at the longest allowed length.
            let longest = "1.0.0-rc_1+Build.AZaz09" + String(repeating: "9", count: 9)
            #expect(longest.count == 32)
            #expect(try await fleet.checkIn("dev-1", token: token, agent: longest).status == .ok)
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object["agent"] as? String == longest)

            // Like board and micropython, the field says what the device runs now: a check-in without it clears it.
            let minimal = try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: #"{"id":"dev-1","sequence":0}"#)
            #expect(minimal.status == .ok)
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object["agent"] is NSNull)
        }
    }

    @Test func checkInRefusesABadAgentVersion() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            _ = try await fleet.checkIn("dev-1", token: token, agent: "0.1.0")
            let bad = [
                #""""#, "\"\(String(repeating: "1", count: 33))\"", #""0.2.0 beta""#, #""0.2/0""#, #""0.2.0\n""#, #""ü""#, #""<b>""#,
                "0.2", "2", "true", #"["0.2.0"]"#, #"{"v":"0.2.0"}"#,
            ]
            for value in bad {
                let body = #"{"id":"dev-1","sequence":0,"agent":\#(value)}"#
                let response = try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: body)
                #expect(response.status == .badRequest, "\(body): \(response.status)")
                #expect(response.errorCode == "bad_request" && (response.object["message"] as? String)?.contains("agent") == true, "\(response.text)")
            }
            // Nothing of a refused check-in is stored.
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object["agent"] as? String == "0.1.0")
        }
    }

    @Test func checkInRefusesBadInputAndOtherDevices() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            _ = try await fleet.registerDevice("dev-2")
            let other = try await fleet.checkIn("dev-2", token: token)
            #expect(other.status == .forbidden)
            #expect(other.errorCode == "forbidden")

            let bodies = [
                #"{"id":"dev-1","sequence":"3"}"#,
                #"{"id":"dev-1","sequence":-1}"#,
                #"{"id":"dev-1","sequence":1.5}"#,
                #"{"id":"dev-1"}"#,
                #"{"id":"dev-1","sequence":0,"version":"not-semver"}"#,
                #"{"id":"dev-1","sequence":0,"board":"\#(String(repeating: "b", count: 129))"}"#,
                #"{"id":"dev-1","sequence":0,"free":-5}"#,
                #"{"id":"dev-1","#,
                "[]",
            ]
            for body in bodies {
                let response = try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.errorCode == "bad_request")
            }
            let minimal = try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: #"{"id":"dev-1","sequence":0}"#)
            #expect(minimal.status == .ok)

            #expect(try await fleet.checkIn("dev-1", token: "aloft_dev_wrong").status == .unauthorized)
            #expect(try await fleet.checkIn("dev-1", token: TestFleet.adminToken).status == .unauthorized)
            let anonymous = try await fleet.send(.post, "/api/v1/device/checkin", token: nil, json: #"{"id":"dev-1","sequence":0}"#)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
        }
    }

    @Test func eventsAreRecordedAndShownOnTheDevice() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let downloading = try await fleet.send(
                .post, "/api/v1/device/events", token: token, json: #"{"id":"dev-1","type":"downloading","version":"1.1.0","sequence":4}"#
            )
            #expect(downloading.status == .noContent)
            #expect(downloading.body.readableBytes == 0)
            var device = try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object
            var lastEvent = try #require(device["lastEvent"] as? [String: Any])
            #expect(lastEvent["type"] as? String == "downloading")
            #expect(lastEvent["reason"] is NSNull)
            #expect(device["sequence"] as? Int == 0)

            let failed = try await fleet.send(
                .post, "/api/v1/device/events", token: token,
                json: #"{"id":"dev-1","type":"failed","version":"1.1.0","sequence":4,"reason":"sha256 mismatch for main.py"}"#
            )
            #expect(failed.status == .noContent)
            let installed = try await fleet.send(
                .post, "/api/v1/device/events", token: token, json: #"{"id":"dev-1","type":"installed","version":"1.1.0","sequence":4}"#
            )
            #expect(installed.status == .noContent)

            device = try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object
            lastEvent = try #require(device["lastEvent"] as? [String: Any])
            #expect(lastEvent["type"] as? String == "installed")
            #expect(lastEvent["sequence"] as? Int == 4)
            // events are history; only check-ins say what the device runs (a queued `installed` can arrive after a rollback)
            #expect(device["version"] is NSNull)
            #expect(device["sequence"] as? Int == 0)
            let listed = try await fleet.send(.get, "/api/v1/admin/devices").object["devices"] as? [[String: Any]]
            #expect((listed?.first?["lastEvent"] as? [String: Any])?["type"] as? String == "installed")

            let events = try #require(try await fleet.send(.get, "/api/v1/admin/devices/dev-1/events").object["events"] as? [[String: Any]])
            #expect(events.map { $0["type"] as? String } == ["installed", "failed", "downloading"])
            #expect(events[1]["reason"] as? String == "sha256 mismatch for main.py")
            #expect((events[0]["at"] as? String)?.hasSuffix("Z") == true)
            let limited = try await fleet.send(.get, "/api/v1/admin/devices/dev-1/events?limit=1").object["events"] as? [Any]
            #expect(limited?.count == 1)
        }
    }

    @Test func eventsRefuseBadInputAndOtherDevices() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            _ = try await fleet.registerDevice("dev-2")
            let other = try await fleet.send(.post, "/api/v1/device/events", token: token, json: #"{"id":"dev-2","type":"failed"}"#)
            #expect(other.status == .forbidden)

            let longReason = String(repeating: "r", count: 513)
            let bodies = [
                #"{"id":"dev-1","type":"exploded"}"#,
                #"{"id":"dev-1","type":"installed"}"#,
                #"{"id":"dev-1","type":"failed","reason":"\#(longReason)"}"#,
                #"{"id":"dev-1","type":"failed","sequence":"4"}"#,
                #"{"id":"dev-1","type":"failed","sequence":0}"#,
                #"{"id":"dev-1"}"#,
                "{",
            ]
            for body in bodies {
                let response = try await fleet.send(.post, "/api/v1/device/events", token: token, json: body)
                #expect(response.status == .badRequest, "\(body)")
            }
            let fine = try await fleet.send(
                .post, "/api/v1/device/events", token: token, json: #"{"id":"dev-1","type":"failed","reason":"no network"}"#)
            #expect(fine.status == .noContent)
            let events = try await fleet.send(.get, "/api/v1/admin/devices/dev-1/events").object["events"] as? [[String: Any]]
            #expect(events?.count == 1)
            #expect(events?.first?["version"] is NSNull)
        }
    }
}
