import AloftStore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps the event and download history from growing without bound: removes what is older than `retention`, once when
/// the server starts and then every `interval`. A failed pass is logged and tried again at the next one; it never
/// stops the server.
struct HistoryRetentionService<Store: FleetStore>: Service {
    let store: Store
    let retention: Duration
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await prune()
                try await Task.sleep(for: interval)
            }
        }
    }

    /// One pass: everything recorded before `now - retention` goes.
    @discardableResult
    func prune(now: Date = Date()) async -> HistoryPruned? {
        let cutoff = now.addingTimeInterval(-Double(retention.components.seconds))
        do {
            let pruned = try await store.pruneHistory(before: cutoff)
            if pruned.events + pruned.downloads > 0 {
                logger.info("history pruned", metadata: ["events": "\(pruned.events)", "downloads": "\(pruned.downloads)", "before": "\(cutoff)"])
            }
            return pruned
        } catch {
            logger.error("pruning the history failed; trying again later", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
