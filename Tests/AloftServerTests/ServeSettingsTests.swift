import AloftCore
import AloftServer
import AloftStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// `aloft serve`'s settings: one precedence rule (flag > ALOFT_ variable > config file > default), and what is refused.
struct ServeSettingsTests {
    static func resolve(
        flags: [String: String] = [:], env: [String: String] = [:], file: String? = nil
    ) throws(AloftError) -> ServeSettings {
        try ServeSettings.resolve(flags: flags, environment: env, file: file.map { ("/etc/aloft/aloft.conf", $0) })
    }

    @Test func aFlagBeatsTheEnvironmentWhichBeatsTheFileWhichBeatsTheDefault() throws {
        let file = """
            # an example
            data = /srv/aloft
            port = 9000
            host = "0.0.0.0"

            poll = 60
            """
        let all = try Self.resolve(flags: ["port": "7000"], env: ["ALOFT_PORT": "8000", "ALOFT_POLL": "30"], file: file)
        #expect(all.port == 7000)
        #expect(all.poll == 30)
        #expect(all.host == "0.0.0.0")
        #expect(all.data == "/srv/aloft")
        #expect(all.historyDays == 90)
        let lines = all.lines()
        #expect(lines.contains("port = 7000  (flag --port)"))
        #expect(lines.contains("poll = 30  (env ALOFT_POLL)"))
        #expect(lines.contains("host = 0.0.0.0  (file /etc/aloft/aloft.conf:4)"))
        #expect(lines.contains("history-days = 90  (default)"))
        #expect(try Self.resolve(env: ["ALOFT_PORT": "8000"], file: file).port == 8000)
        #expect(try Self.resolve(file: file).port == 9000)
        #expect(try Self.resolve(flags: ["data": "/d"]).port == 8080)
        // An empty variable is no setting: the file's value stands.
        #expect(try Self.resolve(env: ["ALOFT_PORT": ""], file: file).port == 9000)
    }

    @Test func everySettingOfServeHasAFlagAVariableAndAFileKey() throws {
        let values: [String: String] = [
            "data": "/d", "host": "::1", "port": "1", "admin-token": "t", "database": "postgres://u:pw@db/aloft", "poll": "2",
            "device-rate": "3", "ip-rate": "4", "history-days": "5", "log-level": "debug", "tls-cert": "/c", "tls-key": "/k",
        ]
        #expect(Set(values.keys) == Set(ServeSettings.keys.map(\.name)))
        let file = values.map { "\($0.key) = \($0.value)" }.joined(separator: "\n")
        let env = Dictionary(uniqueKeysWithValues: ServeSettings.keys.map { ($0.environmentName, values[$0.name]!) })
        for settings in [try Self.resolve(flags: values), try Self.resolve(env: env), try Self.resolve(file: file)] {
            #expect(settings.data == "/d" && settings.host == "::1" && settings.port == 1 && settings.adminToken == "t")
            #expect(settings.database == "postgres://u:pw@db/aloft" && settings.poll == 2 && settings.deviceRate == 3 && settings.ipRate == 4)
            #expect(settings.historyDays == 5 && settings.logLevel == .debug && settings.tlsCert == "/c" && settings.tlsKey == "/k")
        }
        #expect(env["ALOFT_DEVICE_RATE"] == "3" && env["ALOFT_ADMIN_TOKEN"] == "t")
    }

    @Test func secretsAreNeverPrinted() throws {
        let settings = try Self.resolve(flags: ["data": "/d", "admin-token": "s3cret-token", "database": "postgres://aloft:pa55@db:5432/aloft"])
        let text = settings.lines().joined(separator: "\n")
        #expect(!text.contains("s3cret-token") && !text.contains("pa55"), "\(text)")
        #expect(text.contains("admin-token = set  (flag --admin-token)"))
        #expect(text.contains("database = postgres://aloft:***@db:5432/aloft  (flag --database)"))
        #expect(try Self.resolve(flags: ["data": "/d"]).lines().contains("admin-token = not set  (default)"))
    }

