import AloftCore
import FluentKit
import FluentPostgresDriver
import FluentSQL
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// How ``FluentFleetStore/publish(_:)`` keeps two publishers of one channel apart: on PostgreSQL (READ COMMITTED) a
/// transaction-scoped advisory lock per channel around the check and the insert; SQLite's one connection serializes
/// transactions anyway. Tests turn the lock off and widen the gap between check and insert to see the race it closes.
struct PublishSerialization: Sendable {
    var lock = true
    /// Runs between the checks and the insert, inside the transaction (and the lock).
    var afterCheck: (@Sendable (NewRelease) async -> Void)? = nil

    static let standard = PublishSerialization()
}

/// ``FleetStore`` on FluentKit: one code path for SQLite (default) and PostgreSQL.
///
/// ``open(_:logger:)`` connects and runs migrations; ``shutdown()`` closes the connections.
/// With SQLite the store uses a single connection (one event loop), so writes never contend for the file lock.
public final class FluentFleetStore: FleetStore {
    private let databases: Databases
    private let eventLoopGroup: any EventLoopGroup
    private let backend: FleetDatabase
    private let logger: Logger
    /// The file behind `.sqliteMemory`, removed at shutdown.
    private let scratchFile: String?
    private let publishSerialization: PublishSerialization
    /// Check-ins not written yet; ``checkInFlushInterval`` writes them, every device read and ``shutdown()`` first.
    private let checkIns = CheckInBuffer()
    private let flusher = Mutex<Task<Void, Never>?>(nil)
    /// Changes made through this store (see ``changeGeneration()``), counted once committed.
    private let localChanges = Atomic<Int>(0)

    /// How long a check-in may wait to be written with others.
    static var checkInFlushInterval: Duration { .milliseconds(100) }
    static let changeLogTable = "fleet_changes"

    private init(
        databases: Databases, eventLoopGroup: any EventLoopGroup, backend: FleetDatabase, logger: Logger, scratchFile: String?,
        publishSerialization: PublishSerialization
    ) {
        self.publishSerialization = publishSerialization
        self.databases = databases
        self.eventLoopGroup = eventLoopGroup
        self.backend = backend
        self.logger = logger
        self.scratchFile = scratchFile
    }

    /// Every migration, in order. Append-only.
    static let migrations: [any AsyncMigration] = [
        CreateFleetSchema(), AddAccessControl(), AddDeviceAgent(), IndexHistoryTimes(), AddLegacyEnvelopes(), AddRollouts(), AddChangeLog(),
        AddSharedBlobs(), AddFirmware(), AddReleaseFailures(),
    ]

    /// Connects to `database` and brings its schema up to date.
    public static func open(_ database: FleetDatabase, logger: Logger) async throws -> FluentFleetStore {
        try await open(database, logger: logger, migrations: migrations)
    }

    /// Connects to `database` and runs `migrations`; tests open an older schema this way, and change how publishes are
    /// serialized to see that the lock is what keeps sequences in order.
    static func open(
        _ database: FleetDatabase, logger: Logger, migrations: [any AsyncMigration], publishSerialization: PublishSerialization = .standard
    ) async throws -> FluentFleetStore {
        // One event loop for SQLite means one pooled connection; PostgreSQL gets the shared group.
        let group: any EventLoopGroup
        let factory: DatabaseConfigurationFactory
        let id: DatabaseID
        var scratchFile: String? = nil
        switch database {
        case .sqlite(let path):
            group = MultiThreadedEventLoopGroup.singleton.any()
            factory = .sqlite(.file(path), sqlLogLevel: .trace)
            id = .sqlite
        case .sqliteMemory:
            // SQLiteKit's `.memory` is a temporary file it never deletes; use one we can.
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-scratch-\(UUID().uuidString).sqlite").path
            scratchFile = path
            group = MultiThreadedEventLoopGroup.singleton.any()
            factory = .sqlite(.file(path), sqlLogLevel: .trace)
            id = .sqlite
        case .postgres(let url):
            group = MultiThreadedEventLoopGroup.singleton
            do {
                factory = try .postgres(url: url, maxConnectionsPerEventLoop: 4, sqlLogLevel: .trace)
            } catch {
                throw FleetStoreConfigurationError("cannot use database \(database): \(error)")
            }
            id = .psql
        }
        let databases = Databases(threadPool: .singleton, on: group)
        databases.use(factory, as: id, isDefault: true)
        let store = FluentFleetStore(
            databases: databases, eventLoopGroup: group, backend: database, logger: logger, scratchFile: scratchFile,
            publishSerialization: publishSerialization)
        do {
            try await store.migrate(migrations)
        } catch {
            await store.shutdown()
            throw error
        }
        store.startFlushing()
        return store
    }

