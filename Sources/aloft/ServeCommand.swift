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

    @Option(help: "Device API requests a minute each device may make (429 beyond; 0: no limit). Blob downloads have a bucket of their own: a whole release at once, then 10× this rate.")
    var deviceRate: Int = RateLimits.standard.devicePerMinute

    @Option(help: "Device API requests a minute each client address (IPv6: each /64) may make (0: no limit).")
    var ipRate: Int = RateLimits.standard.addressPerMinute

    @Option(help: "Days device events and blob requests are kept (pruned hourly; 0: keep them forever).")
    var historyDays: Int = 90

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(help: "Serve HTTPS with this PEM certificate (the server's first, then intermediates); needs --tls-key.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert (unencrypted; keep it readable only by the server).")
    var tlsKey: String?

    func run() async throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard deviceRate >= 0, ipRate >= 0 else { throw ValidationError("--device-rate and --ip-rate must be 0 (no limit) or more") }
        guard (0...36_500).contains(historyDays) else { throw ValidationError("--history-days must be 0 (keep forever) to 36500") }
        guard let token = adminToken ?? ProcessInfo.processInfo.environment["ALOFT_ADMIN_TOKEN"], !token.isEmpty else {
            throw ValidationError("no admin token: pass --admin-token or set ALOFT_ADMIN_TOKEN")
        }
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        LoggingSystem.bootstrap { label in ServerLogHandler(label: label, level: level) }
        let tls: ServerTLS?
        switch (tlsCert, tlsKey) {
        case (nil, nil): tls = nil
        case (let cert?, let key?): tls = ServerTLS(certificateChainPath: cert, privateKeyPath: key)
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
        let scheme = tls == nil ? "http" : "https"
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let configuration = AloftServerConfiguration(
            host: host, port: port, dataDirectory: data, adminToken: token, database: database.map(FleetDatabase.init(argument:)),
            pollInterval: poll, rateLimits: RateLimits(devicePerMinute: deviceRate, addressPerMinute: ipRate), tls: tls,
            historyRetention: historyDays == 0 ? nil : .seconds(historyDays * 86_400), logger: Logger(label: "aloft.server"),
            onServerRunning: { port in
                // Unbuffered, so whoever started the server (scripts, tests) sees the URL at once.
                FileHandle.standardOutput.write(Data("aloft: serving on \(scheme)://\(shownHost):\(port)\n".utf8))
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
