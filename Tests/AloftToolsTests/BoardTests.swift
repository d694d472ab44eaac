import AloftCore
import Foundation
import Testing

@testable import AloftTools

/// What decides whether a board can take the agent, and what mpremote's failures mean, without a board.
@Suite struct BoardTests {
    static func facts(_ change: (inout BoardFacts) -> Void = { _ in }) throws -> BoardFacts {
        let json = #"""
            {"name":"micropython","version":"1.24.1","mpy":6,"build":"ESP32_GENERIC","machine":"Generic ESP32 module with ESP32","blockSize":4096,
             "blocks":512,"free":1800000,"caseSensitive":true,"filesystem":"VfsLfs2",
             "hashes":{"/boot.py":null,"/main.py":"ab","/lib/aloft_board.py":null,"/.aloft/config.json":null,"/lib/aloft/__init__.py":null}}
            """#
        var facts = try JSONDecoder().decode(BoardFacts.self, from: Data(json.utf8))
        change(&facts)
        return facts
    }

    @Test func aLittleFSBoardWithRoomAndARecentMicroPythonIsFit() throws {
        #expect(try Self.facts().refusal(need: 200_000) == nil)
        #expect(try Self.facts { $0.filesystem = nil }.refusal(need: 200_000) == nil)  // firmware before vfs.mount(): case says LittleFS
    }

    @Test(arguments: [
        ("1.20.0", "MicroPython 1.20.0; the agent needs 1.21 or later"),
        ("1.9.4", "MicroPython 1.9.4; the agent needs 1.21 or later"),
    ])
    func anOldMicroPythonIsRefused(version: String, says: String) throws {
        #expect(try Self.facts { $0.version = version }.refusal(need: 1)?.contains(says) == true)
    }

    @Test func fatIsRefusedWhateverItIsCalled() throws {
        #expect(try Self.facts { $0.caseSensitive = false; $0.filesystem = nil }.refusal(need: 1)?.contains("not LittleFS (FAT") == true)
        #expect(try Self.facts { $0.filesystem = "VfsFat" }.refusal(need: 1)?.contains("not LittleFS (VfsFat)") == true)
    }

    @Test func tooLittleFlashIsRefusedWithBothFigures() throws {
        #expect(try Self.facts { $0.free = 100 * 1024 }.refusal(need: 200 * 1024) == "the agent needs 200 KiB of flash, the board has 100 KiB free")
        #expect(try Self.facts { $0.name = "circuitpython" }.refusal(need: 1) == "the board runs circuitpython, not MicroPython")
    }

    @Test func aBootPyOfTheBoardsOwnNeedsForce() throws {
        let ours: [UInt8] = Array("ours\n".utf8)
        let facts = try Self.facts { $0.hashes["/boot.py"] = Digest.sha256Hex(Array("theirs\n".utf8)) }
        let mpremote = Mpremote(executable: "/bin/false")
        #expect(BoardProvisioner(port: "p", mpremote: mpremote, force: false).refusal(facts, files: [], bootPy: ours)?.contains("pass --force") == true)
        #expect(BoardProvisioner(port: "p", mpremote: mpremote, force: true).refusal(facts, files: [], bootPy: ours) == nil)
        let same = try Self.facts { $0.hashes["/boot.py"] = Digest.sha256Hex(ours) }
        #expect(BoardProvisioner(port: "p", mpremote: mpremote, force: false).refusal(same, files: [], bootPy: ours) == nil)
    }

    @Test func flashIsCountedInWholeBlocks() {
        let files = [BoardProvisioner.File(path: "a", bytes: [1]), BoardProvisioner.File(path: "b", bytes: Array(repeating: 0, count: 5000))]
        #expect(BoardProvisioner.flashNeeded(files, blockSize: 4096) == (16 + 1 + 2) * 4096)
    }

    @Test(arguments: [
        ("mpremote: failed to access /dev/ttyUSB9 (it may not exist, or you do not have permission)", "no board at /dev/ttyUSB9"),
        ("mpremote.transport.TransportError: could not enter raw repl", "does not give its REPL"),
        ("serial.serialutil.SerialException: device reports readiness to read but returned no data (device disconnected or multiple access on port?)", "was lost"),
        ("something else entirely", "mpremote failed on /dev/ttyUSB9: something else entirely"),
    ])
    func mpremoteFailuresSayWhatHappened(said: String, means: String) {
        let result = CapturedProcess.Result(code: 1, stdout: "", stderr: "Traceback ...\n" + said + "\n", timedOut: false)
        #expect(Mpremote.failure("/dev/ttyUSB9", result).message.contains(means), "\(Mpremote.failure("/dev/ttyUSB9", result).message)")
    }

    @Test func autoPicksTheUSBBoardsMpremoteLists() {
        let devs = """
            /dev/ttyS0 None 0000:0000 None None
            /dev/ttyUSB0 0001 10c4:ea60 Silicon Labs CP2102 USB to UART Bridge Controller
            /dev/ttyACM0 E6614C311B4A5A32 2e8a:0005 MicroPython Board in FS mode
            """
        #expect(Mpremote.boards(devs: devs) == ["/dev/ttyUSB0", "/dev/ttyACM0"])
        #expect(Mpremote.boards(devs: "/dev/ttyS0 None 0000:0000 None None\n").isEmpty)
    }
}
