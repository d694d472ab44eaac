import AloftCore
import Foundation
import HummingbirdTLS
import NIOSSL
import X509

/// The server's certificate chain and private key, as PEM files: with them `aloft serve` speaks HTTPS only.
public struct ServerTLS: Sendable {
    /// The server's certificate first, then any intermediate CA certificates.
    public var certificateChainPath: String
    public var privateKeyPath: String

    public init(certificateChainPath: String, privateKeyPath: String) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
    }

    /// Loads both files and checks that they belong together, so a mistake stops the server before it listens.
    func configuration() throws(AloftError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificateChainPath) } catch {
            throw AloftError("cannot load the TLS certificate \(certificateChainPath): not a readable PEM certificate file")
        }
        guard !chain.isEmpty else { throw AloftError("cannot load the TLS certificate \(certificateChainPath): no certificate in it") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem) } catch {
            throw AloftError("cannot load the TLS private key \(privateKeyPath): not a readable, unencrypted PEM private key")
        }
        // BoringSSL would only notice a mismatch at the first handshake.
        if let certificate = try? Certificate(derEncoded: chain[0].toDERBytes()),
            let text = FileManager.default.contents(atPath: privateKeyPath).map({ String(decoding: $0, as: UTF8.self) }),
            let privateKey = try? Certificate.PrivateKey(pemEncoded: text),
            privateKey.publicKey != certificate.publicKey
        {
            throw AloftError("the TLS private key \(privateKeyPath) does not belong to the certificate \(certificateChainPath)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // Every MicroPython port with ssl (mbedTLS) and every current client speaks TLS 1.2.
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}
