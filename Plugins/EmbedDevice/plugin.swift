import Foundation
import PackagePlugin

/// Embeds what `aloft` hands to devices (device/aloft, device/boot.py, device/sim) into the AloftTools target, so a
/// binary copied anywhere still provisions boards, builds images and runs the simulator. The files are inputs of the
/// build command: changing one rebuilds the embedded copy.
@main struct EmbedDevice: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let device = context.package.directoryURL.appendingPathComponent("device")
        var files: [String] = ["boot.py"]
        for folder in ["aloft", "sim"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: device.appendingPathComponent(folder).path)
            files += names.filter { $0.hasSuffix(".py") }.sorted().map { "\(folder)/\($0)" }
        }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedDeviceFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding the device agent and simulator (\(files.count) files)",
                executable: try context.tool(named: "EmbedDeviceFiles").url,
                arguments: [device.path, output.path] + files,
                inputFiles: files.map { device.appendingPathComponent($0) },
                outputFiles: [output])
        ]
    }
}
