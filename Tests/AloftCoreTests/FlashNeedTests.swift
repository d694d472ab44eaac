@testable import AloftCore
import Testing

/// ``FlashNeed`` worked by hand from docs/device.md's rule ("Flash needed by an update"). That the agent computes the same
/// on a real LittleFS is FlashNeedAgreementTests (DeviceAgentTests).
@Suite struct FlashNeedTests {
    static func file(_ path: String, _ size: Int, _ byte: Character = "a") -> FileEntry {
        FileEntry(path: path, sha256: String(repeating: byte, count: 64), size: size)
    }

    @Test func aChangedModuleAndANewPackageWithAnEmptyInit() {
        let installed = [Self.file("lib/pkg/a.py", 5000), Self.file("main.py", 10, "b")]
        let new = [Self.file("lib/pkg/a.py", 9000, "c"), Self.file("lib/pkg/sub/__init__.py", 0, "d"), Self.file("main.py", 10, "b")]
        // 12 fixed + 3 blocks of a.py + 2 for the folder lib/pkg/sub + ⌈(61 + 37 × 2 + 61 + 44) / 512⌉ of metadata.
        #expect(FlashNeed.install(from: installed, to: new, agentOnBoard: []) == 18 * 4096)
        // The plan: "p <sha> 9000 1 /lib/pkg/a.py\n" and "p <sha> 0 0 /lib/pkg/sub/__init__.py\n".
        #expect(FlashNeed.plan(from: installed, to: new, agentOnBoard: []).planBytes == 88 + 96)
    }

    @Test func nothingChangedNeedsTheFixedBlocksOnly() {
        let files = [Self.file("main.py", 3000), Self.file("www/logo.png", 90_000, "e")]
        #expect(FlashNeed.install(from: files, to: files, agentOnBoard: [Self.file("lib/aloft/__init__.py", 5600), Self.file("lib/aloft/net.mpy", 900, "b")]) == 12 * 4096)
    }

    @Test func changingTheAgentCountsTheCopyOfTheOneOnTheBoard() {
        let installed = [Self.file("lib/aloft/__init__.py", 5600), Self.file("lib/aloft/agent.pk", 44_000, "f"), Self.file("main.py", 100)]
        var new = installed
        new[1] = Self.file("lib/aloft/agent.pk", 45_000, "g")
        // The new pack (12 blocks) and its metadata, and the copy of the agent on the board: 2 + 2 blocks for its
        // folders and __init__.py; of the pack the copy keeps its 32-byte header, in the folder's metadata.
        let board = Array(installed[0...1])
        let need = FlashNeed.install(from: installed, to: new, agentOnBoard: board)
        #expect(need == (12 + 12 + 1 + 2 + 2) * 4096)
        #expect(FlashNeed.install(from: installed, to: installed, agentOnBoard: board) == 12 * 4096)
        // An agent as .mpy files is copied whole.
        let files = [Self.file("lib/aloft/__init__.py", 5600), Self.file("lib/aloft/net.mpy", 9000, "h"), Self.file("main.py", 100)]
        var newer = files
        newer[1] = Self.file("lib/aloft/net.mpy", 9100, "i")
        #expect(FlashNeed.install(from: files, to: newer, agentOnBoard: Array(files[0...1])) == (12 + 3 + 1 + 2 + 2 + 3) * 4096)
    }

    @Test func atCheckInTheListThePlanAndTheStageFolderAreAdded() {
        let new = (0..<100).map { Self.file("lib/m\($0).py", 2000) }
        let install = FlashNeed.install(from: [], to: new, agentOnBoard: [])
        let list = FileList.encode(new).utf8.count  // 100 lines of 64 + 1 + 4 + 1 + 11ish bytes: 2 blocks
        let plan = FlashNeed.plan(from: [], to: new, agentOnBoard: []).planBytes
        #expect(FlashNeed.atCheckIn(from: [], to: new, agentOnBoard: []) == install + (FlashNeed.blocks(list) + FlashNeed.blocks(plan) + 2) * 4096)
    }
}
