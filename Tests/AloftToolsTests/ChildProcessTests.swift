import AloftCore
import Foundation
import Testing

@testable import AloftTools

/// The simulator's process runner: the folder a child starts in, the paths it is given, and how it ended.
@Suite struct ChildProcessTests {
    @Test func aChildStartsInTheFolderItIsGivenAndRelativePathsAreItsToResolve() throws {
        let scratch = Scratch()
        let dir = try scratch.folder("child", [:])
        let log = dir.appendingPathComponent("out.log").path
        let outcome = try ChildProcess.run("/bin/sh", ["-c", "pwd; echo here > made.txt; exit 3"], output: log, directory: dir.path)
        #expect(outcome == .exited(3))
        #expect(try String(contentsOfFile: log, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == dir.path)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("made.txt").path))
    }

    @Test func withoutAFolderAChildStartsInThisProcesssAndIsKilledAtItsDeadline() throws {
        let outcome = try ChildProcess.run("/bin/sh", ["-c", "sleep 5"], deadline: .now + .milliseconds(200))
        #expect(outcome == .timedOut)
        #expect(try ChildProcess.run("/bin/sh", ["-c", "kill -9 $$"]) == .signalled(9))
    }

    @Test func aMissingProgramOrFolderIsAClearError() throws {
        let noProgram = #expect(throws: AloftError.self) { try ChildProcess.run("/nonexistent/micropython", []) }
        #expect(noProgram?.message == "cannot start /nonexistent/micropython: No such file or directory")
        let noFolder = #expect(throws: AloftError.self) { try ChildProcess.run("/bin/sh", ["-c", "exit 0"], directory: "/nonexistent/folder") }
        #expect(noFolder?.message == "cannot start /bin/sh in /nonexistent/folder: No such file or directory")
    }
}
