import FluentKit
import SQLKit

// Migrations are append-only: a schema change is a new migration, never an edit of one that has shipped.

/// The first schema: devices, releases, events, downloads.
struct CreateFleetSchema: AsyncMigration {
    var name: String { "aloft.v1.CreateFleetSchema" }

    func prepare(on database: any Database) async throws {
        try await database.schema(DeviceModel.schema)
            .field("id", .string, .identifier(auto: false))
            .field("channel", .string, .required)
            .field("token_hash", .string, .required)
            .field("board", .string)
            .field("micropython", .string)
            .field("mpy", .int64)
            .field("free", .int64)
            .field("version", .string)
            .field("sequence", .int64, .required)
            .field("last_seen", .datetime)
            .field("created_at", .datetime, .required)
            .field("last_event_type", .string)
            .field("last_event_version", .string)
            .field("last_event_sequence", .int64)
            .field("last_event_reason", .string)
            .field("last_event_at", .datetime)
            .unique(on: "token_hash")
            .create()

        try await database.schema(ReleaseModel.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("channel", .string, .required)
            .field("sequence", .int64, .required)
            .field("version", .string, .required)
            .field("created", .string, .required)
            .field("envelope", .string, .required)
            .field("file_count", .int64, .required)
            .field("total_size", .int64, .required)
            .field("published_at", .datetime, .required)
            // Backs up the check in FluentFleetStore.publish against a second writer.
            .unique(on: "channel", "sequence")
            .create()

        try await database.schema(EventModel.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("device_id", .string, .required)
            .field("type", .string, .required)
            .field("version", .string)
            .field("sequence", .int64)
            .field("reason", .string)
            .field("at", .datetime, .required)
            .create()

        try await database.schema(DownloadModel.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("device_id", .string)
            .field("sha256", .string, .required)
            .field("encoding", .string, .required)
            .field("bytes", .int64, .required)
            .field("status", .int64, .required)
            .field("at", .datetime, .required)
            .create()

        // Fluent's schema builder has no plain indexes; both SQLite and PostgreSQL accept this SQL.
        if let sql = database as? any SQLDatabase {
            try await sql.raw("CREATE INDEX IF NOT EXISTS events_device_id ON events (device_id, id)").run()
            try await sql.raw("CREATE INDEX IF NOT EXISTS downloads_device_id ON downloads (device_id, id)").run()
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema(DownloadModel.schema).delete()
        try await database.schema(EventModel.schema).delete()
        try await database.schema(ReleaseModel.schema).delete()
        try await database.schema(DeviceModel.schema).delete()
    }
}

/// Named admin tokens, fleet enrollments, and revocable device tokens.
struct AddAccessControl: AsyncMigration {
    var name: String { "aloft.v2.AddAccessControl" }

    func prepare(on database: any Database) async throws {
        try await database.schema(AdminTokenModel.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("name", .string, .required)
            .field("token_hash", .string, .required)
            .field("created_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .unique(on: "name")
            .unique(on: "token_hash")
            .create()

        try await database.schema(EnrollmentModel.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("name", .string, .required)
            .field("channel", .string, .required)
            .field("secret_hash", .string, .required)
            .field("created_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .unique(on: "name")
            .unique(on: "secret_hash")
            .create()

        // SQLite adds one column per ALTER TABLE; Fluent issues one statement per field.
        try await database.schema(DeviceModel.schema).field("revoked_at", .datetime).update()
        try await database.schema(DeviceModel.schema).field("enrollment", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(DeviceModel.schema).deleteField("enrollment").update()
        try await database.schema(DeviceModel.schema).deleteField("revoked_at").update()
        try await database.schema(EnrollmentModel.schema).delete()
        try await database.schema(AdminTokenModel.schema).delete()
    }
}

/// The version of the agent a device runs, as it reports at check-in.
struct AddDeviceAgent: AsyncMigration {
    var name: String { "aloft.v3.AddDeviceAgent" }

    func prepare(on database: any Database) async throws {
        try await database.schema(DeviceModel.schema).field("agent", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(DeviceModel.schema).deleteField("agent").update()
    }
}

/// Indexes the history by time, for the hourly retention pass (`pruneHistory(before:)`).
struct IndexHistoryTimes: AsyncMigration {
    var name: String { "aloft.v4.IndexHistoryTimes" }

    func prepare(on database: any Database) async throws {
        if let sql = database as? any SQLDatabase {
            try await sql.raw("CREATE INDEX IF NOT EXISTS events_at ON events (at)").run()
            try await sql.raw("CREATE INDEX IF NOT EXISTS downloads_at ON downloads (at)").run()
        }
    }

    func revert(on database: any Database) async throws {
        if let sql = database as? any SQLDatabase {
            try await sql.raw("DROP INDEX IF EXISTS events_at").run()
            try await sql.raw("DROP INDEX IF EXISTS downloads_at").run()
        }
    }
}

/// Releases keep a format-1 envelope beside their format-2 one, for agents before 0.3.0 (docs/protocol.md, "Format 1").
///
/// Every release stored before this migration has a format-1 envelope only: it moves to `legacy_envelope`, so those
/// devices are still offered it, and `envelope` is left empty, which the store reads as "no format-2 envelope" (the column
/// is NOT NULL since v1, and SQLite cannot relax a column's constraint without rebuilding the table).
struct AddLegacyEnvelopes: AsyncMigration {
    var name: String { "aloft.v5.AddLegacyEnvelopes" }

    func prepare(on database: any Database) async throws {
        try await database.schema(ReleaseModel.schema).field("legacy_envelope", .string).update()
        if let sql = database as? any SQLDatabase {
            // Both sides of SET read the row as it was, on SQLite and PostgreSQL alike.
            try await sql.raw("UPDATE releases SET legacy_envelope = envelope, envelope = ''").run()
        }
    }

    func revert(on database: any Database) async throws {
        if let sql = database as? any SQLDatabase {
            // Servers before v5 read `envelope` as format 1; a release with only a format-2 envelope stays unreadable to them.
            try await sql.raw("UPDATE releases SET envelope = legacy_envelope WHERE legacy_envelope IS NOT NULL").run()
        }
        try await database.schema(ReleaseModel.schema).deleteField("legacy_envelope").update()
    }
}

/// Staged rollouts: device and enrollment tags, pins and what check-ins say about rejection and format; held releases; rollouts and
/// what each device did with a rollout's release.
struct AddRollouts: AsyncMigration {
    var name: String { "aloft.v6.AddRollouts" }

    func prepare(on database: any Database) async throws {
        try await database.schema(DeviceModel.schema).field("tags", .string).update()
        try await database.schema(DeviceModel.schema).field("pin", .string).update()
        try await database.schema(DeviceModel.schema).field("rejected", .int64).update()
        try await database.schema(DeviceModel.schema).field("format", .int64).update()
        try await database.schema(ReleaseModel.schema).field("held", .bool).update()
        try await database.schema(EnrollmentModel.schema).field("tags", .string).update()

        try await database.schema(RolloutModel.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("channel", .string, .required)
            .field("sequence", .int64, .required)
            .field("version", .string, .required)
            .field("policy", .string, .required)
            .field("status", .string, .required)
            .field("phase", .int64, .required)
            .field("phase_started_at", .datetime, .required)
            .field("settled_at", .datetime)
            .field("halt_reason", .string)
            .field("created_at", .datetime, .required)
            .create()

        try await database.schema(RolloutDeviceModel.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("rollout_id", .int64, .required)
            .field("device_id", .string, .required)
            .field("state", .string, .required)
            .field("reason", .string)
            .field("at", .datetime, .required)
            .field("offered_at", .datetime, .required)
            .unique(on: "rollout_id", "device_id")
            .create()

        if let sql = database as? any SQLDatabase {
            try await sql.raw("CREATE INDEX IF NOT EXISTS rollouts_channel ON rollouts (channel, id)").run()
            try await sql.raw("CREATE INDEX IF NOT EXISTS rollout_devices_device ON rollout_devices (device_id)").run()
            try await sql.raw("CREATE INDEX IF NOT EXISTS releases_channel_version ON releases (channel, version)").run()
            try await sql.raw("CREATE INDEX IF NOT EXISTS devices_channel ON devices (channel, id)").run()
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema(RolloutDeviceModel.schema).delete()
        try await database.schema(RolloutModel.schema).delete()
        try await database.schema(EnrollmentModel.schema).deleteField("tags").update()
        try await database.schema(ReleaseModel.schema).deleteField("held").update()
        for field in ["format", "rejected", "pin", "tags"] { try await database.schema(DeviceModel.schema).deleteField(.string(field)).update() }
    }
}

/// A row per change that servers cache (a device's token, revocation, tags or pin; a published release): the largest
/// id is the generation every server polls to drop what it cached (``FleetStore/changeGeneration()``).
struct AddChangeLog: AsyncMigration {
    var name: String { "aloft.v7.AddChangeLog" }

    func prepare(on database: any Database) async throws {
        try await database.schema(FluentFleetStore.changeLogTable)
            .field("id", .int64, .identifier(auto: true))
            .field("at", .datetime, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(FluentFleetStore.changeLogTable).delete()
    }
}

/// Blobs in the database: with PostgreSQL, every server reads the blobs any server was given (each keeps a copy on its
/// own disk as a cache). Created on SQLite too, where it stays empty (one machine has one disk).
struct AddSharedBlobs: AsyncMigration {
    var name: String { "aloft.v8.AddSharedBlobs" }

    func prepare(on database: any Database) async throws {
        try await database.schema(BlobModel.schema)
            .field("id", .string, .identifier(auto: false))
            .field("data", .data, .required)
            .field("size", .int64, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(BlobModel.schema).delete()
    }
}

/// Firmware (docs/firmware.md): what each check-in says of a device's firmware, the step of an event (and of a device's
/// last one), a release's firmware images and whether it was published `--firmware-without-rollback`. Every column is
/// nullable: rows from before are devices that reported nothing of their firmware, files-step events, releases without
/// firmware.
struct AddFirmware: AsyncMigration {
    var name: String { "aloft.v9.AddFirmware" }

    static let deviceFields: [(String, DatabaseSchema.DataType)] = [
        ("fw_build", .string), ("fw_ota", .bool), ("fw_chip", .string), ("fw_slot", .int64), ("fw_running", .string), ("fw_state", .string),
        ("fw_rollback", .bool), ("fw_sha256", .string), ("fw_rejected", .string), ("last_event_step", .string),
    ]

    func prepare(on database: any Database) async throws {
        for (field, type) in Self.deviceFields { try await database.schema(DeviceModel.schema).field(.string(field), type).update() }
        try await database.schema(EventModel.schema).field("step", .string).update()
        try await database.schema(ReleaseModel.schema).field("firmware", .string).update()
        try await database.schema(ReleaseModel.schema).field("firmware_without_rollback", .bool).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ReleaseModel.schema).deleteField("firmware_without_rollback").update()
        try await database.schema(ReleaseModel.schema).deleteField("firmware").update()
        try await database.schema(EventModel.schema).deleteField("step").update()
        for (field, _) in Self.deviceFields.reversed() { try await database.schema(DeviceModel.schema).deleteField(.string(field)).update() }
    }
}

/// What the server remembers of each device's failures with each release (docs/protocol.md, "Failures"): attempts, the
/// last failure's kind, reason and time, and the free flash of a no-flash failure.
struct AddReleaseFailures: AsyncMigration {
    var name: String { "aloft.v10.AddReleaseFailures" }

    func prepare(on database: any Database) async throws {
        try await database.schema(ReleaseFailureModel.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("device_id", .string, .required)
            .field("sequence", .int64, .required)
            .field("version", .string)
            .field("attempts", .int64, .required)
            .field("kind", .string, .required)
            .field("reason", .string, .required)
            .field("at", .datetime, .required)
            .field("free", .int64)
            // One row per device and release; also the index check-in reads a device's rows by.
            .unique(on: "device_id", "sequence")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ReleaseFailureModel.schema).delete()
    }
}
