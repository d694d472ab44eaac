import AloftCore
import AloftServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Admin tokens, device token revocation and reissue, enrollments, and who may read what.
@Suite struct AccessControlTests {
    @Test func adminTokensAreCreatedListedUsedAndRevoked() async throws {
        try await TestFleet.run { fleet in
            let created = try await fleet.send(.post, "/api/v1/admin/tokens", json: #"{"name":"ci"}"#)
            #expect(created.status == .created)
            #expect(created.object["name"] as? String == "ci")
            let token = try #require(created.object["token"] as? String)
            #expect(token.hasPrefix("aloft_adm_") && token.count == "aloft_adm_".count + 43)

            // The new token does everything the bootstrap token does, metrics and token management included.
            #expect(try await fleet.send(.get, "/api/v1/admin/devices", token: token).status == .ok)
            #expect(try await fleet.send(.get, "/metrics", token: token).status == .ok)
            #expect(try await fleet.send(.post, "/api/v1/admin/tokens", token: token, json: #"{"name":"alice"}"#).status == .created)

            let list = try await fleet.send(.get, "/api/v1/admin/tokens")
            #expect(list.status == .ok)
            let tokens = try #require(list.object["tokens"] as? [[String: Any]])
            #expect(tokens.map { $0["name"] as? String } == ["alice", "ci"])
            #expect(tokens.allSatisfy { Set($0.keys) == ["name", "created", "revoked", "revokedAt"] })
            #expect(tokens[1]["revoked"] as? Bool == false && tokens[1]["revokedAt"] is NSNull)
            #expect((tokens[1]["created"] as? String)?.hasSuffix("Z") == true)
            #expect(!list.text.contains(token), "the token itself is never listed")

            let revoked = try await fleet.send(.delete, "/api/v1/admin/tokens/ci")
            #expect(revoked.status == .noContent)
            for uri in ["/api/v1/admin/devices", "/api/v1/admin/tokens", "/metrics"] {
                let refused = try await fleet.send(.get, uri, token: token)
                #expect(refused.status == .unauthorized && refused.errorCode == "unauthorized", "\(uri)")
            }
            #expect(try await fleet.send(.delete, "/api/v1/admin/tokens/ci").status == .noContent, "revoking again is fine")
            let after = try await fleet.send(.get, "/api/v1/admin/tokens").object["tokens"] as? [[String: Any]]
            #expect(after?.first { $0["name"] as? String == "ci" }?["revoked"] as? Bool == true)
            #expect(after?.first { $0["name"] as? String == "alice" }?["revoked"] as? Bool == false)
        }
    }

    @Test func adminTokenNamesAreCheckedAndUnique() async throws {
        try await TestFleet.run { fleet in
            #expect(try await fleet.send(.post, "/api/v1/admin/tokens", json: #"{"name":"ci"}"#).status == .created)
            let cases: [(String, HTTPResponse.Status)] = [
                (#"{"name":"ci"}"#, .conflict),
                (#"{"name":"bootstrap"}"#, .conflict),
                (#"{"name":"no spaces"}"#, .badRequest),
                (#"{"name":""}"#, .badRequest),
                (#"{"name":"x","admin":true}"#, .badRequest),
                (#"{"name":7}"#, .badRequest),
                (#"{}"#, .badRequest),
            ]
            for (body, status) in cases {
                let response = try await fleet.send(.post, "/api/v1/admin/tokens", json: body)
                #expect(response.status == status, "\(body): \(response.text)")
                #expect(response.errorCode == (status == .conflict ? "conflict" : "bad_request"))
            }
            #expect(try await fleet.send(.delete, "/api/v1/admin/tokens/nobody").status == .notFound)
            #expect(try await fleet.send(.delete, "/api/v1/admin/tokens/bad%20name").status == .badRequest)
        }
    }

    @Test func secretsOfOneKindAreRefusedWhereAnotherIsNeeded() async throws {
        try await TestFleet.run { fleet in
            let deviceToken = try await fleet.registerDevice("dev-1")
            let adminToken = try #require(try await fleet.send(.post, "/api/v1/admin/tokens", json: #"{"name":"ci"}"#).object["token"] as? String)
            let secret = try #require(
                try await fleet.send(.post, "/api/v1/admin/enrollments", json: #"{"name":"batch-1","channel":"stable"}"#).object["secret"] as? String)

            // Device API: only a device token.
            for token in [adminToken, TestFleet.adminToken, secret] {
                #expect(try await fleet.checkIn("dev-1", token: token).status == .unauthorized)
                let event = try await fleet.send(.post, "/api/v1/device/events", token: token, json: #"{"id":"dev-1","type":"failed"}"#)
                #expect(event.status == .unauthorized)
            }
            // Enrollment: only an enrollment secret.
            for token in [deviceToken, adminToken, TestFleet.adminToken] {
                let response = try await fleet.send(.post, "/api/v1/device/enroll", token: token, json: #"{"id":"new-1"}"#)
                #expect(response.status == .unauthorized && response.errorCode == "unauthorized")
            }
            // Nothing about the fleet is readable without an admin token.
            let readable = [
                "/api/v1/admin/devices", "/api/v1/admin/devices/dev-1", "/api/v1/admin/devices/dev-1/events", "/api/v1/admin/devices/dev-1/downloads",
                "/api/v1/admin/releases", "/api/v1/admin/channels/stable", "/api/v1/admin/tokens", "/api/v1/admin/enrollments", "/metrics",
            ]
            for uri in readable {
                for token in [nil, deviceToken, secret, "aloft_adm_guess"] as [String?] {
                    #expect(try await fleet.send(.get, uri, token: token).status == .unauthorized, "\(uri) with \(token ?? "no token")")
                }
                #expect(try await fleet.send(.get, uri, token: adminToken).status == .ok, "\(uri)")
            }
            // Blobs: a device or an admin, never an enrollment secret.
            let sha = try await fleet.putBlob(Array("x".utf8))
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: deviceToken).status == .ok)
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: adminToken).status == .ok)
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: secret).status == .unauthorized)
        }
    }

    @Test func aRevokedDeviceIsRefusedEverywhereUntilItGetsANewToken() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let other = try await fleet.registerDevice("dev-2")
            let sha = try await fleet.putBlob(Array("blob".utf8))
            #expect(try await fleet.checkIn("dev-1", token: token).status == .ok)

            #expect(try await fleet.send(.post, "/api/v1/admin/devices/dev-1/revoke").status == .noContent)
            #expect(try await fleet.checkIn("dev-1", token: token).status == .unauthorized)
            #expect(try await fleet.send(.post, "/api/v1/device/events", token: token, json: #"{"id":"dev-1","type":"failed"}"#).status == .unauthorized)
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token).status == .unauthorized)
            #expect(try await fleet.checkIn("dev-2", token: other).status == .ok, "other devices are untouched")
            let view = try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object
            #expect(view["revoked"] as? Bool == true)
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/dev-1/revoke").status == .noContent, "revoking again is fine")

            let reissued = try await fleet.send(.post, "/api/v1/admin/devices/dev-1/token")
            #expect(reissued.status == .ok)
            #expect(reissued.object["id"] as? String == "dev-1")
            let fresh = try #require(reissued.object["token"] as? String)
            #expect(fresh.hasPrefix("aloft_dev_") && fresh != token)
            #expect(try await fleet.checkIn("dev-1", token: fresh).status == .ok)
            #expect(try await fleet.checkIn("dev-1", token: token).status == .unauthorized, "the old token stays dead")
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object["revoked"] as? Bool == false)

            // A new token also replaces one that was never revoked.
            let replaced = try #require(try await fleet.send(.post, "/api/v1/admin/devices/dev-2/token").object["token"] as? String)
            #expect(try await fleet.checkIn("dev-2", token: other).status == .unauthorized)
            #expect(try await fleet.checkIn("dev-2", token: replaced).status == .ok)

            #expect(try await fleet.send(.post, "/api/v1/admin/devices/nobody/revoke").status == .notFound)
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/nobody/token").status == .notFound)
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/dev-1/revoke", token: fresh).status == .unauthorized)
        }
    }

