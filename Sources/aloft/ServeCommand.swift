import AloftCore
import AloftServer
import AloftStore
import ArgumentParser
import Foundation
import Hummingbird
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the update server (embedded SQLite by default).",
        discussion: """
            Every setting comes from, in this order: its flag, its ALOFT_ variable (--device-rate: ALOFT_DEVICE_RATE), the \
            config file (--config FILE or ALOFT_CONFIG: 'device-rate = 60' lines, # comments), the default. \
            --print-config shows what wins. With no admin token anywhere, the first start makes one and prints it once.
            """)

    @Option(help: "Config file of 'key = value' lines, keys named as these flags (or ALOFT_CONFIG; default: none).")
    var config: String?

    @Flag(help: "Print each setting and where it came from (flag, env, file, default), secrets as 'set', and exit.")
    var printConfig = false

    @Option(help: "Data folder: blobs and, unless --database says otherwise, the SQLite database (or ALOFT_DATA; default: systemd's STATE_DIRECTORY).")
    var data: String?

    @Option(help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(help: "Port; 0 picks a free one (the URL is printed; default 8080).")
    var port: String?

    @Option(help: "Admin token for the management API (or ALOFT_ADMIN_TOKEN). Only its hash is kept in memory. None: the tokens stored in the database.")
    var adminToken: String?

    @Option(help: "Database: an SQLite file path (default DATA/aloft.sqlite) or a postgres:// URL.")
    var database: String?

    @Option(help: "Seconds devices wait between check-ins (default 300).")
    var poll: String?

    @Option(help: "Device API requests a minute each device may make (429 beyond; 0: no limit; default \(RateLimits.standard.devicePerMinute)). Blob downloads have a bucket of their own: a whole release at once, then 10× this rate.")
    var deviceRate: String?

    @Option(help: "Device API requests a minute each client address (IPv6: each /64) may make (0: no limit; default \(RateLimits.standard.addressPerMinute)).")
    var ipRate: String?

    @Option(help: "Days device events and blob requests are kept (pruned hourly; 0: keep them forever; default 90).")
    var historyDays: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error (default info).")
    var logLevel: String?

    @Option(help: "Serve HTTPS with this PEM certificate (the server's first, then intermediates); needs --tls-key.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert (unencrypted; keep it readable only by the server).")
    var tlsKey: String?

    /// The flags given, by setting name.
    var flags: [String: String] {
        let given: [(String, String?)] = [
            ("data", data), ("host", host), ("port", port), ("admin-token", adminToken), ("database", database), ("poll", poll),
            ("device-rate", deviceRate), ("ip-rate", ipRate), ("history-days", historyDays), ("log-level", logLevel),
            ("tls-cert", tlsCert), ("tls-key", tlsKey),
        ]
        return Dictionary(uniqueKeysWithValues: given.compactMap { name, value in value.map { (name, $0) } })
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var file: (path: String, text: String)?
        if let path = ServeSettings.configPath(flag: config, environment: environment) {
            guard let bytes = FileManager.default.contents(atPath: path) else { throw AloftError("cannot read the config file \(path)") }
            file = (path, String(decoding: bytes, as: UTF8.self))
        }
        let settings = try ServeSettings.resolve(flags: flags, environment: environment, file: file)
        if printConfig {
            let source = config != nil ? "flag --config" : file != nil ? "env \(ServeSettings.configEnvironmentName)" : "default"
            print("config = \(file?.path ?? "none")  (\(source))")
            for line in settings.lines() { print(line) }
            return
        }
        LoggingSystem.bootstrap { label in ServerLogHandler(label: label, level: settings.logLevel) }
        let tls = settings.tlsCert.flatMap { cert in settings.tlsKey.map { ServerTLS(certificateChainPath: cert, privateKeyPath: $0) } }
        let scheme = tls == nil ? "http" : "https"
        let shownHost = settings.host.contains(":") ? "[\(settings.host)]" : settings.host
        let configuration = AloftServerConfiguration(
            host: settings.host, port: settings.port, dataDirectory: settings.data, adminToken: settings.adminToken,
            database: settings.database.map(FleetDatabase.init(argument:)), pollInterval: settings.poll,
            rateLimits: RateLimits(devicePerMinute: settings.deviceRate, addressPerMinute: settings.ipRate), tls: tls,
            historyRetention: settings.historyDays == 0 ? nil : .seconds(settings.historyDays * 86_400), logger: Logger(label: "aloft.server"),
            onServerRunning: { port in
                // Unbuffered, so whoever started the server (scripts, tests) sees the URL at once.
                FileHandle.standardOutput.write(Data("aloft: serving on \(scheme)://\(shownHost):\(port)\n".utf8))
            },
            onAdminTokenCreated: { token in
                // The only time anyone sees it: the database keeps its hash.
                FileHandle.standardError.write(Data("""
                    aloft: first start: created the admin token '\(AdminCredential.firstStartName)'; it is shown this once, keep it:
                    aloft: ALOFT_ADMIN_TOKEN=\(token)

                    """.utf8))
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
