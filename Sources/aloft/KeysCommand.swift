import AloftCore
import ArgumentParser
import Foundation

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Release signing keys.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an Ed25519 key pair: DIR/release.key (keep it offline) and DIR/release.pub.")

        @Option(help: "Folder for release.key and release.pub (created if missing; existing keys are never overwritten).")
        var out: String

        func run() throws {
            let dir = URL(fileURLWithPath: out)
            let keyPath = dir.appendingPathComponent("release.key").path
            let pubPath = dir.appendingPathComponent("release.pub").path
            for path in [keyPath, pubPath] where FileManager.default.fileExists(atPath: path) {
                throw AloftError("\(path) already exists; keys are never overwritten")
            }
            do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw AloftError("cannot create \(dir.path)")
            }
            let key = ReleasePrivateKey.generate()
            try AtomicFile.write(Array(key.pemRepresentation.utf8), to: keyPath, mode: 0o600, overwrite: false)
            try AtomicFile.write(Array(key.publicKey.pemRepresentation.utf8), to: pubPath, mode: 0o644, overwrite: false)
            print("wrote \(keyPath) (private, mode 0600: keep it off the server)")
            print("wrote \(pubPath) (key id \(key.publicKey.keyID))")
        }
    }
}

func readKeyFile(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else { throw AloftError("cannot read key file \(path)") }
    return String(decoding: data, as: UTF8.self)
}
