import Foundation
import Testing

@testable import AloftCore

/// ReleaseSelection: which release a device is offered, and in which format.
@Suite struct SelectionTests {
    func device(_ sequence: Int = 0, format: Int = 1, rejected: Int? = nil, board: String = "esp32") -> DeviceFacts {
        DeviceFacts(sequence: sequence, board: board, micropython: "1.22.0", rejected: rejected, format: format)
    }

    @Test func picksTheNewestCompatibleNewerRelease() {
        var old = sampleManifest(sequence: 1); old.compat = Compatibility()
        var mid = sampleManifest(sequence: 2); mid.compat = Compatibility(boards: ["*"], micropython: "1.20")
        var new = sampleManifest(sequence: 3); new.compat = Compatibility(boards: ["esp32*"])
        let all = [new, old, mid].map { $0.candidate() }
        for format in [1, 2] {
            #expect(ReleaseSelection.target(for: DeviceFacts(sequence: 0, board: "esp32", micropython: "1.22.0", format: format), among: all)
                == ReleaseOffer(sequence: 3, format: format))
            #expect(ReleaseSelection.target(for: DeviceFacts(sequence: 0, board: "rp2", micropython: "1.22.0", format: format), among: all)?.sequence == 2)
            #expect(ReleaseSelection.target(for: DeviceFacts(sequence: 0, board: "rp2", micropython: "1.19.0", format: format), among: all)?.sequence == 1)
            #expect(ReleaseSelection.target(for: DeviceFacts(sequence: 2, board: "rp2", micropython: "1.22.0", format: format), among: all) == nil)
            #expect(ReleaseSelection.target(for: DeviceFacts(sequence: 3, board: "esp32", micropython: "1.22.0", format: format), among: all) == nil)
        }
        #expect(ReleaseSelection.target(for: DeviceFacts(sequence: 0, board: "x", micropython: nil), among: []) == nil)
    }

    @Test func aReleaseThatDoesNotFitTheFreeFlashIsNotOfferedAndTheDecisionSaysByHowMuch() {
        let releases = [sampleManifest(sequence: 2).candidate(), sampleManifest(sequence: 3).candidate()]
        var facts = DeviceFacts(sequence: 1, board: "esp32", micropython: "1.22.0", format: 2, free: 307_200, flashNeeds: [2: 200_000, 3: 589_824])
        // The newest does not fit: the one before it does, and is offered (each manifest is a whole release).
        #expect(ReleaseSelection.target(for: facts, among: releases)?.sequence == 2)
        let decision = ReleaseSelection.decide(for: facts, releases: [releases[1]], rollouts: [], now: Date())
        #expect(decision.offer == nil && decision.reason.code == "unfit", "\(decision)")
        #expect(decision.why.hasSuffix("does not fit it: needs 590 KB of flash, has 307 KB"), "\(decision.why)")
        // Room enough (to the byte), or no figure the server could work out, or no free flash reported: the agent judges.
        facts.free = 589_824
        #expect(ReleaseSelection.target(for: facts, among: releases)?.sequence == 3)
        facts.free = 1000
        facts.flashNeeds = [:]
        #expect(ReleaseSelection.target(for: facts, among: releases)?.sequence == 3)
        facts.free = nil
        facts.flashNeeds = [3: 589_824]
        #expect(ReleaseSelection.target(for: facts, among: releases)?.sequence == 3)
    }

    @Test func aFormat1DeviceGetsOnlyReleasesWithALegacyEnvelope() {
        // 2 and 3 were published with a legacy envelope, 4 without (more than 256 files, say).
        let releases = [sampleManifest(sequence: 2).candidate(), sampleManifest(sequence: 3).candidate(), sampleManifest(sequence: 4).candidate(formats: [2])]
        #expect(ReleaseSelection.target(for: device(1, format: 1), among: releases) == ReleaseOffer(sequence: 3, format: 1))
        #expect(ReleaseSelection.target(for: device(1, format: 2), among: releases) == ReleaseOffer(sequence: 4, format: 2))
        // Already on the newest it can take: nothing, although a newer release exists.
        #expect(ReleaseSelection.target(for: device(3, format: 1), among: releases) == nil)
        #expect(ReleaseSelection.target(for: device(3, format: 2), among: releases) == ReleaseOffer(sequence: 4, format: 2))
        // A release published before format 2 has only format 1, and format-2 devices are not offered it.
        let old = [sampleManifest(sequence: 5).candidate(formats: [1])]
        #expect(ReleaseSelection.target(for: device(1, format: 1), among: releases + old) == ReleaseOffer(sequence: 5, format: 1))
        #expect(ReleaseSelection.target(for: device(1, format: 2), among: releases + old) == ReleaseOffer(sequence: 4, format: 2))
        #expect(ReleaseSelection.target(for: device(1, format: 2), among: old) == nil)
        // A format nobody publishes in takes nothing.
        #expect(ReleaseSelection.target(for: device(1, format: 3), among: releases + old) == nil)
    }

    @Test func nothingAtOrBelowWhatTheDeviceRejected() {
        let releases = [sampleManifest(sequence: 2).candidate(), sampleManifest(sequence: 3).candidate(), sampleManifest(sequence: 4).candidate(formats: [2])]
        #expect(ReleaseSelection.target(for: device(1, format: 1, rejected: 3), among: releases) == nil)
        #expect(ReleaseSelection.target(for: device(1, format: 2, rejected: 3), among: releases)?.sequence == 4)
        #expect(ReleaseSelection.target(for: device(1, format: 2, rejected: 4), among: releases) == nil)
        // The newest takeable one is rejected: the device is not sent back to an older one.
        #expect(ReleaseSelection.target(for: device(1, format: 1, rejected: 3), among: releases.prefix(2).map { $0 }) == nil)
        #expect(ReleaseSelection.target(for: device(1, format: 1, rejected: 2), among: releases)?.sequence == 3)
    }

    @Test func skipsExpiredReleases() throws {
        let end = try #require(ReleaseManifest.date(fromTimestamp: "2027-01-01T00:00:00Z"))
        var expiring = sampleManifest(sequence: 3)
        expiring.expires = "2027-01-01T00:00:00Z"
        var newest = sampleManifest(sequence: 4)
        newest.expires = "2027-01-01T00:00:00Z"
        let releases = [sampleManifest(sequence: 2).candidate(), expiring.candidate(), newest.candidate(formats: [2])]
        #expect(ReleaseSelection.target(for: device(1, format: 1), among: releases, now: end.addingTimeInterval(-1))?.sequence == 3)
        #expect(ReleaseSelection.target(for: device(1, format: 2), among: releases, now: end.addingTimeInterval(-1))?.sequence == 4)
        #expect(ReleaseSelection.target(for: device(1, format: 1), among: releases, now: end)?.sequence == 2)
        #expect(ReleaseSelection.target(for: device(1, format: 2), among: releases, now: end)?.sequence == 2)
        // Without a clock nothing expires.
        #expect(ReleaseSelection.target(for: device(1, format: 2), among: releases, now: nil)?.sequence == 4)
    }
}
