import Testing

@testable import AloftCore

@Suite struct SemanticVersionTests {
    @Test func specPrecedenceOrder() throws {
        let ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
                       "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0"]
        let versions = try ordered.map { try SemanticVersion(parsing: $0) }
        for (a, b) in zip(versions, versions.dropFirst()) {
            #expect(a < b, "\(a) < \(b)")
            #expect(!(b < a))
        }
        #expect(versions.shuffled().sorted() == versions)
    }

    /// Plain versions take a path of their own (every check-in carries one); it reads them as the general rules do.
    @Test func plainVersions() throws {
        for (text, core) in [("0.0.0", (0, 0, 0)), ("1.2.3", (1, 2, 3)), ("10.20.30", (10, 20, 30)), ("999999999.0.7", (999_999_999, 0, 7))] {
            let version = try SemanticVersion(parsing: text)
            #expect((version.major, version.minor, version.patch) == core && version.prerelease.isEmpty && version.build.isEmpty)
            #expect(version.description == text)
        }
    }

    @Test func buildMetadataDoesNotCount() throws {
        #expect(try SemanticVersion(parsing: "1.0.0+a") == SemanticVersion(parsing: "1.0.0+b"))
        #expect(try SemanticVersion(parsing: "1.0.0-rc.1+x.7").description == "1.0.0-rc.1+x.7")
    }

    @Test(arguments: [
        "", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b", "v1.2.3", "1.2.3-é", " 1.2.3", "1.-2.3", "9999999999.0.0",
        // and for the plain MAJOR.MINOR.PATCH path: leading zeros, empty parts, more than 9 digits, signs, spaces
        "1.02.3", "1.2.03", "00.1.2", "1..3", ".1.2", "1.2.", "1.2.3 ", "0.0.1234567890", "+1.2.3", "1.2.3\n",
    ])
    func rejects(_ text: String) {
        #expect(SemanticVersion(text) == nil)
    }

    @Test func micropythonVersions() {
        #expect(MicroPythonVersion("1.29.0-preview")! == MicroPythonVersion("1.29")!)
        #expect(MicroPythonVersion("1.21")! < MicroPythonVersion("1.21.1")!)
        #expect(MicroPythonVersion("1.9.4")! < MicroPythonVersion("1.10.0")!)
        #expect(MicroPythonVersion("1") == nil && MicroPythonVersion("a.b") == nil && MicroPythonVersion("1..2") == nil)
    }
}

@Suite struct CompatibilityTests {
    @Test func globs() throws {
        #expect(try BoardPattern("*").matches(""))
        #expect(try BoardPattern("esp32*").matches("esp32-s3"))
        #expect(try BoardPattern("esp32*").matches("ESP32") == false)
        #expect(try BoardPattern("rp2-pico?").matches("rp2-picow"))
        #expect(try BoardPattern("rp2-pico?").matches("rp2-pico") == false)
        #expect(try BoardPattern("*-s3*").matches("esp32-s3-devkit"))
        #expect(try BoardPattern("a*a*a*a*b").matches(String(repeating: "a", count: 60)) == false)
        #expect(throws: AloftError.self) { try BoardPattern("esp 32") }
    }

    @Test func acceptsByBoardAndVersion() {
        let compat = Compatibility(boards: ["esp32*", "sim"], micropython: "1.22")
        #expect(compat.accepts(board: "sim", micropython: "1.29.0-preview"))
        #expect(!compat.accepts(board: "rp2", micropython: "1.29.0"))
        #expect(!compat.accepts(board: "esp32", micropython: "1.21.0"))
        #expect(!compat.accepts(board: "esp32", micropython: nil))
        #expect(Compatibility().accepts(board: "anything", micropython: nil))
    }

    @Test func identifiers() throws {
        try Identifiers.validateDeviceID("dev-1.a_B")
        try Identifiers.validateChannel("beta-2")
        for bad in ["", "-x", "a b", String(repeating: "a", count: 65), "é"] {
            #expect(throws: AloftError.self) { try Identifiers.validateDeviceID(bad) }
        }
        for bad in ["", "Beta", "-x", "a_b", String(repeating: "a", count: 33)] {
            #expect(throws: AloftError.self) { try Identifiers.validateChannel(bad) }
        }
    }
}
