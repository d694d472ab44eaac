import AloftCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `aloft serve` as a service runs it: settings from a config file and the environment, no admin token given, stopped
/// by SIGTERM (systemd's KillSignal, packaging/aloft.service).
@Suite(.serialized) struct ServeAsServiceTests {
    /// `aloft serve` with the given environment and nothing else, its stdout and stderr in one log.
    final class Service: @unchecked Sendable {
        let process = Process()
        let log: URL
        private(set) var url = ""

        init(arguments: [String], environment: [String: String], log: URL) throws {
            self.log = log
            var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ALOFT_") && $0.key != "STATE_DIRECTORY" }
            for (k, v) in environment { env[k] = v }
            url = try startServe(process, arguments, environment: env, log: log)
        }

        var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// SIGTERM, as systemd stops it; waits up to 20 s.
        func stop() {
            stopChild(process, within: 20)
        }
    }

    /// Python against the server: `script` gets the URL, the admin token and the server's pid as sys.argv[1...3].
    func python(_ script: String, _ service: Service, token: String) throws -> String {
        let result = try runCommand("/usr/bin/env", ["python3", "-c", """
            import json, os, signal, sys, urllib.request
            url, token, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
            def call(method, path, body=None, bearer=token):
                request = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(), method=method,
                    headers={"Authorization": "Bearer " + bearer, "Content-Type": "application/json"})
                with urllib.request.urlopen(request) as response:
                    return json.loads(response.read() or b"{}")

            """ + script, service.url, token, "\(service.process.processIdentifier)"])
        guard result.code == 0 else { throw AloftError("python failed: \(result.output)") }
        return result.stdout
    }

    @Test func aServiceStartsFromItsConfigFileMakesItsAdminTokenOnceAndWritesCheckInsWhenStoppedBySIGTERM() throws {
        let scratch = try Scratch()
        let config = scratch.path("aloft.conf")
        try "# aloft serve\nhost = 127.0.0.1\nport = 0\npoll = 60\n".write(toFile: config, atomically: true, encoding: .utf8)
        let state = scratch.path("state")
        // What a systemd unit gives it: the config file by flag, the data folder by StateDirectory=.
        let environment = ["STATE_DIRECTORY": state, "ALOFT_POLL": "45"]

        let printed = try runCommand(Paths.aloft, ["serve", "--config", config, "--print-config"], environment: environment)
        #expect(printed.code == 0, "\(printed.output)")
        for line in [
            "config = \(config)  (flag --config)", "data = \(state)  (default)", "port = 0  (file \(config):3)", "poll = 45  (env ALOFT_POLL)",
            "history-days = 90  (default)", "admin-token = not set  (default)",
        ] {
            #expect(printed.stdout.contains(line + "\n"), "\(line) in \(printed.stdout)")
        }
        #expect(!FileManager.default.fileExists(atPath: state), "--print-config starts nothing")

        let first = try Service(arguments: ["--config", config], environment: environment, log: scratch.url.appendingPathComponent("first.log"))
        let token = try #require(first.text.firstMatch(of: /ALOFT_ADMIN_TOKEN=(aloft_adm_[A-Za-z0-9_-]+)/)?.1).description
        #expect(first.text.contains("shown this once"))
        let database = try String(contentsOfFile: state + "/aloft.sqlite", encoding: .isoLatin1)
        #expect(!database.contains(token), "only the token's hash is stored")
        // The last check-in goes in just before SIGTERM, well inside the store's 100 ms batching: the graceful stop writes it.
        _ = try python("""
            device = call("POST", "/api/v1/admin/devices", {"id": "d1", "channel": "stable"})
            call("POST", "/api/v1/device/checkin", {"id": "d1", "version": None, "sequence": 0, "board": "esp32", "micropython": "1.22.0"},
                 bearer=device["token"])
            os.kill(pid, signal.SIGTERM)
            """, first, token: token)
        first.process.waitUntilExit()
        #expect(first.process.terminationReason == .exit && first.process.terminationStatus == 0, "a clean stop: \(first.text)")

        // ALOFT_CONFIG instead of the flag; no token anywhere, and the one made before still works.
        var again = environment
        again["ALOFT_CONFIG"] = config
        let second = try Service(arguments: [], environment: again, log: scratch.url.appendingPathComponent("second.log"))
        defer { second.stop() }
        #expect(!second.text.contains("ALOFT_ADMIN_TOKEN=") && !second.text.contains(token), "shown once only: \(second.text)")
        let seen = try python("""
            listed = call("GET", "/api/v1/admin/devices")
            devices = listed["devices"] if isinstance(listed, dict) else listed
            print([d for d in devices if d["id"] == "d1"][0].get("lastSeen"))
            """, second, token: token)
        #expect(!seen.isEmpty && !seen.hasPrefix("None"), "the check-in before SIGTERM was kept: \(seen)")
    }

    @Test func badSettingsAreOneLineAndAFailure() throws {
        let scratch = try Scratch()
        let config = scratch.path("aloft.conf")
        try "data = \(scratch.path("d"))\nport = 8080\nprot = 80\n".write(toFile: config, atomically: true, encoding: .utf8)
        for (arguments, environment, says) in [
            (["--config", config], [:], "\(config):3: unknown key 'prot'"),
            (["--config", scratch.path("missing.conf")], [:], "cannot read the config file \(scratch.path("missing.conf"))"),
            (["--data", scratch.path("d")], ["ALOFT_PORT": "http"], "port 'http' from env ALOFT_PORT is not a port"),
            ([], ["ALOFT_CONFIG": scratch.path("missing.conf")], "cannot read the config file"),
        ] as [([String], [String: String], String)] {
            let result = try runCommand(Paths.aloft, ["serve", "--print-config"] + arguments, environment: environment, timeout: 30)
            #expect(result.code != 0 && result.stderr.contains(says), "\(arguments) \(environment): \(result.output)")
            #expect(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "\(result.stderr)")
        }
    }
}
