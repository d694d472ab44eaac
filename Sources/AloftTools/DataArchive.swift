import AloftCore
import Foundation

/// A server's data folder as one tar file, `aloft.sqlite` and `blobs/…`: what `aloft backup` writes and `aloft restore`
/// reads.
///
/// Written and read by the system's `tar` (GNU tar or bsdtar, on every machine a server runs on): it streams blobs of any
/// size from disk, and anyone can list or unpack a backup with it by hand.
public enum DataArchive {
    /// The database's name in the archive and in a data folder.
    public static let databaseName = "aloft.sqlite"
    /// The blobs' folder in the archive and in a data folder.
    public static let blobsFolder = "blobs"

    /// The longest a tar may take; a backup of many gigabytes of blobs takes minutes.
    static let timeout: Double = 6 * 3600

    /// Writes `archive`: `database` as ``databaseName``, and `blobs` (paths under `blobsDirectory`) under ``blobsFolder``.
    public static func create(_ archive: String, database: String, blobsDirectory: String, blobs: [String]) throws(AloftError) {
        let list = archive + ".list"
        defer { try? FileManager.default.removeItem(atPath: list) }
        do {
            try Data(blobs.map { "\(blobsFolder)/\($0)\n" }.joined().utf8).write(to: URL(fileURLWithPath: list))
        } catch {
            throw AloftError("cannot write \(list): \(error.localizedDescription)")
        }
        let databaseURL = URL(fileURLWithPath: database)
        let dataFolder = URL(fileURLWithPath: blobsDirectory).deletingLastPathComponent().path
        guard databaseURL.lastPathComponent == databaseName, URL(fileURLWithPath: blobsDirectory).lastPathComponent == blobsFolder else {
            throw AloftError("the archive takes \(databaseName) and \(blobsFolder)/, not \(database) and \(blobsDirectory)")
        }
        // -C takes absolute paths: each is relative to the one before.
        try run(["-cf", archive, "-C", databaseURL.deletingLastPathComponent().path, databaseName, "-C", dataFolder, "-T", list], doing: "write \(archive)")
    }

    /// The names in `archive`.
    public static func members(_ archive: String) throws(AloftError) -> [String] {
        try run(["-tf", archive], doing: "read \(archive)").stdout.split(separator: "\n").map(String.init)
    }

    /// Unpacks `archive` into `folder` after checking it holds only an archive's names: nothing outside `folder`.
    public static func extract(_ archive: String, into folder: String) throws(AloftError) {
        let names = try members(archive)
        guard names.contains(databaseName) else { throw AloftError("\(archive) is not an aloft backup: it has no \(databaseName)") }
        if let stray = names.first(where: { name in
            name != databaseName && !name.hasPrefix(blobsFolder + "/") || name.split(separator: "/").contains("..")
        }) {
            throw AloftError("\(archive) is not an aloft backup: it has '\(stray)'")
        }
        // Files and folders only: a link could point outside `folder` and carry a later member there.
        let listing = try run(["-tvf", archive], doing: "read \(archive)").stdout.split(separator: "\n")
        if let odd = listing.first(where: { !($0.hasPrefix("-") || $0.hasPrefix("d")) }) {
            throw AloftError("\(archive) is not an aloft backup: it has '\(odd.split(separator: " ").last ?? odd)', not a file or folder")
        }
        try run(["-xf", archive, "-C", folder, "--no-same-owner"], doing: "unpack \(archive)")
    }

    @discardableResult
    private static func run(_ arguments: [String], doing what: String) throws(AloftError) -> CapturedProcess.Result {
        let result = try CapturedProcess.run("/usr/bin/env", ["tar"] + arguments, timeout: timeout)
        guard result.code == 0, !result.timedOut else {
            // tar's first complaint is the reason; its last is "Exiting with failure status".
            let said = result.stderr.split(separator: "\n").first.map { $0.hasPrefix("tar: ") ? String($0.dropFirst(5)) : String($0) }
            throw AloftError("cannot \(what): \(result.timedOut ? "tar took too long" : said ?? "tar failed")")
        }
        return result
    }
}