    @Test func devicesEnrollThemselvesWithAnEnrollmentSecret() async throws {
        try await TestFleet.run { fleet in
            let created = try await fleet.send(.post, "/api/v1/admin/enrollments", json: #"{"name":"batch-1","channel":"beta"}"#)
            #expect(created.status == .created)
            #expect(created.object["name"] as? String == "batch-1" && created.object["channel"] as? String == "beta")
            let secret = try #require(created.object["secret"] as? String)
            #expect(secret.hasPrefix("aloft_enr_") && secret.count == "aloft_enr_".count + 43)

            let enrolled = try await fleet.send(.post, "/api/v1/device/enroll", token: secret, json: #"{"id":"sensor-0001"}"#)
            #expect(enrolled.status == .created, "\(enrolled.text)")
            #expect(enrolled.object["id"] as? String == "sensor-0001" && enrolled.object["channel"] as? String == "beta")
            let token = try #require(enrolled.object["token"] as? String)
            #expect(token.hasPrefix("aloft_dev_"))
            #expect(try await fleet.checkIn("sensor-0001", token: token).status == .ok)
            let device = try await fleet.send(.get, "/api/v1/admin/devices/sensor-0001").object
            #expect(device["channel"] as? String == "beta" && device["enrollment"] as? String == "batch-1")

            let again = try await fleet.send(.post, "/api/v1/device/enroll", token: secret, json: #"{"id":"sensor-0001"}"#)
            #expect(again.status == .conflict && again.errorCode == "conflict")
            for body in [#"{"id":"bad id"}"#, #"{"id":"x","channel":"stable"}"#, #"{}"#, "[]", ""] {
                #expect(try await fleet.send(.post, "/api/v1/device/enroll", token: secret, json: body).status == .badRequest, "\(body)")
            }

            let list = try await fleet.send(.get, "/api/v1/admin/enrollments")
            let enrollments = try #require(list.object["enrollments"] as? [[String: Any]])
            #expect(enrollments.count == 1 && enrollments[0]["revoked"] as? Bool == false && enrollments[0]["channel"] as? String == "beta")
            #expect(Set(enrollments[0].keys) == ["name", "channel", "created", "revoked", "revokedAt", "tags"])
            #expect(!list.text.contains(secret))

            #expect(try await fleet.send(.delete, "/api/v1/admin/enrollments/batch-1").status == .noContent)
            let refused = try await fleet.send(.post, "/api/v1/device/enroll", token: secret, json: #"{"id":"sensor-0002"}"#)
            #expect(refused.status == .unauthorized)
            #expect(try await fleet.checkIn("sensor-0001", token: token).status == .ok, "enrolled devices keep their tokens")
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/sensor-0002").status == .notFound)
            #expect(try await fleet.send(.delete, "/api/v1/admin/enrollments/nobody").status == .notFound)
        }
    }

    @Test func enrollmentNamesAndChannelsAreCheckedAndUnique() async throws {
        try await TestFleet.run { fleet in
            let first = try await fleet.send(.post, "/api/v1/admin/enrollments", json: #"{"name":"b1","channel":"stable"}"#)
            #expect(first.status == .created)
            let cases: [(String, HTTPResponse.Status)] = [
                (#"{"name":"b1","channel":"beta"}"#, .conflict),
                (#"{"name":"b2","channel":"Not_A_Channel"}"#, .badRequest),
                (#"{"name":"-b","channel":"stable"}"#, .badRequest),
                (#"{"name":"b3"}"#, .badRequest),
                (#"{"name":"b4","channel":"stable","limit":5}"#, .badRequest),
            ]
            for (body, status) in cases {
                let response = try await fleet.send(.post, "/api/v1/admin/enrollments", json: body)
                #expect(response.status == status, "\(body): \(response.text)")
            }
        }
    }
}
