import AloftCore
import AloftTools
import ArgumentParser
import Foundation

struct Release: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish and list releases.", subcommands: [Publish.self, List.self])

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a folder of MicroPython files here and publish it.")

        @Argument(help: "Folder whose files land on the device at the same paths (main.py -> /main.py).")
        var source: String

        @Option(help: "Semantic version, e.g. 1.2.0.")
        var version: String

        @Option(help: "Private key (PKCS#8 PEM) from `aloft keys generate`.")
        var key: String

        @Option(help: "Channel.")
        var channel: String = "stable"

        @Option(name: .customLong("board"), help: "Board glob this release is for (repeatable; default: every board).")
        var boards: [String] = []

        @Option(help: "Minimum MicroPython version, e.g. 1.21.")
        var minMicropython: String?

        @Option(help: "Sequence number (default: the channel's latest + 1).")
        var sequence: Int?

        @OptionGroup var server: ServerOptions

        func run() async throws {
            let version = try SemanticVersion(parsing: version)
            let compat = Compatibility(boards: boards.isEmpty ? ["*"] : boards, micropython: minMicropython)
            try compat.validate()
            let key = try ReleasePrivateKey(pem: try readKeyFile(key))
            let folder = try ReleaseFolder(root: URL(fileURLWithPath: source))
            let outcome = try await Publisher(client: try server.client()).publish(
                folder: folder, version: version, key: key, channel: channel, compat: compat, sequence: sequence)
            let m = outcome.manifest
            print("published \(m.version) (sequence \(m.sequence)) on \(m.channel): \(m.files.count) files, \(m.totalSize) bytes; uploaded \(outcome.uploadedBlobs) new blobs (\(outcome.uploadedBytes) bytes)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List published releases, newest first.")

        @Option(help: "Only this channel.")
        var channel: String?

        @Flag(help: "JSON output.")
        var json = false

        @OptionGroup var server: ServerOptions

        func run() async throws {
            let releases = try await server.client().releases(channel: channel)
            if json { return try printJSON(releases) }
            var rows = [["CHANNEL", "SEQ", "VERSION", "FILES", "BYTES", "CREATED"]]
            rows += releases.map { [$0.channel, String($0.sequence), $0.version, String($0.files), String($0.size), $0.created] }
            printTable(rows)
        }
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

func printTable(_ rows: [[String]]) {
    guard let first = rows.first else { return }
    let widths = first.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces))
    }
}
