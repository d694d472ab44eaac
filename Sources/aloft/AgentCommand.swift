import AloftCore
import AloftTools
import ArgumentParser
import Foundation

/// The agent this build of aloft ships, for people who put it on a board by hand.
struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agent", abstract: "The device agent this aloft carries.", subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the agent's files as they go on a board: DIR/boot.py and DIR/lib/aloft/.",
            discussion: "A board also needs /.aloft/config.json with its id and token: `aloft device provision --folder` writes all three.")

        @Argument(help: "Folder to write into; created if missing.")
        var folder: String

        @OptionGroup var agentForm: AgentFormOption

        func run() throws {
            let device = try DeviceToolchain.locateDeviceDir()
            let staging = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-export-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: staging) }
            let agent = try AgentPackage(folder: device.appendingPathComponent("aloft")).built(agentForm.form, into: staging)
            guard let boot = FileManager.default.contents(atPath: device.appendingPathComponent("boot.py").path) else {
                throw AloftError("cannot read boot.py in \(device.path)")
            }
            try AgentCommand.write(agent: agent, bootPy: Array(boot), to: URL(fileURLWithPath: folder))
            print("wrote boot.py and lib/aloft/ (\(agent.names.count) files, \(agentForm.form.rawValue)) to \(folder)")
        }
    }

    /// `boot.py` and the agent under `lib/aloft/` in `folder`, as on a board's root.
    static func write(agent: AgentPackage, bootPy: [UInt8], to folder: URL) throws(AloftError) {
        let fm = FileManager.default
        let target = folder.appendingPathComponent(ReleasePath.agentFolder)
        do {
            if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }  // the whole agent, never mixed with another
            try fm.createDirectory(at: target, withIntermediateDirectories: true)
            for file in agent.files { try fm.copyItem(at: file.url, to: folder.appendingPathComponent(file.path)) }
            try fm.createDirectory(at: folder.appendingPathComponent(".aloft"), withIntermediateDirectories: true)
        } catch {
            throw AloftError("cannot write the agent to \(folder.path): \(error.localizedDescription)")
        }
        try AtomicFile.write(bootPy, to: folder.appendingPathComponent("boot.py").path)
    }
}
