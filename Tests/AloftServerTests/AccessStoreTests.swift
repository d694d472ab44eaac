import AloftStore
import Foundation
import Logging
import Testing

/// Admin tokens, enrollments and device revocation in the store, on SQLite and (with `ALOFT_TEST_POSTGRES_URL`) PostgreSQL.
@Suite struct AccessStoreTests {
    static var databases: [FleetDatabase] {
        [.sqliteMemory] + (PostgresTestDatabase.url.map { [.postgres(url: $0)] } ?? [])
    }

    @Test(arguments: databases) func adminTokensAndEnrollments(database: FleetDatabase) async throws {
        if case .postgres = database { try await PostgresTestDatabase.migrated.value }
        let store = try await FluentFleetStore.open(database, logger: Logger(label: "aloft.test.access"))
        let run = UUID().uuidString.prefix(8).lowercased()  // names unique per run: a PostgreSQL database may be reused
        let hash = DeviceTokenHash.random()

        let created = try await store.createAdminToken(name: "ci-\(run)", tokenHash: hash)
        #expect(created.revokedAt == nil)
        await #expect(throws: StoreError.adminTokenExists("ci-\(run)")) {
            try await store.createAdminToken(name: "ci-\(run)", tokenHash: DeviceTokenHash.random())
        }
        #expect(try await store.adminToken(tokenHash: hash)?.name == "ci-\(run)")
        try await store.revokeAdminToken(name: "ci-\(run)")
        try await store.revokeAdminToken(name: "ci-\(run)")
        #expect(try await store.adminToken(tokenHash: hash) == nil)
        #expect(try await store.adminTokens().first { $0.name == "ci-\(run)" }?.revokedAt != nil)
        await #expect(throws: StoreError.adminTokenNotFound("nobody-\(run)")) { try await store.revokeAdminToken(name: "nobody-\(run)") }

        let secret = DeviceTokenHash.random()
        _ = try await store.createEnrollment(name: "batch-\(run)", channel: "beta", secretHash: secret)
        await #expect(throws: StoreError.enrollmentExists("batch-\(run)")) {
            try await store.createEnrollment(name: "batch-\(run)", channel: "stable", secretHash: DeviceTokenHash.random())
        }
        #expect(try await store.enrollment(secretHash: secret)?.channel == "beta")
        _ = try await store.createDevice(NewDevice(id: "enrolled-\(run)", channel: "beta", tokenHash: DeviceTokenHash.random(), enrollment: "batch-\(run)"))
        #expect(try await store.device(id: "enrolled-\(run)")?.enrollment == "batch-\(run)")
        try await store.revokeEnrollment(name: "batch-\(run)")
        #expect(try await store.enrollment(secretHash: secret) == nil)
        #expect(try await store.enrollments().first { $0.name == "batch-\(run)" }?.revokedAt != nil)
        await #expect(throws: StoreError.enrollmentNotFound("nobody-\(run)")) { try await store.revokeEnrollment(name: "nobody-\(run)") }
        await store.shutdown()
    }

    @Test(arguments: databases) func revokedDevicesAreNotFoundByTokenUntilReissued(database: FleetDatabase) async throws {
        if case .postgres = database { try await PostgresTestDatabase.migrated.value }
        let store = try await FluentFleetStore.open(database, logger: Logger(label: "aloft.test.access"))
        let id = "dev-\(UUID().uuidString.prefix(8).lowercased())"
        let first = DeviceTokenHash.random()
        _ = try await store.createDevice(NewDevice(id: id, channel: "stable", tokenHash: first))
        try await store.revokeDevice(id: id)
        #expect(try await store.device(tokenHash: first) == nil)
        #expect(try await store.device(id: id)?.revokedAt != nil, "the device itself is still there")

        let second = DeviceTokenHash.random()
        try await store.replaceDeviceToken(id: id, tokenHash: second)
        #expect(try await store.device(tokenHash: second)?.id == id)
        #expect(try await store.device(tokenHash: first) == nil)
        #expect(try await store.device(id: id)?.revokedAt == nil)
        await #expect(throws: StoreError.deviceNotFound("nobody")) { try await store.revokeDevice(id: "nobody") }
        await #expect(throws: StoreError.deviceNotFound("nobody")) { try await store.replaceDeviceToken(id: "nobody", tokenHash: second) }
        await store.shutdown()
    }
}
