import FluentKit
import FluentSQL
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import NIOPosix

/// An SQLite database file opened on a connection of its own, beside any server using it: what `aloft backup` and
/// `aloft restore` do to one.
public enum SQLiteFile {
    /// Copies the database as it is at one moment into `target` (which must not exist) with `VACUUM INTO`: a read
    /// transaction, so a server using the file (WAL mode) keeps reading and writing while it runs, and the copy holds only
    /// committed transactions. The copy is compact and in rollback-journal mode, one file.
    public static func snapshot(_ path: String, into target: String) async throws {
        try await withConnection(path) { sql in
            // A checkpoint of the server's may hold the lock for a moment; wait for it rather than fail.
            try await sql.raw("PRAGMA busy_timeout = 10000").run()
            try await sql.raw("VACUUM INTO \(bind: target)").run()
        }
    }

    /// `PRAGMA integrity_check`: "ok", or SQLite's first lines about what is wrong.
    public static func integrityCheck(_ path: String) async throws -> String {
        try await withConnection(path) { sql in
            let rows = try await sql.raw("PRAGMA integrity_check(5)").all()
            return try rows.map { try $0.decode(column: "integrity_check", as: String.self) }.joined(separator: "; ")
        }
    }

    /// Opens `path` (which must exist: SQLite would create it), runs `body` on one connection and closes it.
    private static func withConnection<T: Sendable>(_ path: String, _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard FileManager.default.fileExists(atPath: path) else { throw FleetStoreConfigurationError("no database at \(path)") }
        var logger = Logger(label: "aloft.sqlite-file")
        logger.logLevel = .warning
        let group = MultiThreadedEventLoopGroup.singleton.any()
        let databases = Databases(threadPool: .singleton, on: group)
        databases.use(.sqlite(.file(path), sqlLogLevel: .trace), as: .sqlite, isDefault: true)
        do {
            guard let sql = databases.database(logger: logger, on: group) as? any SQLDatabase else {
                throw FleetStoreConfigurationError("cannot open \(path) as SQLite")
            }
            let result = try await body(sql)
            await databases.shutdownAsync()
            return result
        } catch {
            await databases.shutdownAsync()
            throw error
        }
    }
}
