import AloftCore
import AloftServer
import AloftStore
import AloftTools
import ArgumentParser
import Foundation
import Logging

/// `aloft backup`: a server's SQLite database and blobs in one tar file, while the server runs.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a server's data folder (SQLite database and blobs) into one tar file, while the server runs.",
        discussion: "For PostgreSQL use pg_dump and copy the blobs folder: docs/deploy.md, \"Backups\".")

    @Option(help: "The server's data folder (its --data).")
    var data: String

    @Option(help: "The server's database, when its --database was given: an SQLite file path.")
    var database: String?

    @Option(help: "The tar file to write (replaced when it exists; written beside it as FILE.tmp first).")
    var out: String

    func run() async throws {
        let fm = FileManager.default
        let data = URL(fileURLWithPath: self.data).standardizedFileURL.path
        guard isDirectory(data) else { throw AloftError("no data folder \(data)") }
        let path: String
        switch database.map(FleetDatabase.init(argument:)) ?? .sqlite(path: "\(data)/\(DataArchive.databaseName)") {
        case .postgres:
            throw AloftError("aloft backup copies an SQLite database; for PostgreSQL use pg_dump -Fc and copy \(data)/blobs (docs/deploy.md, \"Backups\")")
        case .sqliteMemory:
            throw AloftError("an in-memory database has nothing to back up")
        case .sqlite(let file):
            path = URL(fileURLWithPath: file).standardizedFileURL.path
        }
        guard fm.fileExists(atPath: path), !isDirectory(path) else { throw AloftError("no database at \(path) (pass the server's --data, or its --database)") }
        let out = URL(fileURLWithPath: self.out).standardizedFileURL
        guard isDirectory(out.deletingLastPathComponent().path) else { throw AloftError("no folder \(out.deletingLastPathComponent().path) for --out") }
        guard !isDirectory(out.path) else { throw AloftError("--out \(out.path) is a folder; name the file to write") }

        let staging = out.path + ".tmp-\(getpid())"
        let partial = out.path + ".tmp"
        defer {
            try? fm.removeItem(atPath: staging)
            try? fm.removeItem(atPath: partial)
        }
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: false)
        let snapshot = "\(staging)/\(DataArchive.databaseName)"
        do {
            try await SQLiteFile.snapshot(path, into: snapshot)
        } catch {
            throw AloftError("cannot copy the database \(path): \(error)")
        }
        // After the snapshot: every blob a release in it names is on disk by now (publishing uploads blobs first and the
        // server refuses a release whose blobs it lacks), and blobs never change. Later ones come along harmlessly.
        // A server that never stored a blob has no folder; BlobStore would make one, and a backup writes nothing there.
        let blobsDirectory = "\(data)/\(DataArchive.blobsFolder)"
        let files = isDirectory(blobsDirectory) ? try BlobStore(directory: blobsDirectory).storedFiles() : []
        try DataArchive.create(partial, database: snapshot, blobsDirectory: blobsDirectory, blobs: files)
        guard rename(partial, out.path) == 0 else { throw AloftError("cannot rename \(partial) to \(out.path): \(String(cString: strerror(errno)))") }
        let size = (try? fm.attributesOfItem(atPath: out.path)[.size] as? Int) ?? 0
        say("backed up \(path) and \(files.count) blob file(s) to \(out.path) (\(size) bytes)")
    }
}

/// `aloft restore`: a backup unpacked into a new data folder, checked before it appears.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unpack an aloft backup into a new data folder, after checking its database and blobs.",
        discussion: "Start the server on the folder afterwards (aloft serve --data DIR). docs/deploy.md, \"Backups\", says what happens to sequences.")

    @Option(help: "The tar file aloft backup wrote.")
    var from: String

    @Option(help: "The data folder to create (it may exist if empty).")
    var data: String

    func run() async throws {
        let fm = FileManager.default
        let from = URL(fileURLWithPath: self.from).standardizedFileURL.path
        guard fm.fileExists(atPath: from), !isDirectory(from) else { throw AloftError("no backup file \(from)") }
        let target = URL(fileURLWithPath: self.data).standardizedFileURL
        if fm.fileExists(atPath: target.appendingPathComponent(DataArchive.databaseName).path) {
            throw AloftError("\(target.path) holds an \(DataArchive.databaseName) already; restore into a new folder")
        }
        let targetExists = fm.fileExists(atPath: target.path)
        if targetExists {
            guard isDirectory(target.path), (try? fm.contentsOfDirectory(atPath: target.path))?.isEmpty == true else {
                throw AloftError("\(target.path) is not an empty folder; restore into a new folder")
            }
        }
        guard isDirectory(target.deletingLastPathComponent().path) else { throw AloftError("no folder \(target.deletingLastPathComponent().path) for --data") }

        let staging = target.path + ".tmp-\(getpid())"
        defer { try? fm.removeItem(atPath: staging) }
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: false)
        try DataArchive.extract(from, into: staging)
        let database = "\(staging)/\(DataArchive.databaseName)"
        let integrity: String
        do { integrity = try await SQLiteFile.integrityCheck(database) } catch { throw AloftError("the database in \(from) does not open: \(error)") }
        guard integrity == "ok" else { throw AloftError("the database in \(from) fails SQLite's integrity check: \(integrity)") }

        var logger = Logger(label: "aloft.restore")
        logger.logLevel = .warning
        let store: FluentFleetStore
        do { store = try await FluentFleetStore.open(.sqlite(path: database), logger: logger) } catch { throw AloftError("the database in \(from) does not open: \(error)") }
        let counts: (releases: Int, missing: [String])
        do {
            let blobs = try BlobStore(directory: "\(staging)/\(DataArchive.blobsFolder)")
            counts = (try await store.releaseCount(), try await blobs.missingBlobs(of: store))
            await store.shutdown()
        } catch {
            await store.shutdown()
            throw AloftError("cannot check the releases in \(from): \(error)")
        }
        guard counts.missing.isEmpty else {
            throw AloftError("\(from) lacks \(counts.missing.count) blob(s) its releases name (\(counts.missing[0]) first); nothing restored")
        }
        if targetExists { try fm.removeItem(atPath: target.path) }
        guard rename(staging, target.path) == 0 else { throw AloftError("cannot rename \(staging) to \(target.path): \(String(cString: strerror(errno)))") }
        say("restored \(counts.releases) release(s) and their blobs into \(target.path); start the server with --data \(target.path)")
    }
}

private func isDirectory(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
}