    /// Writes pending check-ins every ``checkInFlushInterval`` until shutdown; a failed write is logged and retried.
    private func startFlushing() {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.checkInFlushInterval)
                guard let self else { return }
                do { try await self.settle() } catch { self.logger.error("writing check-ins failed; trying again", metadata: ["error": "\(error)"]) }
            }
        }
        flusher.withLock { $0 = task }
    }

    /// Writes the check-ins taken so far, waiting for one being written: what reads of devices do first.
    func settle() async throws {
        try await checkIns.flush { batch in try await self.write(batch) }
    }

    /// Rows a single UPDATE of ``write(_:)`` carries: 20 binds each, 10,000 in all, below SQLite's 32,766 and PostgreSQL's 65,535.
    static var checkInRowsPerStatement: Int { 500 }

    /// One transaction for the batch, one statement per ``checkInRowsPerStatement`` check-ins: `UPDATE … FROM (VALUES …)`.
    /// A check-in older than what the row has (another server wrote a newer one) is left out.
    ///
    /// One statement a row cost a prepare and a trip to SQLite's thread (or a round trip to PostgreSQL) per check-in, which
    /// made the batch as dear as the request. Plain SQL, not Fluent's query builder, which reflects over the model's fields
    /// for every statement. A VALUES list's columns are `column1`, `column2`, … in both databases.
    private func write(_ batch: [DeviceCheckIn]) async throws {
        try await db().transaction { db in
            guard let sql = db as? any SQLDatabase else { throw FleetStoreConfigurationError("the database does not take SQL") }
            var start = batch.startIndex
            while start < batch.endIndex {
                let end = min(start + Self.checkInRowsPerStatement, batch.endIndex)
                try await sql.raw(Self.checkInUpdate(batch[start..<end])).run()
                start = end
            }
        }
    }

    /// The statement that writes `checkIns` (each of another device).
    static func checkInUpdate(_ checkIns: ArraySlice<DeviceCheckIn>) -> SQLQueryString {
        let rows: [SQLQueryString] = checkIns.map { c in
            let f = c.firmware
            return """
                (\(bind: c.deviceID), \(bind: c.version), \(bind: c.sequence), \(bind: c.board), \(bind: c.micropython), \(bind: c.agent), \
                \(bind: c.mpy), \(bind: c.free), \(bind: c.rejected), \(bind: c.format), \(bind: c.at), \(bind: f.build), \(bind: f.ota), \
                \(bind: f.chip), \(bind: f.slot), \(bind: f.running), \(bind: f.state), \(bind: f.rollback), \(bind: f.sha256), \(bind: f.rejected))
                """
        }
        return """
            UPDATE "devices" SET "version" = "v"."column2", "sequence" = "v"."column3", "board" = "v"."column4",
            "micropython" = "v"."column5", "agent" = "v"."column6", "mpy" = "v"."column7", "free" = "v"."column8",
            "rejected" = "v"."column9", "format" = "v"."column10", "last_seen" = "v"."column11", "fw_build" = "v"."column12",
            "fw_ota" = "v"."column13", "fw_chip" = "v"."column14", "fw_slot" = "v"."column15", "fw_running" = "v"."column16",
            "fw_state" = "v"."column17", "fw_rollback" = "v"."column18", "fw_sha256" = "v"."column19", "fw_rejected" = "v"."column20"
            FROM (VALUES \(rows.joined(separator: ", "))) AS "v"
            WHERE "devices"."id" = "v"."column1" AND ("devices"."last_seen" IS NULL OR "devices"."last_seen" <= "v"."column11")
            """
    }

    public func changeGeneration() async throws -> Int {
        guard let sql = try db() as? any SQLDatabase else { return localChanges.load(ordering: .relaxed) }
        struct Row: Decodable { var generation: Int? }
        return try await sql.raw("SELECT MAX(id) AS generation FROM \(ident: Self.changeLogTable)").first(decoding: Row.self)?.generation ?? 0
    }

    public var localChangeCount: Int { localChanges.load(ordering: .relaxed) }

    // MARK: Shared blobs

    public var sharesBlobs: Bool {
        if case .postgres = backend { true } else { false }
    }

    public func storeBlob(_ sha256: String, form: String, bytes: [UInt8]) async throws {
        let db = try db()
        if try await BlobModel.query(on: db).filter(\.$id == BlobModel.key(sha256, form)).count() > 0 { return }
        do {
            try await BlobModel(sha256: sha256, form: form, bytes: bytes).create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // Another server stored the same blob in between: blobs are immutable, so theirs is this one.
        }
    }

    public func blobBytes(_ sha256: String, form: String) async throws -> [UInt8]? {
        try await BlobModel.find(BlobModel.key(sha256, form), on: db()).map { Array($0.data) }
    }

    /// Notes a change servers cache, in the transaction that makes it; ``committed()`` counts it locally afterwards.
    private func noteChange(on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.raw("INSERT INTO \(ident: Self.changeLogTable) (at) VALUES (\(bind: Date()))").run()
    }

    private func committed() {
        localChanges.add(1, ordering: .relaxed)
    }

    public func shutdown() async {
        flusher.withLock { $0?.cancel() }
        do { try await settle() } catch { logger.error("writing the last check-ins failed", metadata: ["error": "\(error)"]) }
        await databases.shutdownAsync()
        if let scratchFile {
            for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: scratchFile + suffix) }
        }
    }

    private func migrate(_ list: [any AsyncMigration]) async throws {
        if case .sqlite = backend, let sql = try db() as? any SQLDatabase {
            // Readers (e.g. `sqlite3` on a live server) no longer block the writer, and commits need fewer syncs.
            try await sql.raw("PRAGMA journal_mode=WAL").run()
        }
        let migrations = Migrations()
        for migration in list { migrations.add(migration) }
        let migrator = Migrator(databases: databases, migrations: migrations, logger: logger, on: eventLoopGroup.any(), migrationLogLevel: .debug)
        try await migrator.setupIfNeeded().get()
        try await migrator.prepareBatch().get()
    }

    /// The database; internal for tests that need SQL of their own.
    func db() throws -> any Database {
        guard let db = databases.database(logger: logger, on: eventLoopGroup.any()) else {
            throw FleetStoreConfigurationError("the store has been shut down")
        }
        return db
    }

    // MARK: Devices

    public func createDevice(_ device: NewDevice) async throws -> DeviceRecord {
        let db = try db()
        if try await DeviceModel.find(device.id, on: db) != nil { throw StoreError.deviceExists(device.id) }
        let model = DeviceModel(device, createdAt: Date())
        do {
            try await model.create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // Another request registered the same id (or, astronomically unlikely, the same token) in between.
            throw StoreError.deviceExists(device.id)
        }
        return model.record
    }

    public func device(id: String) async throws -> DeviceRecord? {
        try await settle()
        return try await DeviceModel.find(id, on: db())?.record
    }

    public func device(tokenHash: String) async throws -> DeviceRecord? {
        try await DeviceModel.query(on: db()).filter(\.$tokenHash == tokenHash).filter(\.$revokedAt == nil).first()?.record
    }

    public func revokeDevice(id: String) async throws {
        try await settle()
        let changed: Bool = try await db().transaction { db in
            guard let device = try await DeviceModel.find(id, on: db) else { throw StoreError.deviceNotFound(id) }
            guard device.revokedAt == nil else { return false }
            device.revokedAt = Date()
            try await device.save(on: db)
            try await self.noteChange(on: db)
            return true
        }
        if changed { committed() }
    }

    public func replaceDeviceToken(id: String, tokenHash: String) async throws {
        try await settle()
        try await db().transaction { db in
            guard let device = try await DeviceModel.find(id, on: db) else { throw StoreError.deviceNotFound(id) }
            device.tokenHash = tokenHash
            device.revokedAt = nil
            try await device.save(on: db)
            try await self.noteChange(on: db)
        }
        committed()
    }

    public func deviceCensus() async throws -> [DeviceCensusRow] {
        try await settle()
        guard let sql = try db() as? any SQLDatabase else {  // both drivers are SQL; counted here otherwise
            var counts: [DeviceCensusRow: Int] = [:]
            for d in try await devices() where d.revokedAt == nil {
                counts[DeviceCensusRow(channel: d.channel, version: d.version, state: d.lastEvent?.type, count: 0), default: 0] += 1
            }
            return counts.map { row, count in DeviceCensusRow(channel: row.channel, version: row.version, state: row.state, count: count) }
        }
        struct Row: Decodable {
            var channel: String
            var version: String?
            var state: String?
            var count: Int
        }
        let rows = try await sql.raw(
            """
            SELECT channel, version, last_event_type AS state, COUNT(*) AS count FROM devices WHERE revoked_at IS NULL
            GROUP BY channel, version, last_event_type ORDER BY channel, version, last_event_type
            """
        ).all(decoding: Row.self)
        return rows.map { DeviceCensusRow(channel: $0.channel, version: $0.version, state: $0.state, count: $0.count) }
    }

    public func releaseFailures(channel: String, sequence: Int) async throws -> [ReleaseFailureRow] {
        try await settle()
        guard let sql = try db() as? any SQLDatabase else {  // both drivers are SQL; counted here otherwise
            var groups: [ReleaseFailureRow: (count: Int, devices: Set<String>)] = [:]
            for device in try await devices(channel: channel) {
                for event in try await events(deviceID: device.id, limit: nil)
                where event.sequence == sequence && (event.type == "failed" || event.type == "rolled_back") {
                    let key = ReleaseFailureRow(type: event.type, step: event.step, reason: event.reason, count: 0, devices: 0)
                    groups[key, default: (0, [])].count += 1
                    groups[key, default: (0, [])].devices.insert(device.id)
                }
            }
            return groups.map { ReleaseFailureRow(type: $0.type, step: $0.step, reason: $0.reason, count: $1.count, devices: $1.devices.count) }
                .sorted { ($0.count, $1.reason ?? "") > ($1.count, $0.reason ?? "") }
        }
        struct Row: Decodable {
            var type: String
            var step: String?
            var reason: String?
            var count: Int
            var devices: Int
        }
        let rows = try await sql.raw(
            """
            SELECT e.type AS type, e.step AS step, e.reason AS reason, COUNT(*) AS count, COUNT(DISTINCT e.device_id) AS devices
            FROM events e JOIN devices d ON d.id = e.device_id
            WHERE d.channel = \(bind: channel) AND e.sequence = \(bind: sequence) AND e.type IN ('failed', 'rolled_back')
            GROUP BY e.type, e.step, e.reason ORDER BY count DESC, e.reason
            """
        ).all(decoding: Row.self)
        return rows.map { ReleaseFailureRow(type: $0.type, step: $0.step, reason: $0.reason, count: $0.count, devices: $0.devices) }
    }

    public func devices() async throws -> [DeviceRecord] {
        try await settle()
        return try await DeviceModel.query(on: db()).sort(\.$id).all().map(\.record)
    }

    public func devices(channel: String) async throws -> [DeviceRecord] {
        try await settle()
        return try await DeviceModel.query(on: db()).filter(\.$channel == channel).sort(\.$id).all().map(\.record)
    }

    public func devicePage(_ query: DeviceQuery) async throws -> DevicePage {
        try await settle()
        let filtered = try DeviceModel.query(on: db())
        if let search = query.search, !search.isEmpty {
            // LIKE's own characters are escaped, so `_` in an id is an underscore, not "any character".
            let pattern = "%" + Self.escapeLike(search.lowercased()) + "%"
            filtered.filter(.sql(embed: "LOWER(\(ident: "id")) LIKE \(bind: pattern) ESCAPE '!'"))
        }
        if let channel = query.channel { filtered.filter(\.$channel == channel) }
        if let version = query.version {
            if version.isEmpty { filtered.filter(\.$version == nil) } else { filtered.filter(\.$version == version) }
        }
        if let state = query.state {
            if state.isEmpty { filtered.filter(\.$lastEventType == nil) } else { filtered.filter(\.$lastEventType == state) }
        }
        if let tag = query.tag {
            // Tags are stored as `,a,b,`. REPLACE is case-sensitive in SQLite and PostgreSQL alike, where LIKE is not.
            let needle = "," + tag + ","
            filtered.filter(.sql(embed: "REPLACE(\(ident: "tags"), \(bind: needle), '') <> \(ident: "tags")"))
        }
        let total = try await filtered.copy().count()
        if let after = query.after { filtered.filter(\.$id > after) }
        let devices = try await filtered.sort(\.$id).range(query.offset..<(query.offset + max(0, query.limit))).all().map(\.record)
        return DevicePage(devices: devices, total: total)
    }

    /// `text` with LIKE's `%` and `_` (and the escape character `!`) escaped by `!`.
    static func escapeLike(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "%" || character == "_" || character == "!" { out.append("!") }
            out.append(character)
        }
        return out
    }

    public func updateDeviceTags(id: String, add: [String], remove: [String]) async throws -> DeviceRecord {
        try await settle()
        let record = try await db().transaction { db in
            guard let device = try await DeviceModel.find(id, on: db) else { throw StoreError.deviceNotFound(id) }
            let tags = Set(DeviceModel.decodeTags(device.tags)).union(add).subtracting(remove)
            device.tags = DeviceModel.encodeTags(Array(tags))
            try await device.save(on: db)
            try await self.noteChange(on: db)
            return device.record
        }
        committed()
        return record
    }

    public func setDevicePin(id: String, version: String?) async throws -> DeviceRecord {
        try await settle()
        let record = try await db().transaction { db in
            guard let device = try await DeviceModel.find(id, on: db) else { throw StoreError.deviceNotFound(id) }
            device.pin = version
            try await device.save(on: db)
            try await self.noteChange(on: db)
            return device.record
        }
        committed()
        return record
    }

    public func recordCheckIn(_ checkIn: DeviceCheckIn) async throws {
        // The hot path: no write here; the next flush writes the newest check-in of each device with the others.
        checkIns.add(checkIn)
    }

    public func recordEvent(_ event: DeviceEvent) async throws {
        try await settle()
        try await db().transaction { db in
            guard let device = try await DeviceModel.find(event.deviceID, on: db) else { throw StoreError.deviceNotFound(event.deviceID) }
            try await EventModel(event).create(on: db)
            device.lastEventType = event.type
            device.lastEventVersion = event.version
            device.lastEventSequence = event.sequence
            device.lastEventReason = event.reason
            device.lastEventStep = event.step
            device.lastEventAt = event.at
            try await device.save(on: db)
            try await Self.rememberFailure(event, free: device.free, on: db)
            // What the event says about a rollout's release, for each rollout of it that offered it to this device.
            guard let sequence = event.sequence, let state = RolloutDeviceState(event: event.type, step: event.step) else { return }
            let rollouts = try await RolloutModel.query(on: db).filter(\.$channel == device.channel).filter(\.$sequence == sequence).all(\.$id)
            guard !rollouts.isEmpty else { return }
            let rows = try await RolloutDeviceModel.query(on: db).filter(\.$deviceID == event.deviceID).filter(\.$rolloutID ~~ rollouts).all()
            for row in rows {
                let next = row.outcome.state.then(state)
                guard next != row.outcome.state || state.isFailure else { continue }
                row.state = next.rawValue
                row.at = event.at
                if state.isFailure { row.reason = event.reason }
                try await row.save(on: db)
            }
        }
    }

    /// A `failed` event adds to the memory of the device's failures with its release; `installed` or `confirmed` of a
    /// release clears that release's. Events without a sequence are about no release in particular.
    private static func rememberFailure(_ event: DeviceEvent, free: Int?, on db: any Database) async throws {
        guard let sequence = event.sequence else { return }
        let row = try await ReleaseFailureModel.query(on: db).filter(\.$deviceID == event.deviceID).filter(\.$sequence == sequence).first()
        switch event.type {
        case "failed":
            if let row {
                row.update(from: row.record.adding(reason: event.reason, version: event.version, at: event.at, free: free))
                try await row.save(on: db)
            } else {
                let first = ReleaseFailure.first(sequence: sequence, version: event.version, reason: event.reason, at: event.at, free: free)
                try await ReleaseFailureModel(deviceID: event.deviceID, first).create(on: db)
            }
        case DeviceEvent.installed, "confirmed":
            try await row?.delete(on: db)
        default: break
        }
    }

    public func failures(deviceIDs: [String]) async throws -> [String: [ReleaseFailure]] {
        guard !deviceIDs.isEmpty else { return [:] }
        var out: [String: [ReleaseFailure]] = [:]
        // Bounded lists of binds: a page of devices is at most 1000, well below both databases' limits.
        for chunk in stride(from: 0, to: deviceIDs.count, by: 1000).map({ Array(deviceIDs[$0..<min($0 + 1000, deviceIDs.count)]) }) {
            for row in try await ReleaseFailureModel.query(on: db()).filter(\.$deviceID ~~ chunk).sort(\.$sequence).all() {
                out[row.deviceID, default: []].append(row.record)
            }
        }
        return out
    }

    public func clearFailures(deviceID: String, sequence: Int?) async throws -> [ReleaseFailure] {
        try await db().transaction { db in
            let query = ReleaseFailureModel.query(on: db).filter(\.$deviceID == deviceID)
            if let sequence { query.filter(\.$sequence == sequence) }
            let rows = try await query.copy().sort(\.$sequence).all()
            try await query.delete()
            return rows.map(\.record)
        }
    }

    public func events(deviceID: String, limit: Int?) async throws -> [DeviceEvent] {
        let query = try EventModel.query(on: db()).filter(\.$deviceID == deviceID).sort(\.$id, .descending)
        if let limit { query.limit(limit) }
        return try await query.all().map(\.record)
    }

    public func recordDownload(_ download: BlobDownload) async throws {
        try await DownloadModel(download).create(on: db())
    }

    public func downloads(deviceID: String, limit: Int?) async throws -> [BlobDownload] {
        let query = try DownloadModel.query(on: db()).filter(\.$deviceID == deviceID).sort(\.$id, .descending)
        if let limit { query.limit(limit) }
        return try await query.all().map(\.record)
    }

    public func pruneHistory(before cutoff: Date) async throws -> HistoryPruned {
        try await db().transaction { db in
            let events = try await EventModel.query(on: db).filter(\.$at < cutoff).count()
            try await EventModel.query(on: db).filter(\.$at < cutoff).delete()
            let downloads = try await DownloadModel.query(on: db).filter(\.$at < cutoff).count()
            try await DownloadModel.query(on: db).filter(\.$at < cutoff).delete()
            return HistoryPruned(events: events, downloads: downloads)
        }
    }

    // MARK: Releases

    public func publish(_ release: NewRelease) async throws -> ReleaseRecord {
        let isPostgres = if case .postgres = backend { true } else { false }
        let serialization = publishSerialization
        try await settle()  // what devices reported, for the check below
        do {
            let record = try await db().transaction { db in
                if isPostgres, serialization.lock, let sql = db as? any SQLDatabase {
                    // READ COMMITTED would let two publishers both pass the check below; serialize per channel.
                    try await sql.raw("SELECT pg_advisory_xact_lock(hashtext(\(bind: "aloft.releases." + release.channel)))").run()
                }
                let latest = try await ReleaseModel.query(on: db)
                    .filter(\.$channel == release.channel)
                    .sort(\.$sequence, .descending)
                    .first()
                if let latest, latest.sequence >= release.sequence {
                    throw StoreError.sequenceNotIncreasing(channel: release.channel, sequence: release.sequence, latest: latest.sequence)
                }
                if let reported = try await Self.highestReportedSequence(channel: release.channel, on: db), reported >= release.sequence {
                    throw StoreError.sequenceNotAboveDevices(channel: release.channel, sequence: release.sequence, reported: reported)
                }
                // Versions are unique per channel (two publishers of one version race past the server's earlier check).
                if let same = try await ReleaseModel.query(on: db).filter(\.$channel == release.channel).filter(\.$version == release.version).first() {
                    throw StoreError.versionExists(channel: release.channel, version: release.version, sequence: same.sequence)
                }
                await serialization.afterCheck?(release)
                let model = try ReleaseModel(release)
                try await model.create(on: db)
                try await self.noteChange(on: db)
                return try model.record()
            }
            committed()
            return record
        } catch let error as any DatabaseError where error.isConstraintFailure {
            let latest = try await latestRelease(channel: release.channel)?.sequence ?? release.sequence
            throw StoreError.sequenceNotIncreasing(channel: release.channel, sequence: release.sequence, latest: latest)
        }
    }

    public func releases(channel: String?, limit: Int?) async throws -> [ReleaseRecord] {
        let query = try ReleaseModel.query(on: db())
        if let channel {
            query.filter(\.$channel == channel).sort(\.$sequence, .descending)
        } else {
            query.sort(\.$publishedAt, .descending).sort(\.$id, .descending)
        }
        if let limit { query.limit(limit) }
        return try await query.all().map { try $0.record() }
    }

    public func releaseCount() async throws -> Int {
        try await ReleaseModel.query(on: db()).count()
    }

    public func latestRelease(channel: String) async throws -> ReleaseRecord? {
        try await ReleaseModel.query(on: db()).filter(\.$channel == channel).sort(\.$sequence, .descending).first()?.record()
    }

    public func highestReportedSequence(channel: String) async throws -> Int? {
        try await settle()
        return try await Self.highestReportedSequence(channel: channel, on: db())
    }

    private static func highestReportedSequence(channel: String, on db: any Database) async throws -> Int? {
        let devices = DeviceModel.query(on: db).filter(\.$channel == channel)
        let running = try await devices.copy().max(\.$sequence)
        let rejected = try await devices.copy().max(\.$rejected)
        return running.map { ChannelSequence.floor(latestRelease: $0, highestReported: rejected) }
    }

    public func releaseSequences(channel: String, above sequence: Int) async throws -> [Int] {
        try await ReleaseModel.query(on: db())
            .filter(\.$channel == channel)
            .filter(\.$sequence > sequence)
            .sort(\.$sequence, .descending)
            .all(\.$sequence)
    }

    public func release(channel: String, sequence: Int) async throws -> ReleaseRecord? {
        try await ReleaseModel.query(on: db()).filter(\.$channel == channel).filter(\.$sequence == sequence).first()?.record()
    }

    public func release(channel: String, version: String) async throws -> ReleaseRecord? {
        try await ReleaseModel.query(on: db()).filter(\.$channel == channel).filter(\.$version == version).sort(\.$sequence, .descending).first()?.record()
    }

    // MARK: Rollouts

    public func createRollout(_ rollout: NewRollout) async throws -> Rollout {
        let model = try RolloutModel(rollout)
        try await model.create(on: db())
        return try model.record()
    }

    public func rollouts(channel: String?) async throws -> [Rollout] {
        let query = try RolloutModel.query(on: db()).sort(\.$id, .descending)
        if let channel { query.filter(\.$channel == channel) }
        return try await query.all().map { try $0.record() }
    }

    public func rollout(id: Int) async throws -> Rollout? {
        try await RolloutModel.find(id, on: db())?.record()
    }

    public func updateRollout(_ rollout: Rollout) async throws {
        let db = try db()
        guard let model = try await RolloutModel.find(rollout.id, on: db) else { throw StoreError.rolloutNotFound(rollout.id) }
        model.update(from: rollout)
        try await model.save(on: db)
    }

    public func recordOffer(rollout: Int, deviceID: String, at: Date) async throws {
        let db = try db()
        if try await RolloutDeviceModel.query(on: db).filter(\.$rolloutID == rollout).filter(\.$deviceID == deviceID).first() != nil { return }
        do {
            try await RolloutDeviceModel(rolloutID: rollout, deviceID: deviceID, at: at).create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // A concurrent check-in of the same device recorded it first.
        }
    }

    public func rolloutOutcomes(rollout: Int) async throws -> [String: RolloutOutcome] {
        let rows = try await RolloutDeviceModel.query(on: db()).filter(\.$rolloutID == rollout).all()
        return Dictionary(rows.map { ($0.deviceID, $0.outcome) }, uniquingKeysWith: { a, _ in a })
    }
}

