import AloftCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Tags, pins, held releases, unique versions, promotion's read, and rollouts over HTTP, with a clock the test sets.
@Suite struct RolloutAPITests {
    static let start = ReleaseManifest.date(fromTimestamp: "2026-12-02T12:00:00Z")!

    /// Ids dev-0, dev-1, … by their phase in rollout `rollout` of `phases`, the first `count` of each.
    static func ids(rollout: Int, phases: [Int], phase: Int?, count: Int) -> [String] {
        Array((0..<10_000).lazy.map { "dev-\($0)" }.filter { Cohort.phase(rollout: rollout, device: $0, phases: phases) == phase }.prefix(count))
    }

    @discardableResult
    func event(_ fleet: TestFleet, _ id: String, token: String, _ type: String, sequence: Int, version: String, reason: String? = nil) async throws
        -> TestResponse
    {
        let reasonJSON = reason.map { ",\"reason\":\"\($0)\"" } ?? ""
        let response = try await fleet.send(
            .post, "/api/v1/device/events", token: token,
            json: #"{"id":"\#(id)","type":"\#(type)","version":"\#(version)","sequence":\#(sequence)\#(reasonJSON)}"#)
        #expect(response.status == .noContent, "\(response.text)")
        return response
    }

    func decision(_ fleet: TestFleet, _ id: String) async throws -> [String: Any] {
        try #require(try await fleet.send(.get, "/api/v1/admin/devices/\(id)").object["decision"] as? [String: Any])
    }

    @Test func tagsAreAddedRemovedAndFilterTheList() async throws {
        try await TestFleet.run { fleet in
            let created = try await fleet.send(.post, "/api/v1/admin/devices", json: #"{"id":"a","channel":"stable","tags":["lab"]}"#)
            #expect(created.status == .created)
            _ = try await fleet.registerDevice("b", channel: "beta")
            let tagged = try await fleet.send(.post, "/api/v1/admin/devices/a/tags", json: #"{"add":["greenhouse","eu"],"remove":["lab"]}"#)
            #expect(tagged.status == .ok, "\(tagged.text)")
            #expect(tagged.object["tags"] as? [String] == ["eu", "greenhouse"])
            func listed(_ query: String) async throws -> [String] {
                let response = try await fleet.send(.get, "/api/v1/admin/devices\(query)")
                try #require(response.status == .ok, "\(response.text)")
                return (response.object["devices"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            }
            #expect(try await listed("") == ["a", "b"])
            #expect(try await listed("?tag=eu") == ["a"])
            #expect(try await listed("?tag=lab") == [])
            #expect(try await listed("?channel=beta") == ["b"])
            #expect(try await listed("?version=1.0.0") == [])
            for bad in ["?tag=-x", "?channel=UPPER", "?version=1.0"] {
                let response = try await fleet.send(.get, "/api/v1/admin/devices\(bad)")
                #expect(response.status == .badRequest, "\(bad): \(response.text)")
            }
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/a/tags", json: #"{"add":["bad tag"]}"#).status == .badRequest)
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/a/tags", json: #"{"add":"x"}"#).status == .badRequest)
            let many = (0..<33).map { "\"t\($0)\"" }.joined(separator: ",")
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/a/tags", json: #"{"add":[\#(many)]}"#).status == .badRequest)
            let missing = try await fleet.send(.post, "/api/v1/admin/devices/nobody/tags", json: #"{"add":["x"]}"#)
            #expect(missing.status == .notFound)
            #expect(try await fleet.send(.post, "/api/v1/admin/devices", json: #"{"id":"c","channel":"stable","tags":["a b"]}"#).status == .badRequest)
        }
    }

    @Test func enrolledDevicesGetTheEnrollmentsTagsAndTheirImages() async throws {
        try await TestFleet.run { fleet in
            let enrollment = try await fleet.send(.post, "/api/v1/admin/enrollments", json: #"{"name":"b1","channel":"stable","tags":["batch-1"]}"#)
            #expect(enrollment.status == .created)
            let secret = try #require(enrollment.object["secret"] as? String)
            let listed = try await fleet.send(.get, "/api/v1/admin/enrollments").object["enrollments"] as? [[String: Any]]
            #expect(listed?.first?["tags"] as? [String] == ["batch-1"])
            #expect(try await fleet.send(.post, "/api/v1/device/enroll", token: secret, json: #"{"id":"s1","tags":["eu"]}"#).status == .created)
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/s1").object["tags"] as? [String] == ["batch-1", "eu"])
            #expect(try await fleet.send(.post, "/api/v1/device/enroll", token: secret, json: #"{"id":"s2","tags":["e u"]}"#).status == .badRequest)
            #expect(try await fleet.send(.post, "/api/v1/admin/enrollments", json: #"{"name":"b2","channel":"stable","tags":["?"]}"#).status == .badRequest)
        }
    }

    @Test func aPinHoldsADeviceOnItsRelease() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("a")
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            try await fleet.publish(TestRelease(version: "1.1.0", sequence: 2, files: [TestRelease.File(path: "main.py", bytes: Array("v2".utf8))]))
            let pinned = try await fleet.send(.put, "/api/v1/admin/devices/a/pin", json: #"{"version":"1.0.0"}"#)
            #expect(pinned.status == .ok, "\(pinned.text)")
            #expect(pinned.object["pin"] as? String == "1.0.0")
            #expect(try await fleet.offeredSequence("a", token: token, sequence: 0, format: 2) == 1)
            #expect(try await fleet.offeredSequence("a", token: token, sequence: 1, format: 2) == nil)
            #expect(try await decision(fleet, "a")["why"] as? String == "pinned to 1.0.0")
            #expect(try await fleet.send(.put, "/api/v1/admin/devices/a/pin", json: #"{"version":"9.0.0"}"#).status == .notFound)
            #expect(try await fleet.send(.put, "/api/v1/admin/devices/a/pin", json: #"{"version":"nope"}"#).status == .badRequest)
            #expect(try await fleet.send(.put, "/api/v1/admin/devices/zz/pin", json: #"{"version":"1.0.0"}"#).status == .notFound)
            let unpinned = try await fleet.send(.delete, "/api/v1/admin/devices/a/pin")
            #expect(unpinned.status == .ok)
            #expect(unpinned.object["pin"] is NSNull)
            #expect(try await fleet.offeredSequence("a", token: token, sequence: 1, format: 2) == 2)
            #expect(try await fleet.send(.delete, "/api/v1/admin/devices/zz/pin").status == .notFound)
        }
    }

    @Test func versionsAreUniquePerChannel() async throws {
        try await TestFleet.run { fleet in
            #expect(try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1)).status == .created)
            let again = try await fleet.publish(TestRelease(version: "1.0.0", sequence: 2))
            #expect(again.status == .ok, "\(again.text)")
            #expect(again.object["alreadyPublished"] as? Bool == true)
            #expect(again.object["sequence"] as? Int == 1)
            let other = try await fleet.publish(TestRelease(version: "1.0.0", sequence: 3, files: [TestRelease.File(path: "main.py", bytes: Array("x".utf8))]))
            #expect(other.status == .conflict)
            #expect(other.object["message"] as? String == "channel 'stable' has version 1.0.0 already (sequence 1) with other files; publish these under a new version")
            // Only one release: nothing new is offered.
            let releases = try await fleet.send(.get, "/api/v1/admin/releases").object["releases"] as? [[String: Any]]
            #expect(releases?.count == 1)
            // Another channel may have the same version.
            #expect(try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1, channel: "beta")).status == .created)
        }
    }

    @Test func aReleaseIsReadBackForPromotion() async throws {
        try await TestFleet.run { fleet in
            let release = TestRelease(version: "2.0.0", sequence: 5, channel: "beta")
            try await fleet.publish(release)
            let read = try await fleet.send(.get, "/api/v1/admin/channels/beta/releases/2.0.0")
            #expect(read.status == .ok, "\(read.text)")
            #expect(read.object["sequence"] as? Int == 5)
            #expect(read.object["held"] as? Bool == false)
            let envelope = try #require(read.object["release"] as? [String: Any])
            #expect(envelope["manifest"] as? String == release.envelope.manifest)
            #expect(try await fleet.send(.get, "/api/v1/admin/channels/beta/releases/2.0.1").status == .notFound)
            #expect(try await fleet.send(.get, "/api/v1/admin/channels/stable/releases/2.0.0").status == .notFound)
            #expect(try await fleet.send(.get, "/api/v1/admin/channels/beta/releases/2.0").status == .badRequest)
            #expect(try await fleet.send(.get, "/api/v1/admin/channels/BETA/releases/2.0.0").status == .badRequest)
        }
    }

    @Test func aHeldReleaseIsOfferedOnlyThroughARollout() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("a")
            var held = TestRelease(version: "1.0.0", sequence: 1)
            try await fleet.publish(held)
            held = TestRelease(version: "1.1.0", sequence: 2, files: [TestRelease.File(path: "main.py", bytes: Array("held".utf8))])
            for file in held.files { try await fleet.putBlob(file.bytes) }
            try await fleet.putBlob(held.fileList)
            var publication = held.publication
            publication.held = true
            let published = try await fleet.send(.post, "/api/v1/admin/releases", encoding: publication)
            #expect(published.status == .created)
            #expect(published.object["held"] as? Bool == true)
            #expect(try await fleet.offeredSequence("a", token: token, sequence: 1, format: 2) == nil)
            #expect(try await decision(fleet, "a")["why"] as? String == "release 1.1.0 held until a rollout starts it")
            let listed = try await fleet.send(.get, "/api/v1/admin/devices?tag=none")
            #expect(listed.status == .ok)
            let started = try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"1.1.0"}"#)
            #expect(started.status == .created, "\(started.text)")
            #expect(try await fleet.offeredSequence("a", token: token, sequence: 1, format: 2) == 2)
        }
    }

    @Test func startingARolloutRefusesBadInput() async throws {
        try await TestFleet.run { fleet in
            // A device that has not checked in keeps the rollout running (a rollout with no devices completes at once).
            _ = try await fleet.registerDevice("a")
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"channel":"stable","version":"9.9.9"}"#, .notFound, "has no release 9.9.9"),
                (#"{"channel":"stable","version":"1.0.0","phases":[50,25]}"#, .badRequest, "cumulative percentages"),
                (#"{"channel":"stable","version":"1.0.0","phases":[0,100]}"#, .badRequest, "cumulative percentages"),
                (#"{"channel":"stable","version":"1.0.0","phases":[]}"#, .badRequest, "1-20 phases"),
                (#"{"channel":"stable","version":"1.0.0","maxFailures":"lots"}"#, .badRequest, "invalid failure limit"),
                (#"{"channel":"stable","version":"1.0.0","window":"whenever"}"#, .badRequest, "invalid maintenance window"),
                (#"{"channel":"stable","version":"1.0.0","minDevices":0}"#, .badRequest, "min-devices"),
                (#"{"channel":"stable","version":"1.0.0","soak":-1}"#, .badRequest, "soak"),
                (#"{"channel":"stable","version":"1.0.0","tags":["no way"]}"#, .badRequest, "invalid tag"),
                (#"{"channel":"stable","version":"1.0.0","boards":["esp[32]"]}"#, .badRequest, "invalid board pattern"),
                (#"{"channel":"Stable","version":"1.0.0"}"#, .badRequest, "invalid channel"),
                (#"{"channel":"stable"}"#, .badRequest, "missing field 'version'"),
            ]
            for (body, status, message) in cases {
                let response = try await fleet.send(.post, "/api/v1/admin/rollouts", json: body)
                #expect(response.status == status, "\(body): \(response.text)")
                #expect((response.object["message"] as? String ?? "").contains(message), "\(body): \(response.text)")
            }
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"1.0.0","manual":true}"#).status == .created)
            let second = try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"1.0.0"}"#)
            #expect(second.status == .conflict)
            #expect((second.object["message"] as? String)?.contains("abort it first") == true)
            #expect(try await fleet.send(.get, "/api/v1/admin/rollouts/99").status == .notFound)
            #expect(try await fleet.send(.get, "/api/v1/admin/rollouts/x").status == .badRequest)
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts/99/pause").status == .notFound)
            #expect(try await fleet.send(.get, "/api/v1/admin/rollouts?channel=NO").status == .badRequest)
        }
    }

    /// The whole life of a rollout over HTTP: canaries first, the phase done, the soak on the test's clock, a halt at the
    /// first rollback with its reason, and no offer after it.
    @Test func aRolloutAdvancesAfterItsSoakAndHaltsAtAFailure() async throws {
        let clock = TestClock(Self.start)
        try await TestFleet.run(clock: clock.read) { fleet in
            let phases = [10, 50, 100]
            let canaries = Self.ids(rollout: 1, phases: phases, phase: 0, count: 2)
            let second = Self.ids(rollout: 1, phases: phases, phase: 1, count: 2)
            let last = Self.ids(rollout: 1, phases: phases, phase: 2, count: 1)
            var tokens: [String: String] = [:]
            for id in canaries + second + last { tokens[id] = try await fleet.registerDevice(id) }
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            for id in tokens.keys { #expect(try await fleet.offeredSequence(id, token: tokens[id]!, sequence: 0, format: 2) == 1) }
            try await fleet.publish(TestRelease(version: "2.0.0", sequence: 2, files: [TestRelease.File(path: "main.py", bytes: Array("two".utf8))]))
            // The version was published before the rollout: stop everyone getting it with a rollout straight away.
            let started = try await fleet.send(
                .post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"2.0.0","phases":[10,50,100],"soak":3600,"maxFailures":"0"}"#)
            #expect(started.status == .created, "\(started.text)")
            #expect(started.object["id"] as? Int == 1)
            #expect(started.object["status"] as? String == "running")

            clock.advance(by: 10)
            for id in second + last { #expect(try await fleet.offeredSequence(id, token: tokens[id]!, sequence: 1, format: 2) == nil) }
            #expect(try await decision(fleet, second[0])["why"] as? String == "not in phase 1 (10%) of rollout 1 yet")
            for id in canaries { #expect(try await fleet.offeredSequence(id, token: tokens[id]!, sequence: 1, format: 2) == 2) }
            #expect(try await decision(fleet, canaries[0])["reason"] as? String == "rollout")
            for id in canaries {
                try await event(fleet, id, token: tokens[id]!, "downloading", sequence: 2, version: "2.0.0")
                try await event(fleet, id, token: tokens[id]!, "installed", sequence: 2, version: "2.0.0")
                try await event(fleet, id, token: tokens[id]!, "confirmed", sequence: 2, version: "2.0.0")
            }
            var status = try await fleet.send(.get, "/api/v1/admin/rollouts/1").object
            #expect(status["phase"] as? Int == 1)
            #expect(status["settledAt"] as? String == "2026-12-02T12:00:10Z")
            let first = try #require((status["phases"] as? [[String: Any]])?.first)
            #expect(first["confirmed"] as? Int == 2)
            #expect(first["devices"] as? Int == 2)

            // The soak holds phase 2 back for an hour, then a check-in starts it.
            clock.advance(by: 3500)
            #expect(try await fleet.offeredSequence(second[0], token: tokens[second[0]]!, sequence: 1, format: 2) == nil)
            clock.advance(by: 100)
            #expect(try await fleet.offeredSequence(second[0], token: tokens[second[0]]!, sequence: 1, format: 2) == 2)
            status = try await fleet.send(.get, "/api/v1/admin/rollouts/1").object
            #expect(status["phase"] as? Int == 2)

            // Its first rollback halts the rollout: the other device of phase 2 is not offered the release any more.
            try await event(fleet, second[0], token: tokens[second[0]]!, "installed", sequence: 2, version: "2.0.0")
            try await event(fleet, second[0], token: tokens[second[0]]!, "rolled_back", sequence: 2, version: "2.0.0", reason: "main.py raised OSError")
            status = try await fleet.send(.get, "/api/v1/admin/rollouts/1").object
            #expect(status["status"] as? String == "halted")
            #expect(status["haltReason"] as? String == "1 of 3 devices that tried failed or rolled back (limit 0): 1× main.py raised OSError")
            #expect((status["phases"] as? [[String: Any]])?[1]["rolledBack"] as? Int == 1)
            #expect(try await fleet.offeredSequence(second[1], token: tokens[second[1]]!, sequence: 1, format: 2) == nil)
            #expect((try await decision(fleet, second[1])["why"] as? String)?.hasPrefix("rollout 1 halted: 1 of 3 devices") == true)
            // Devices on it stay on it.
            #expect(try await fleet.offeredSequence(canaries[0], token: tokens[canaries[0]]!, sequence: 2, format: 2) == nil)
            // A halted rollout cannot be resumed or paused, only aborted.
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts/1/resume").status == .conflict)
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts/1/pause").status == .conflict)
            let aborted = try await fleet.send(.post, "/api/v1/admin/rollouts/1/abort")
            #expect(aborted.status == .ok)
            #expect(aborted.object["status"] as? String == "aborted")
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts/1/abort").status == .conflict)
            let list = try await fleet.send(.get, "/api/v1/admin/rollouts?channel=stable").object["rollouts"] as? [[String: Any]]
            #expect(list?.count == 1)
        }
    }

    @Test func aDeviceOfThePhaseOfferedDuringTheSoakStartsItAgain() async throws {
        let clock = TestClock(Self.start)
        try await TestFleet.run(clock: clock.read) { fleet in
            let phases = [50, 100]
            let canaries = Self.ids(rollout: 1, phases: phases, phase: 0, count: 2)
            let later = Self.ids(rollout: 1, phases: phases, phase: 1, count: 1)[0]
            var tokens: [String: String] = [:]
            for id in canaries + [later] { tokens[id] = try await fleet.registerDevice(id) }
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            let started = try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"1.0.0","phases":[50,100],"soak":3600}"#)
            #expect(started.status == .created)
            clock.advance(by: 1)
            #expect(try await fleet.offeredSequence(canaries[0], token: tokens[canaries[0]]!, format: 2) == 1)
            try await event(fleet, canaries[0], token: tokens[canaries[0]]!, "confirmed", sequence: 1, version: "1.0.0")
            #expect(try await fleet.send(.get, "/api/v1/admin/rollouts/1").object["settledAt"] as? String == "2026-12-02T12:00:01Z")
            // The other canary shows up during the soak and is offered the release: the phase is not done any more.
            clock.advance(by: 10)
            #expect(try await fleet.offeredSequence(canaries[1], token: tokens[canaries[1]]!, format: 2) == 1)
            #expect(try await fleet.send(.get, "/api/v1/admin/rollouts/1").object["settledAt"] is NSNull)
            clock.advance(by: 3600)
            #expect(try await fleet.offeredSequence(later, token: tokens[later]!, format: 2) == nil)
            try await event(fleet, canaries[1], token: tokens[canaries[1]]!, "confirmed", sequence: 1, version: "1.0.0")
            clock.advance(by: 3599)
            #expect(try await fleet.offeredSequence(later, token: tokens[later]!, format: 2) == nil)
            clock.advance(by: 1)
            #expect(try await fleet.offeredSequence(later, token: tokens[later]!, format: 2) == 1)
        }
    }

    @Test func pauseResumeAndManualPhases() async throws {
        let clock = TestClock(Self.start)
        try await TestFleet.run(clock: clock.read) { fleet in
            let phases = [50, 100]
            let canary = Self.ids(rollout: 1, phases: phases, phase: 0, count: 1)[0]
            let later = Self.ids(rollout: 1, phases: phases, phase: 1, count: 1)[0]
            let canaryToken = try await fleet.registerDevice(canary), laterToken = try await fleet.registerDevice(later)
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"1.0.0","phases":[50,100],"manual":true}"#).status == .created)
            let paused = try await fleet.send(.post, "/api/v1/admin/rollouts/1/pause")
            #expect(paused.object["status"] as? String == "paused")
            #expect(try await fleet.offeredSequence(canary, token: canaryToken, format: 2) == nil)
            #expect(try await decision(fleet, canary)["why"] as? String == "rollout 1 is paused")
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts/1/resume").object["status"] as? String == "running")
            // Running, phase not done: nothing to resume.
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts/1/resume").status == .conflict)
            #expect(try await fleet.offeredSequence(canary, token: canaryToken, format: 2) == 1)
            try await event(fleet, canary, token: canaryToken, "confirmed", sequence: 1, version: "1.0.0")
            clock.advance(by: 86_400)
            // Manual: the phase is done, but phase 2 waits for resume.
            #expect(try await fleet.offeredSequence(later, token: laterToken, format: 2) == nil)
            let resumed = try await fleet.send(.post, "/api/v1/admin/rollouts/1/resume")
            #expect(resumed.object["phase"] as? Int == 2)
            #expect(try await fleet.offeredSequence(later, token: laterToken, format: 2) == 1)
            try await event(fleet, later, token: laterToken, "confirmed", sequence: 1, version: "1.0.0")
            #expect(try await fleet.send(.get, "/api/v1/admin/rollouts/1").object["status"] as? String == "completed")
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts/1/pause").status == .conflict)
        }
    }

    @Test func outsideItsWindowADeviceIsToldWhenToComeBack() async throws {
        let clock = TestClock(Self.start)  // a Wednesday, 12:00 UTC
        try await TestFleet.run(pollInterval: 86_400, clock: clock.read) { fleet in
            let token = try await fleet.registerDevice("a")
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            let started = try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"1.0.0","window":"Mon-Fri 13:00-14:00 UTC"}"#)
            #expect(started.status == .created)
            let outside = try await fleet.checkIn("a", token: token, format: 2)
            #expect(outside.object["action"] as? String == "none")
            #expect(outside.object["poll"] as? Int == 3600)
            #expect(try await decision(fleet, "a")["why"] as? String
                == "outside the maintenance window of rollout 1 (Mon-Fri 13:00-14:00 UTC), next opens at 2026-12-02T13:00:00Z")
            // Half an hour on, the answer says so: "nothing to do" answers are encoded once per poll and kept.
            clock.advance(by: 1800)
            #expect(try await fleet.checkIn("a", token: token, format: 2).object["poll"] as? Int == 1800)
            #expect(try await fleet.checkIn("a", token: token, format: 2).object["poll"] as? Int == 1800)
            clock.advance(by: 1800)
            #expect(try await fleet.offeredSequence("a", token: token, format: 2) == 1)
        }
    }
}
