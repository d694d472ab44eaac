import AloftAPI
import AloftCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Firmware over HTTP (docs/firmware.md): what a device says of its firmware at check-in, the step of an offer, events of
/// the firmware step in a rollout, and a release's firmware blobs at publish and download.
@Suite struct FirmwareAPITests {
    static let runningSHA = String(repeating: "1", count: 64)
    static let rejectedSHA = String(repeating: "2", count: 64)
    static let image = TestRelease.Firmware()

    /// The firmware fields of a 0.4.0 agent on an ESP32 OTA board that runs image `sha`, with `more` after them (a later
    /// member of the same name wins nowhere: JSON members are unique, so `more` adds, never overrides).
    static func fields(sha: String = runningSHA, state: String = "valid", rollback: String = "true", ota: String = "true", more: String = "") -> String {
        #""agent":"0.4.0","build":"ESP32_GENERIC-OTA","ota":\#(ota),"chip":"esp32","slot":1572864,"running":"ota_0","fw_state":"\#(state)","rollback":\#(rollback),"fw_sha256":"\#(sha)""#
            + more
    }

    func checkIn(_ fleet: TestFleet, _ id: String, token: String, sequence: Int = 1, micropython: String = "1.24.1", fields: String) async throws
        -> TestResponse
    {
        let version = sequence == 0 ? nil : "1.\(sequence - 1).0"
        let response = try await fleet.checkIn(id, token: token, sequence: sequence, version: version, micropython: micropython, format: 2, fields: fields)
        try #require(response.status == .ok, "\(response.text)")
        return response
    }

    func device(_ fleet: TestFleet, _ id: String) async throws -> [String: Any] {
        try await fleet.send(.get, "/api/v1/admin/devices/\(id)").object
    }

