import AloftCore
import Foundation
import Logging
import Testing

@testable import AloftStore

/// ``FleetStore/devicePage(_:)``: the console's listing, filtered and paged in the database (SQLite here, PostgreSQL in
/// ``PostgresStoreTests``), where LIKE and case rules differ between the two.
@Suite struct DevicePageStoreTests {
    /// Devices of a channel of their own (a shared PostgreSQL database holds other runs' devices), then every filter.
    static func exercise(_ store: FluentFleetStore, run: String) async throws {
        let channel = "page-\(run)"
        let p = "\(run)-"
        let ids = [p + "A_1", p + "a-1", p + "b-2", p + "B.3", p + "c-4"]
        for (index, id) in ids.enumerated() {
            _ = try await store.createDevice(
                NewDevice(id: id, channel: channel, tokenHash: Digest.sha256Hex(Array(id.utf8)), tags: index == 0 ? ["eu"] : (index == 1 ? ["EU"] : [])))
        }
        try await store.recordCheckIn(
            DeviceCheckIn(deviceID: p + "b-2", version: "1.0.0", sequence: 1, board: nil, micropython: nil, agent: nil, mpy: nil, free: nil, at: Date()))
        try await store.recordEvent(DeviceEvent(deviceID: p + "b-2", type: "confirmed", version: "1.0.0", sequence: 1, reason: nil, at: Date()))
        try await store.recordEvent(DeviceEvent(deviceID: p + "c-4", type: "failed", version: "1.0.0", sequence: 1, reason: "x", at: Date()))

        func page(_ query: DeviceQuery) async throws -> (ids: [String], total: Int) {
            var query = query
            query.channel = channel
            let found = try await store.devicePage(query)
            return (found.devices.map(\.id), found.total)
        }
        #expect(try await page(DeviceQuery()).ids == ids.sorted())
        #expect(try await page(DeviceQuery(offset: 1, limit: 2)) == (Array(ids.sorted()[1...2]), 5))
        #expect(try await page(DeviceQuery(offset: 9, limit: 2)) == ([], 5))
        // A cursor (the last id of the page before) walks the same order as the sort; total still counts every match.
        var walked: [String] = []
        var after: String?
        for _ in 0..<5 {
            let next = try await page(DeviceQuery(after: after, limit: 2))
            #expect(next.total == 5)
            walked += next.ids
            after = next.ids.last
            if next.ids.count < 2 { break }
        }
        #expect(walked == ids.sorted(), "\(walked)")
        #expect(try await page(DeviceQuery(search: "A_1")).ids == [p + "A_1"], "`_` is not LIKE's any character")
        #expect(try await page(DeviceQuery(search: "-a")).ids.count == 2, "any case: A_1 and a-1")
        #expect(try await page(DeviceQuery(search: "%")).ids == [])
        #expect(try await page(DeviceQuery(search: "b.3")).ids == [p + "B.3"])
        #expect(try await page(DeviceQuery(tag: "eu")).ids == [p + "A_1"], "tags are exact, case included")
        #expect(try await page(DeviceQuery(tag: "EU")).ids == [p + "a-1"])
        #expect(try await page(DeviceQuery(tag: "e")).ids == [], "a whole tag, not part of one")
        #expect(try await page(DeviceQuery(version: "1.0.0")).ids == [p + "b-2"])
        #expect(try await page(DeviceQuery(version: "")).total == 4, "nothing installed")
        #expect(try await page(DeviceQuery(state: "confirmed")).ids == [p + "b-2"])
        #expect(try await page(DeviceQuery(state: "")).total == 3, "no event yet")
        #expect(try await page(DeviceQuery(search: "-", state: "failed")).ids == [p + "c-4"])
    }

    @Test func filtersAndPagesOnSQLite() async throws {
        let store = try await FluentFleetStore.open(.sqliteMemory, logger: Logger(label: "aloft.test.page"))
        try await Self.exercise(store, run: "lite")
        await store.shutdown()
    }
}
