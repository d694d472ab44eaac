import Prometheus

/// The server's Prometheus counters, in a registry of its own so that applications (and tests) never share one.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let checkIns: Counter
    let updatesOffered: Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.checkIns = registry.makeCounter(
            descriptor: .init(namespace: "aloft", metricName: "checkins", unitName: "total", helpText: "Device check-ins answered")
        )
        self.updatesOffered = registry.makeCounter(
            descriptor: .init(namespace: "aloft", metricName: "updates_offered", unitName: "total", helpText: "Check-ins answered with an update")
        )
    }

    func blobBytesServed(_ bytes: Int, encoding: BlobStore.Encoding) {
        guard bytes > 0 else { return }
        registry.makeCounter(
            descriptor: .init(namespace: "aloft", metricName: "blob_bytes_served", unitName: "total", helpText: "Blob body bytes sent"),
            labels: [("encoding", encoding.rawValue)]
        ).increment(by: Int64(bytes))
    }

    /// `type` must come from a closed set (``DeviceAPI/eventTypes``): every value is a time series.
    func deviceEvent(type: String) {
        registry.makeCounter(
            descriptor: .init(namespace: "aloft", metricName: "device_events", unitName: "total", helpText: "Device events received, by type"),
            labels: [("type", type)]
        ).increment()
    }

    /// `scope` is `device` or `address` (``RateLimitMiddleware/Scope``).
    func rateLimited(scope: String) {
        registry.makeCounter(
            descriptor: .init(namespace: "aloft", metricName: "rate_limited", unitName: "total", helpText: "Requests refused with 429, by limit"),
            labels: [("scope", scope)]
        ).increment()
    }

    /// Prometheus text exposition format.
    public func exposition() -> String {
        registry.emitToString()
    }
}