    @Test func checkInTakesTheFirmwareFieldsAndTheDeviceViewShowsThem() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            _ = try await checkIn(fleet, "dev-1", token: token, fields: Self.fields(state: "trial", more: #","fw_rejected":"\#(Self.rejectedSHA)""#))
            let firmware = try #require(try await device(fleet, "dev-1")["firmware"] as? [String: Any])
            #expect(firmware["build"] as? String == "ESP32_GENERIC-OTA" && firmware["chip"] as? String == "esp32")
            #expect(firmware["micropython"] as? String == "1.24.1" && firmware["ota"] as? Bool == true && firmware["slot"] as? Int == 1_572_864)
            #expect(firmware["running"] as? String == "ota_0" && firmware["state"] as? String == "trial" && firmware["rollback"] as? Bool == true)
            #expect(firmware["sha256"] as? String == Self.runningSHA && firmware["rejected"] as? String == Self.rejectedSHA)
            let listed = try #require(try await fleet.send(.get, "/api/v1/admin/devices").object["devices"] as? [[String: Any]])
            #expect((listed.first?["firmware"] as? [String: Any])?["state"] as? String == "trial")

            // Each field may be null, as any optional field; a board that is no ESP32 says `ota` false and nothing else.
            let nulls = #""build":null,"ota":false,"chip":null,"slot":null,"running":null,"fw_state":null,"rollback":null,"fw_sha256":null,"fw_rejected":null"#
            _ = try await checkIn(fleet, "dev-1", token: token, fields: nulls)
            let bare = try #require(try await device(fleet, "dev-1")["firmware"] as? [String: Any])
            #expect(bare["ota"] as? Bool == false && bare["build"] is NSNull && bare["rejected"] is NSNull)
            // An agent before 0.4.0 says nothing of its firmware: the view's firmware is null, not stale.
            _ = try await checkIn(fleet, "dev-1", token: token, fields: #""agent":"0.3.0""#)
            #expect(try await device(fleet, "dev-1")["firmware"] is NSNull)
        }
    }

    @Test func checkInRefusesEachBadFirmwareValueWithAJSONError() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            _ = try await checkIn(fleet, "dev-1", token: token, fields: Self.fields())
            let bad: [(String, String)] = [
                ("build", #""""#), ("build", #""ESP32 GENERIC""#), ("build", "\"\(String(repeating: "B", count: 49))\""), ("build", #""<b>""#),
                ("build", "7"), ("ota", #""yes""#), ("ota", "1"), ("chip", #""esp8266""#), ("chip", #""ESP32""#), ("chip", #""""#), ("slot", "-1"),
                ("slot", #""4096""#), ("slot", "1.5"), ("running", #""""#), ("running", #""ota-0""#), ("running", "\"\(String(repeating: "o", count: 17))\""),
                ("fw_state", #""pending""#), ("fw_state", #""VALID""#), ("rollback", #""true""#), ("rollback", "0"),
                ("fw_sha256", #""abc""#), ("fw_sha256", "\"\(String(repeating: "A", count: 64))\""), ("fw_rejected", "\"\(String(repeating: "g", count: 64))\""),
                ("fw_rejected", "[]"),
            ]
            // The document's schema is the contract: the server refuses what it refuses, and takes what it takes.
            let schema: JSONValue = ["$ref": .string(JSONSchema.componentPath(CheckInRequest.schemaName))]
            for (field, value) in bad {
                let body = #"{"id":"dev-1","sequence":0,"\#(field)":\#(value)}"#
                #expect(WireTypeTests.validator.errors(try JSONValue.parse(Array(body.utf8)), schema) != [], "the schema takes \(body)")
                let response = try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: body)
                #expect(response.status == .badRequest, "\(body): \(response.status)")
                let message = response.object["message"] as? String ?? ""
                // JSONDecoder says "malformed JSON" of a fraction where an integer goes, without the field (as for `sequence`).
                let named = value == "1.5" || message.contains(field)
                #expect(response.errorCode == "bad_request" && named && !message.contains("\n"), "\(body): \(response.text)")
            }
            // Every allowed character of each, at its longest.
            let longest = #""build":"\#(String(repeating: "Az09_-", count: 8))","running":"\#(String(repeating: "a_Z9", count: 4))","slot":0"#
            var good = [#"{"id":"dev-1","sequence":0,\#(longest)}"#, #"{"id":"dev-1","sequence":0,\#(Self.fields(more: #","fw_rejected":"\#(Self.rejectedSHA)""#))}"#]
            good += FirmwareImage.chips.map { #"{"id":"dev-1","sequence":0,"chip":"\#($0)"}"# }
            good += CheckInRequest.firmwareStates.map { #"{"id":"dev-1","sequence":0,"fw_state":"\#($0)"}"# }
            for body in good {
                #expect(WireTypeTests.validator.errors(try JSONValue.parse(Array(body.utf8)), schema) == [], "the schema refuses \(body)")
                #expect(try await fleet.send(.post, "/api/v1/device/checkin", token: token, json: body).status == .ok, "\(body)")
            }
        }
    }

    @Test func theOfferSaysWhenTheFirmwareGoesFirst() async throws {
        try await TestFleet.run { fleet in
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            let release = TestRelease(version: "2.0.0", sequence: 2, firmware: [Self.image])
            try #require(try await fleet.publish(release).status == .created)
            var tokens: [String: String] = [:]
            for id in ["other", "same", "trial", "no-ota", "old-agent", "no-rollback"] { tokens[id] = try await fleet.registerDevice(id) }

            // It runs another image: the firmware step, said in the answer and in the view.
            let first = try await checkIn(fleet, "other", token: tokens["other"]!, fields: Self.fields())
            #expect(first.object["action"] as? String == "update" && first.object["step"] as? String == "firmware", "\(first.text)")
            #expect(Set(first.object.keys) == ["action", "poll", "release", "step"])
            var decision = try #require(try await device(fleet, "other")["decision"] as? [String: Any])
            #expect(decision["offer"] as? String == "2.0.0" && decision["step"] as? String == "firmware")
            #expect(decision["why"] as? String == "offered 2.0.0, the newest release of the channel: firmware first (ESP32_GENERIC-OTA, MicroPython 1.26.0)")

            // It runs the release's image already: the files, no step.
            let same = try await checkIn(fleet, "same", token: tokens["same"]!, micropython: "1.26.0", fields: Self.fields(sha: Self.image.image.sha256))
            #expect(same.object["action"] as? String == "update" && same.object["step"] == nil, "\(same.text)")
            #expect(try await device(fleet, "same")["decision"].flatMap { ($0 as? [String: Any])?["step"] as? String } == "files")

            // Its firmware is on trial: nothing, whatever the channel has.
            let trial = try await checkIn(fleet, "trial", token: tokens["trial"]!, fields: Self.fields(state: "trial"))
            #expect(trial.text == #"{"action":"none","poll":300}"#)
            decision = try #require(try await device(fleet, "trial")["decision"] as? [String: Any])
            #expect(decision["reason"] as? String == "firmware-on-trial" && decision["offer"] is NSNull && decision["step"] is NSNull)

            // A board without an OTA table, and an agent before 0.4.0, take the files alone when they fit, and the view says why.
            let noOTA = try await checkIn(fleet, "no-ota", token: tokens["no-ota"]!, fields: Self.fields(ota: "false"))
            #expect(noOTA.object["action"] as? String == "update" && noOTA.object["step"] == nil)
            decision = try #require(try await device(fleet, "no-ota")["decision"] as? [String: Any])
            #expect(decision["step"] as? String == "files")
            #expect((decision["why"] as? String)?.hasSuffix("its files alone, not its firmware (no OTA partition table (flash an OTA build over USB once))") == true)
            let old = try await fleet.checkIn("old-agent", token: tokens["old-agent"]!, sequence: 1, version: "1.0.0", board: "ESP32_GENERIC-OTA", agent: "0.3.0", format: 2)
            #expect(old.object["action"] as? String == "update" && old.object["step"] == nil)
            #expect((try await device(fleet, "old-agent")["decision"] as? [String: Any])?["why"] as? String
                == "offered 2.0.0, the newest release of the channel: its files alone, not its firmware (the agent on it cannot update firmware (agent 0.3.0))")

            // A bootloader that does not roll back gets the firmware only of a release published to allow it.
            let strict = try await checkIn(fleet, "no-rollback", token: tokens["no-rollback"]!, fields: Self.fields(rollback: "false"))
            #expect(strict.object["action"] as? String == "update" && strict.object["step"] == nil)
            var allowed = TestRelease(version: "2.1.0", sequence: 3, firmware: [Self.image])
            allowed.firmwareWithoutRollback = true
            try #require(try await fleet.publish(allowed).status == .created)
            let allowing = try await checkIn(fleet, "no-rollback", token: tokens["no-rollback"]!, fields: Self.fields(rollback: "false"))
            #expect(allowing.object["step"] as? String == "firmware", "\(allowing.text)")
            let header = try JSONDecoder().decode(OfferedRelease.self, from: Data(allowing.body.readableBytesView)).release.parsedHeader()
            #expect(header.sequence == 3 && header.firmware == [Self.image.image])
            // Read back for promotion, which keeps it.
            let readBack = { (version: String) in try await fleet.send(.get, "/api/v1/admin/channels/stable/releases/\(version)").object }
            #expect(try await readBack("2.1.0")["firmwareWithoutRollback"] as? Bool == true)
            #expect(try await readBack("2.0.0")["firmwareWithoutRollback"] as? Bool == false)
        }
    }

    @Test func eventsOfTheFirmwareStepAreStoredAndMoveARolloutThatHaltsAtAFirmwareRollback() async throws {
        try await TestFleet.run { fleet in
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            try await fleet.publish(TestRelease(version: "2.0.0", sequence: 2, firmware: [Self.image]))
            let a = try await fleet.registerDevice("dev-a"), b = try await fleet.registerDevice("dev-b")
            // Published before the rollout: a rollout of it governs it from now on.
            let started = try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"2.0.0","maxFailures":"0"}"#)
            try #require(started.status == .created, "\(started.text)")
            for (id, token) in [("dev-a", a), ("dev-b", b)] {
                #expect(try await checkIn(fleet, id, token: token, fields: Self.fields()).object["step"] as? String == "firmware")
            }
            func event(_ id: String, _ token: String, _ type: String, step: String? = "firmware", reason: String? = nil) async throws -> TestResponse {
                let stepJSON = step.map { #","step":"\#($0)""# } ?? ""
                let reasonJSON = reason.map { #","reason":"\#($0)""# } ?? ""
                return try await fleet.send(
                    .post, "/api/v1/device/events", token: token,
                    json: #"{"id":"\#(id)","type":"\#(type)","version":"2.0.0","sequence":2\#(stepJSON)\#(reasonJSON)}"#)
            }
            func phase() async throws -> [String: Any] {
                try #require((try await fleet.send(.get, "/api/v1/admin/rollouts/1").object["phases"] as? [[String: Any]])?.first)
            }
            for type in ["downloading", "installed", "confirmed"] { #expect(try await event("dev-a", a, type).status == .noContent) }
            var counts = try await phase()
            #expect(counts["firmware"] as? Int == 1 && counts["confirmed"] as? Int == 0)
            let events = try #require(try await fleet.send(.get, "/api/v1/admin/devices/dev-a/events").object["events"] as? [[String: Any]])
            #expect(events.map { $0["step"] as? String } == ["firmware", "firmware", "firmware"])
            #expect((try await device(fleet, "dev-a")["lastEvent"] as? [String: Any])?["step"] as? String == "firmware")
            // Its firmware confirmed, it runs the new image: the same release again, now its files.
            let files = try await checkIn(fleet, "dev-a", token: a, micropython: "1.26.0", fields: Self.fields(sha: Self.image.image.sha256))
            #expect(files.object["action"] as? String == "update" && files.object["step"] == nil)
            #expect(try await event("dev-a", a, "downloading", step: nil).status == .noContent)
            counts = try await phase()
            #expect(counts["firmware"] as? Int == 0 && counts["downloading"] as? Int == 1)
            #expect(try await fleet.send(.get, "/api/v1/admin/rollouts/1").object["status"] as? String == "running")

            // A step other than firmware is refused, as any bad value.
            for step in [#""files""#, #""FIRMWARE""#, "1", "true"] {
                let response = try await fleet.send(
                    .post, "/api/v1/device/events", token: b, json: #"{"id":"dev-b","type":"failed","version":"2.0.0","sequence":2,"step":\#(step)}"#)
                #expect(response.status == .badRequest && response.errorCode == "bad_request", "\(step): \(response.text)")
                #expect((response.object["message"] as? String)?.contains("step") == true, "\(step): \(response.text)")
            }
            // The bootloader rolled dev-b's firmware back: a failure like any, at the limit of 0.
            #expect(try await event("dev-b", b, "installed").status == .noContent)
            #expect(try await event("dev-b", b, "rolled_back", reason: "firmware ESP32_GENERIC-OTA rolled back by the bootloader").status == .noContent)
            let rollout = try await fleet.send(.get, "/api/v1/admin/rollouts/1").object
            #expect(rollout["status"] as? String == "halted")
            #expect(rollout["haltReason"] as? String
                == "1 of 2 devices that tried failed or rolled back (limit 0): 1× firmware ESP32_GENERIC-OTA rolled back by the bootloader")
            #expect(try await phase()["rolledBack"] as? Int == 1)
        }
    }

    @Test func publishRefusesFirmwareWhoseBlobIsMissingOrAnotherSize() async throws {
        try await TestFleet.run { fleet in
            let release = TestRelease(version: "2.0.0", sequence: 2, firmware: [Self.image])
            for file in release.files { try await fleet.putBlob(file.bytes) }
            try await fleet.putBlob(release.fileList)
            let missing = try await fleet.publish(release, upload: false)
            #expect(missing.status == .conflict && missing.errorCode == "conflict", "\(missing.text)")
            #expect(missing.object["missing"] as? [String] == [Self.image.image.sha256])
            #expect(missing.object["message"] as? String == "upload the 1 missing blob(s) before publishing (the firmware of ESP32_GENERIC-OTA among them)")

            // The manifest says more bytes than the blob has.
            try await fleet.putBlob(Self.image.bytes)
            var short = release
            short.manifest.firmware?[0].size = Self.image.bytes.count + 1
            let refused = try await fleet.publish(short, upload: false)
            #expect(refused.status == .badRequest && refused.errorCode == "bad_request", "\(refused.text)")
            #expect(refused.object["message"] as? String
                == "firmware ESP32_GENERIC-OTA says \(Self.image.bytes.count + 1) bytes but blob \(Self.image.image.sha256) has \(Self.image.bytes.count)")
            #expect((try await fleet.send(.get, "/api/v1/admin/releases").object["releases"] as? [Any])?.isEmpty == true)

            // With its blob, it is published and listed with its images; the same again is a no-op, other firmware a conflict.
            #expect(try await fleet.publish(release, upload: false).status == .created)
            let listed = try #require((try await fleet.send(.get, "/api/v1/admin/releases").object["releases"] as? [[String: Any]])?.first)
            let images = try #require(listed["firmware"] as? [[String: Any]])
            #expect(images.count == 1 && images[0]["build"] as? String == "ESP32_GENERIC-OTA" && images[0]["micropython"] as? String == "1.26.0")
            #expect(images[0]["size"] as? Int == 4096 && images[0]["sha256"] as? String == Self.image.image.sha256)
            #expect(try await fleet.publish(release, upload: false).object["alreadyPublished"] as? Bool == true)
            let otherImage = TestRelease.Firmware(seed: 99)
            try await fleet.putBlob(otherImage.bytes)
            var other = TestRelease(version: "2.0.0", sequence: 3, firmware: [otherImage])
            other.manifest.sequence = 3
            let clash = try await fleet.publish(other, upload: false)
            #expect(clash.status == .conflict && clash.object["message"] as? String
                == "channel 'stable' has version 2.0.0 already (sequence 2) with other firmware; publish these under a new version", "\(clash.text)")
        }
    }

    @Test func aFirmwareSizedBlobIsServedWithRange() async throws {
        try await TestFleet.run { fleet in
            let big = TestRelease.Firmware(size: 1_500_000, seed: 15)
            var release = TestRelease(version: "2.0.0", sequence: 1, firmware: [big])
            release.firmwareWithoutRollback = true
            #expect(try await fleet.publish(release).status == .created)
            let token = try await fleet.registerDevice("dev-1")
            let path = "/api/v1/blobs/\(big.image.sha256)"
            let whole = try await fleet.send(.get, path, token: token, headers: [.acceptEncoding: "deflate"])
            #expect(whole.status == .ok && whole.bytes == big.bytes, "incompressible, so sent raw")
            // A resumed download: the rest from a byte past the first megabyte, then a middle part.
            let rest = try await fleet.send(.get, path, token: token, headers: [.range: "bytes=1048576-"])
            #expect(rest.status == .partialContent)
            #expect(rest.headers[.contentRange] == "bytes 1048576-1499999/1500000")
            #expect(rest.bytes == Array(big.bytes[1_048_576...]))
            let middle = try await fleet.send(.get, path, token: token, headers: [.range: "bytes=700000-700511"])
            #expect(middle.status == .partialContent && middle.bytes == Array(big.bytes[700_000...700_511]))
            #expect(try await fleet.send(.get, path, token: token, headers: [.range: "bytes=1500000-"]).status == .rangeNotSatisfiable)
        }
    }
}
