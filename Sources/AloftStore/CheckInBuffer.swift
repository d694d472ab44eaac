import Foundation
import Synchronization

/// Check-ins waiting to be written: the newest of each device, written together in one transaction every
/// ``FluentFleetStore/checkInFlushInterval`` instead of one write per request.
///
/// Writes are serialized, so a reader that flushes first (``FluentFleetStore`` does before every device read) sees
/// every check-in this store took before it, including those a background flush was writing at that moment.
final class CheckInBuffer: Sendable {
    private let pending = Mutex<[String: DeviceCheckIn]>([:])
    private let gate = SerialGate()

    /// Keeps the newest check-in of the device.
    func add(_ checkIn: DeviceCheckIn) {
        pending.withLock { pending in
            if let held = pending[checkIn.deviceID], held.at > checkIn.at { return }
            pending[checkIn.deviceID] = checkIn
        }
    }

    /// Check-ins waiting, for tests.
    var count: Int { pending.withLock { $0.count } }

    /// Writes what is pending with `write`, one batch at a time. A batch that fails goes back, under newer check-ins of
    /// the same devices, and the error is thrown.
    func flush(_ write: ([DeviceCheckIn]) async throws -> Void) async throws {
        await gate.acquire()
        let batch = pending.withLock { pending in
            let batch = Array(pending.values)
            pending.removeAll(keepingCapacity: true)
            return batch
        }
        do {
            if !batch.isEmpty { try await write(batch) }
            await gate.release()
        } catch {
            pending.withLock { pending in
                for checkIn in batch where pending[checkIn.deviceID] == nil { pending[checkIn.deviceID] = checkIn }
            }
            await gate.release()
            throw error
        }
    }
}

/// One holder at a time, in arrival order: an async mutex for work that awaits.
actor SerialGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}
