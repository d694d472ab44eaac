import Crypto
import Foundation
import Testing
import X509

/// A throwaway CA and a server certificate it signed for 127.0.0.1, written as PEM files.
struct TestPKI {
    let caCertificate: String, serverCertificate: String, serverKey: String

    init(in scratch: Scratch, name: String) throws {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Aloft test CA \(name)") }
        let now = Date()
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(serverKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400),
            issuer: caName, subject: try DistinguishedName { CommonName("127.0.0.1") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                // subjectAltName: SEQUENCE { [7] iPAddress 127.0.0.1 }
                Certificate.Extension(oid: .X509ExtensionID.subjectAlternativeName, critical: false, value: [0x30, 0x06, 0x87, 0x04, 127, 0, 0, 1])
            },
            issuerPrivateKey: .init(caKey))
        caCertificate = scratch.path("\(name)-ca.pem")
        serverCertificate = scratch.path("\(name)-server.pem")
        self.serverKey = scratch.path("\(name)-server.key")
        try (ca.serializeAsPEM().pemString + "\n").write(toFile: caCertificate, atomically: true, encoding: .utf8)
        try (server.serializeAsPEM().pemString + "\n").write(toFile: serverCertificate, atomically: true, encoding: .utf8)
        try (serverKey.pemRepresentation + "\n").write(toFile: self.serverKey, atomically: true, encoding: .utf8)
    }
}

@Suite(.serialized) struct TLSTests {
    func expectOneClearLine(_ result: CommandResult, mentions text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.code != 0, "expected failure: \(result.output)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].lowercased().contains(text), "want one line mentioning '\(text)': \(result.output)", sourceLocation: sourceLocation)
    }

    @Test func serveHTTPSAndTrustOnlyTheGivenCA() throws {
        let scratch = try Scratch()
        let pki = try TestPKI(in: scratch, name: "fleet")
        let other = try TestPKI(in: scratch, name: "other")
        let server = try ServerProcess(
            data: scratch.url.appendingPathComponent("server"), extraArguments: ["--tls-cert", pki.serverCertificate, "--tls-key", pki.serverKey])
        defer { server.stop() }
        #expect(server.url.hasPrefix("https://127.0.0.1:"), "\(server.logText)")

        let listed = try server.aloft(["devices", "list", "--ca-cert", pki.caCertificate])
        #expect(listed.code == 0 && listed.stdout.hasPrefix("ID"), "\(listed.output)")
        let viaEnvironment = try runCommand(
            Paths.aloft, ["devices", "list", "--json"],
            environment: ["ALOFT_SERVER": server.url, "ALOFT_ADMIN_TOKEN": server.adminToken, "ALOFT_CA_CERT": pki.caCertificate])
        #expect(viaEnvironment.code == 0 && viaEnvironment.stdout.contains("[") , "\(viaEnvironment.output)")

        // Without the CA (system roots) and with another CA the connection is refused before the token is sent.
        expectOneClearLine(try server.aloft(["devices", "list"]), mentions: "certificate")
        expectOneClearLine(try server.aloft(["devices", "list", "--ca-cert", other.caCertificate]), mentions: "certificate")
        expectOneClearLine(try server.aloft(["devices", "list", "--ca-cert", scratch.path("missing.pem")]), mentions: "ca certificate")
        expectOneClearLine(try server.aloft(["devices", "list", "--ca-cert", pki.serverKey]), mentions: "certificate")
        // Plain HTTP to the HTTPS port is refused too.
        let plain = server.url.replacingOccurrences(of: "https://", with: "http://")
        let mismatch = try runCommand(Paths.aloft, ["devices", "list", "--server", plain, "--admin-token", server.adminToken], timeout: 60)
        #expect(mismatch.code != 0 && mismatch.stderr.contains("use https://"), "\(mismatch.output)")

        // The device gets the CA (and its key threshold) in its config.
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let provision = try server.aloft([
            "device", "provision", "--id", "d1", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("d1"), "--flash-size", "512K",
            "--ca-cert", pki.caCertificate,
        ])
        #expect(provision.code == 0, "\(provision.output)")
        let config = try server.aloft(["sim", "cat", scratch.path("d1"), "/.aloft/config.json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(config.stdout.utf8)) as? [String: Any], "\(config.output)")
        #expect(json["ca"] as? String == (try String(contentsOfFile: pki.caCertificate, encoding: .utf8)))
        #expect(json["threshold"] as? Int == 1 && json["server"] as? String == server.url)

        // A device takes one CA certificate (MicroPython's ssl takes a single DER one); the CLI may trust a bundle.
        let bundle = scratch.path("bundle.pem")
        try (String(contentsOfFile: pki.caCertificate, encoding: .utf8) + String(contentsOfFile: other.caCertificate, encoding: .utf8))
            .write(toFile: bundle, atomically: true, encoding: .utf8)
        #expect(try server.aloft(["devices", "list", "--ca-cert", bundle]).code == 0)
        let two = try server.aloft(["device", "provision", "--id", "d2", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("d2"), "--ca-cert", bundle])
        expectOneClearLine(two, mentions: "one ca certificate")
    }

    @Test func serveRefusesBadTLSFiles() throws {
        let scratch = try Scratch()
        let pki = try TestPKI(in: scratch, name: "a")
        let other = try TestPKI(in: scratch, name: "b")
        func serve(_ extra: [String]) throws -> CommandResult {
            try runCommand(Paths.aloft, ["serve", "--data", scratch.path("data"), "--port", "0", "--admin-token", "t"] + extra, timeout: 60)
        }
        let alone = try serve(["--tls-cert", pki.serverCertificate])
        #expect(alone.code != 0 && alone.stderr.contains("tls-cert and tls-key go together"), "\(alone.output)")
        expectOneClearLine(try serve(["--tls-cert", pki.serverCertificate, "--tls-key", other.serverKey]), mentions: "does not belong")
        expectOneClearLine(try serve(["--tls-cert", pki.serverKey, "--tls-key", pki.serverKey]), mentions: "tls certificate")
        expectOneClearLine(try serve(["--tls-cert", pki.serverCertificate, "--tls-key", scratch.path("none.key")]), mentions: "private key")
    }
}
