import Foundation
import Testing

@testable import AloftCore

@Suite struct ChannelSequenceTests {
    @Test func aNewChannelStartsAtOne() {
        #expect(ChannelSequence.next(latestRelease: nil, highestReported: nil) == 1)
        #expect(ChannelSequence.next(latestRelease: nil, highestReported: 0) == 1)
    }

    @Test func theNewestReleaseSetsTheFloorWhenDevicesRunNothingNewer() {
        #expect(ChannelSequence.next(latestRelease: 7, highestReported: 5) == 8)
        #expect(ChannelSequence.next(latestRelease: 7, highestReported: 7) == 8)
    }

    /// A database restored from an older backup knows releases up to 3; devices installed 5, published after the backup.
    @Test func afterARestoreTheNextReleaseGoesAboveWhatDevicesRun() {
        #expect(ChannelSequence.floor(latestRelease: 3, highestReported: 5) == 5)
        #expect(ChannelSequence.next(latestRelease: 3, highestReported: 5) == 6)
        #expect(ChannelSequence.next(latestRelease: nil, highestReported: 5) == 6)
    }

    @Test func aSequenceADeviceRolledBackFromCountsAsReported() {
        #expect(ChannelSequence.highestReported([(sequence: 3, rejected: 6), (sequence: 5, rejected: nil)]) == 6)
        #expect(ChannelSequence.highestReported([(sequence: 4, rejected: 2)]) == 4)
        #expect(ChannelSequence.highestReported([(sequence: Int, rejected: Int?)]()) == nil)
    }

    /// The check-in side of the same rule: nothing at or below what a device reports is offered, even when the server
    /// knows no release as high (it was published after the backup it was restored from).
    @Test func aDeviceAheadOfEveryKnownReleaseIsOfferedNothing() {
        let device = DeviceFacts(id: "d", sequence: 5, board: "esp32", micropython: "1.22.0", format: 2)
        let releases = (1...3).map {
            ReleaseCandidate(sequence: $0, version: "1.\($0).0", held: false, compat: Compatibility(boards: ["*"]), expires: nil, formats: [1, 2])
        }
        #expect(ReleaseSelection.target(for: device, among: releases, now: Date()) == nil)
        #expect(ReleaseSelection.decide(for: device, releases: releases, rollouts: [], now: Date()).offer == nil)
    }
}