extension FluentFleetStore {
    // MARK: Admin tokens

    public func createAdminToken(name: String, tokenHash: String) async throws -> AdminTokenRecord {
        let db = try db()
        if try await AdminTokenModel.query(on: db).filter(\.$name == name).first() != nil { throw StoreError.adminTokenExists(name) }
        let model = AdminTokenModel(name: name, tokenHash: tokenHash, createdAt: Date())
        do {
            try await model.create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw StoreError.adminTokenExists(name)
        }
        return model.record
    }

    public func adminTokens() async throws -> [AdminTokenRecord] {
        try await AdminTokenModel.query(on: db()).sort(\.$name).all().map(\.record)
    }

    public func adminToken(tokenHash: String) async throws -> AdminTokenRecord? {
        try await AdminTokenModel.query(on: db()).filter(\.$tokenHash == tokenHash).filter(\.$revokedAt == nil).first()?.record
    }

    public func revokeAdminToken(name: String) async throws {
        let db = try db()
        guard let token = try await AdminTokenModel.query(on: db).filter(\.$name == name).first() else {
            throw StoreError.adminTokenNotFound(name)
        }
        guard token.revokedAt == nil else { return }
        token.revokedAt = Date()
        try await token.save(on: db)
    }

    // MARK: Enrollments

