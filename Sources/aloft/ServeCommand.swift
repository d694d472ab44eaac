import AloftCore
import AloftServer
import AloftStore
import ArgumentParser
import Foundation
import Hummingbird
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the update server (embedded SQLite by default).")

    @Option(help: "Data folder: blobs and, unless --database says otherwise, the SQLite database.")
    var data: String

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port; 0 picks a free one (the URL is printed).")
    var port: Int = 8080

    @Option(help: "Admin token for the management API (or ALOFT_ADMIN_TOKEN). Only its hash is kept in memory.")
    var adminToken: String?

    @Option(help: "Database: an SQLite file path (default DATA/aloft.sqlite) or a postgres:// URL.")
    var database: String?

    @Option(help: "Seconds devices wait between check-ins.")
    var poll: Int = 300

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard let token = adminToken ?? ProcessInfo.processInfo.environment["ALOFT_ADMIN_TOKEN"], !token.isEmpty else {
            throw ValidationError("no admin token: pass --admin-token or set ALOFT_ADMIN_TOKEN")
        }
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let configuration = AloftServerConfiguration(
            host: host, port: port, dataDirectory: data, adminToken: token, database: database.map(FleetDatabase.init(argument:)),
            pollInterval: poll, logger: Logger(label: "aloft.server"),
            onServerRunning: { port in
                // Unbuffered, so whoever started the server (scripts, tests) sees the URL at once.
                FileHandle.standardOutput.write(Data("aloft: serving on http://\(shownHost):\(port)\n".utf8))
            })
        let app: any ApplicationProtocol
        do {
            app = try await buildApplication(configuration)
        } catch let error as AloftError {
            throw error
        } catch {
            throw AloftError("cannot start the server: \(error)")
        }
        try await app.runService()
    }
}