    @Test func systemdsStateDirectoryIsTheDefaultDataFolder() throws {
        let settings = try Self.resolve(env: ["STATE_DIRECTORY": "/var/lib/aloft"])
        #expect(settings.data == "/var/lib/aloft")
        #expect(settings.lines().contains("data = /var/lib/aloft  (default)"))
        #expect(try Self.resolve(env: ["STATE_DIRECTORY": "/var/lib/aloft"], file: "data = /srv").data == "/srv")
    }

    @Test func badInputIsOneLineNamingWhatAndWhere() {
        func message(flags: [String: String] = [:], env: [String: String] = [:], file: String? = nil) -> String {
            do {
                _ = try Self.resolve(flags: flags, env: env, file: file)
                return "accepted"
            } catch {
                return error.message
            }
        }
        let unknown = message(file: "data = /d\n\nprot = 80\n")
        #expect(unknown.hasPrefix("/etc/aloft/aloft.conf:3: unknown key 'prot'"), "\(unknown)")
        #expect(message(file: "data /d").hasPrefix("/etc/aloft/aloft.conf:1: expected 'key = value'"))
        #expect(message(file: "data = /d\ndata = /e") == "/etc/aloft/aloft.conf:2: 'data' is set again (first on line 1)")
        #expect(message(flags: ["data": "/d"], env: ["ALOFT_PORT": "eighty"]) == "port 'eighty' from env ALOFT_PORT is not a port (0...65535; 0 picks a free one)")
        #expect(message(file: "data = /d\nhistory-days = 40000").hasPrefix("history-days '40000' from file /etc/aloft/aloft.conf:2 "))
        #expect(message(flags: ["data": "/d", "poll": "0"]).hasPrefix("poll '0' from flag --poll "))
        #expect(message(flags: ["data": "/d", "log-level": "loud"]).hasPrefix("log-level 'loud' from flag --log-level "))
        #expect(message(flags: ["data": "/d", "tls-cert": "/c"]) == "tls-cert and tls-key go together: set both or neither")
        #expect(message().hasPrefix("no data folder"))
        for text in [unknown, message(file: "data /d"), message(env: ["ALOFT_PORT": "x"])] { #expect(!text.contains("\n")) }
    }

    @Test func theConfigFileIsTheFlagElseTheVariableElseNone() {
        #expect(ServeSettings.configPath(flag: "/a", environment: ["ALOFT_CONFIG": "/b"]) == "/a")
        #expect(ServeSettings.configPath(flag: nil, environment: ["ALOFT_CONFIG": "/b"]) == "/b")
        #expect(ServeSettings.configPath(flag: nil, environment: [:]) == nil)
    }

    /// A first start with no admin token makes one, says it once and stores only its hash; the next start on the same
    /// database says nothing and still takes it.
    @Test func aFirstStartWithoutAnAdminTokenMakesOneOnceAndLaterStartsAcceptIt() async throws {
        try await withScratchSQLite { path in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-first-start-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let told = Mutex<[String]>([])
            var logger = Logger(label: "aloft.test")
            logger.logLevel = .warning
            func start() async throws -> some ApplicationProtocol {
                try await buildApplication(
                    AloftServerConfiguration(
                        dataDirectory: directory, adminToken: nil, database: .sqlite(path: path), logger: logger,
                        onAdminTokenCreated: { token in told.withLock { $0.append(token) } }))
            }
            try await start().test(.router) { client in
                let token = try #require(told.withLock { $0.first })
                #expect(token.hasPrefix(BearerSecret.admin.prefix))
                let listed = try await client.executeRequest(uri: "/api/v1/admin/tokens", method: .get, headers: [.authorization: "Bearer \(token)"], body: nil)
                #expect(listed.status == .ok)
                let body = String(buffer: listed.body)
                #expect(body.contains(AdminCredential.firstStartName) && !body.contains(token), "\(body)")
                let wrong = try await client.executeRequest(uri: "/api/v1/admin/tokens", method: .get, headers: [.authorization: "Bearer aloft_adm_nope"], body: nil)
                #expect(wrong.status == .unauthorized)
            }
            try await start().test(.router) { client in
                #expect(told.withLock { $0.count } == 1, "a later start never makes or shows another")
                let token = try #require(told.withLock { $0.first })
                let listed = try await client.executeRequest(uri: "/api/v1/admin/tokens", method: .get, headers: [.authorization: "Bearer \(token)"], body: nil)
                #expect(listed.status == .ok)
            }
        }
    }
}
