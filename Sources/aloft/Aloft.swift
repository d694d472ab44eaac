import AloftCore
import AloftTools
import ArgumentParser
import Foundation

@main
struct Aloft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aloft",
        abstract: "Over-the-air updates for MicroPython fleets.",
        subcommands: [Serve.self, Keys.self, Release.self, DeviceCommand.self, Devices.self, Sim.self]
    )
}

/// `--server` and `--admin-token`, with `ALOFT_SERVER` and `ALOFT_ADMIN_TOKEN` as fallbacks.
struct ServerOptions: ParsableArguments {
    @Option(help: "Server URL (or ALOFT_SERVER), e.g. http://127.0.0.1:8080.")
    var server: String?

    @Option(help: "Admin token (or ALOFT_ADMIN_TOKEN).")
    var adminToken: String?

    func client() throws -> AdminClient {
        let env = ProcessInfo.processInfo.environment
        guard let server = server ?? env["ALOFT_SERVER"], !server.isEmpty else {
            throw ValidationError("no server: pass --server URL or set ALOFT_SERVER")
        }
        guard let token = adminToken ?? env["ALOFT_ADMIN_TOKEN"], !token.isEmpty else {
            throw ValidationError("no admin token: pass --admin-token or set ALOFT_ADMIN_TOKEN")
        }
        return try AdminClient(server: server, adminToken: token)
    }
}

/// `--micropython PATH`, else `ALOFT_MICROPYTHON`, else the project's `.venv`.
struct MicroPythonOption: ParsableArguments {
    @Option(help: "MicroPython unix port binary (or ALOFT_MICROPYTHON; default: the project's .venv).")
    var micropython: String?

    func toolchain() throws -> DeviceToolchain {
        try DeviceToolchain.locate(micropython: micropython)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Parses sizes like `2M`, `512K`, `65536`.
func parseSize(_ text: String) -> Int? {
    var digits = Substring(text)
    var unit = 1
    switch digits.last {
    case "K", "k": unit = 1024; digits = digits.dropLast()
    case "M", "m": unit = 1024 * 1024; digits = digits.dropLast()
    default: break
    }
    guard digits.count <= 9, let n = Int(digits), n > 0 else { return nil }
    return n * unit
}
