import AloftStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// What every check-in reads, kept in memory: the device each token hash belongs to, and each channel's release
/// sequences. A check-in of a device that is up to date then touches no database at all (its own write is batched by
/// the store).
///
/// It is dropped whole when the store says something it holds may have changed: at once for changes made through
/// this server's store (``FleetStore/localChangeCount``), and within ``CacheRefreshService``'s interval for changes
/// made by another server on the same database (``FleetStore/changeGeneration()``). So a revoked token stops working on
/// this server at its next request, and on every other server within a second.
final class FleetCache<Store: FleetStore>: Sendable {
    private struct Stamp: Equatable {
        var local: Int
        var remote: Int
    }

    private struct State {
        var stamp = Stamp(local: -1, remote: -1)
        var devices: [String: DeviceRecord] = [:]
        /// Every sequence of the channel, highest first.
        var sequences: [String: [Int]] = [:]

        /// Empties the state when `stamp` is not the one it was filled under.
        mutating func check(_ stamp: Stamp) {
            guard stamp != self.stamp else { return }
            self = State(stamp: stamp)
        }
    }

    /// Devices held before the whole cache is dropped (and refilled by the next check-ins).
    static var capacity: Int { 250_000 }

    let store: Store
    private let remote = Atomic<Int>(0)
    private let state = Mutex(State())

    init(store: Store) {
        self.store = store
    }

    private var stamp: Stamp { Stamp(local: store.localChangeCount, remote: remote.load(ordering: .acquiring)) }

    /// The device whose token hashes to `tokenHash`, unless it is revoked; from memory after the first time.
    func device(tokenHash: String) async throws -> DeviceRecord? {
        let before = stamp
        if let device = state.withLock({ state -> DeviceRecord? in
            state.check(before)
            return state.devices[tokenHash]
        }) {
            return device
        }
        // Unknown and revoked tokens are not remembered: a flood of made-up tokens must not fill memory.
        guard let device = try await store.device(tokenHash: tokenHash) else { return nil }
        state.withLock { state in
            // A change while the store was asked: the answer may be from before it, so it is not kept.
            guard state.stamp == before, self.stamp == before else { return }
            if state.devices.count >= Self.capacity { state.devices.removeAll(keepingCapacity: true) }
            state.devices[tokenHash] = device
        }
        return device
    }

    /// The channel's release sequences above `sequence`, highest first.
    func releaseSequences(channel: String, above sequence: Int) async throws -> [Int] {
        let before = stamp
        let cached = state.withLock { state -> [Int]? in
            state.check(before)
            return state.sequences[channel]
        }
        let all: [Int]
        if let cached {
            all = cached
        } else {
            all = try await store.releaseSequences(channel: channel, above: 0)
            state.withLock { state in
                guard state.stamp == before, self.stamp == before, state.sequences.count < 10_000 else { return }
                state.sequences[channel] = all
            }
        }
        return all.prefix { $0 > sequence }.map { $0 }
    }

    /// Reads the database's change generation; what has changed since the last read is dropped at its next use.
    func refresh() async throws {
        remote.store(try await store.changeGeneration(), ordering: .releasing)
    }
}

/// Polls the database's change generation for ``FleetCache``: changes by other servers reach this one's cache within
/// `interval`. A failed poll is logged and tried again; the cache keeps serving what it had meanwhile.
struct CacheRefreshService<Store: FleetStore>: Service {
    let cache: FleetCache<Store>
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await cache.refresh() } catch {
                    logger.error("reading the change generation failed; trying again", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
