import AloftCore
import AloftTools
import ArgumentParser
import Foundation

@main
struct Aloft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aloft",
        abstract: "Over-the-air updates for MicroPython fleets.",
        version: DeviceFiles.agentVersion ?? "unknown",
        subcommands: [Serve.self, Backup.self, Restore.self, Keys.self, Release.self, RolloutCommand.self, DeviceCommand.self, Devices.self, Sim.self, AgentCommand.self, FirmwareCommand.self, Admin.self, Enrollment.self]
    )
}

/// `--server`, `--admin-token` and `--ca-cert`, with `ALOFT_SERVER`, `ALOFT_ADMIN_TOKEN` and `ALOFT_CA_CERT` as fallbacks.
struct ServerOptions: ParsableArguments {
    @Option(help: "Server URL (or ALOFT_SERVER), e.g. http://127.0.0.1:8080.")
    var server: String?

    @Option(help: "Admin token (or ALOFT_ADMIN_TOKEN).")
    var adminToken: String?

    @Option(help: "PEM file of the CA that signed an https server's certificate (or ALOFT_CA_CERT; default: the system's CAs).")
    var caCert: String?

    /// The CA certificate PEM text, when one is given.
    func caCertificates() throws -> String? {
        guard let path = caCert ?? ProcessInfo.processInfo.environment["ALOFT_CA_CERT"], !path.isEmpty else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw AloftError("cannot read the CA certificate file \(path)") }
        let pem = String(decoding: data, as: UTF8.self)
        do { _ = try AdminClient.certificates(pem: pem) } catch { throw AloftError("\(error.message) \(path)") }
        return pem
    }

    func client() throws -> AdminClient {
        let env = ProcessInfo.processInfo.environment
        guard let server = server ?? env["ALOFT_SERVER"], !server.isEmpty else {
            throw ValidationError("no server: pass --server URL or set ALOFT_SERVER")
        }
        guard let token = adminToken ?? env["ALOFT_ADMIN_TOKEN"], !token.isEmpty else {
            throw ValidationError("no admin token: pass --admin-token or set ALOFT_ADMIN_TOKEN")
        }
        return try AdminClient(server: server, adminToken: token, caCertificates: try caCertificates())
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

extension AgentForm: ExpressibleByArgument {}

/// The form of the agent a command hands to devices.
struct AgentFormOption: ParsableArguments {
    @Option(help: """
        The agent as bytecode compiled here by mpy-cross, in one pack file (pack: the least flash) or a file per module \
        (mpy), both less RAM and flash on the device than the sources (py) and MicroPython 1.19+.
        """)
    var agentForm: AgentForm = .pack

    var form: AgentForm { agentForm }
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

/// Parses durations like `90s`, `45m`, `12h`, `30d` into seconds (at most 100 years).
func parseDuration(_ text: String) -> Int? {
    let digits = text.dropLast()
    guard let unit = text.last, (1...6).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits), n > 0
    else { return nil }
    let seconds: Int
    switch unit {
    case "s": seconds = n
    case "m": seconds = n * 60
    case "h": seconds = n * 3_600
    case "d": seconds = n * 86_400
    default: return nil
    }
    return seconds <= 36_500 * 86_400 ? seconds : nil
}

/// A line on standard output at once, unbuffered: for a command's steps, which someone (or a log file) watches as they
/// happen.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