    public func createEnrollment(name: String, channel: String, secretHash: String, tags: [String]) async throws -> EnrollmentRecord {
        let db = try db()
        if try await EnrollmentModel.query(on: db).filter(\.$name == name).first() != nil { throw StoreError.enrollmentExists(name) }
        let model = EnrollmentModel(name: name, channel: channel, secretHash: secretHash, createdAt: Date(), tags: tags)
        do {
            try await model.create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw StoreError.enrollmentExists(name)
        }
        return model.record
    }

    public func enrollments() async throws -> [EnrollmentRecord] {
        try await EnrollmentModel.query(on: db()).sort(\.$name).all().map(\.record)
    }

    public func enrollment(secretHash: String) async throws -> EnrollmentRecord? {
        try await EnrollmentModel.query(on: db()).filter(\.$secretHash == secretHash).filter(\.$revokedAt == nil).first()?.record
    }

    public func revokeEnrollment(name: String) async throws {
        let db = try db()
        guard let enrollment = try await EnrollmentModel.query(on: db).filter(\.$name == name).first() else {
            throw StoreError.enrollmentNotFound(name)
        }
        guard enrollment.revokedAt == nil else { return }
        enrollment.revokedAt = Date()
        try await enrollment.save(on: db)
    }
}

/// The store could not be opened or is no longer open.
public struct FleetStoreConfigurationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
