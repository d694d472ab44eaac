import AloftAPI
import AloftStore
import Hummingbird
import Prometheus
import Synchronization

/// The server's Prometheus counters, in a registry of its own so that applications (and tests) never share one.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let checkIns: Counter
    let updatesOffered: Counter
    /// `aloft_checkin_outcomes_total{outcome}` by ``CheckInOutcome``, made once: check-in is the hot path.
    private let outcomes: [CheckInOutcome: Counter]

    /// What a check-in was answered.
    enum CheckInOutcome: String, CaseIterable {
        /// Nothing to do.
        case none
        /// Offered the channel's newest release (no rollout), or its pinned one.
        case update
        /// Offered a release by a rollout.
        case rollout
        /// Nothing now: outside a rollout's maintenance window, told when it opens.
        case window
        /// Nothing now: backing off from a release it failed for a passing reason, told when the backoff ends.
        case backoff
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.checkIns = registry.makeCounter(
            descriptor: .init(namespace: "aloft", metricName: "checkins", unitName: "total", helpText: "Device check-ins answered")
        )
        self.updatesOffered = registry.makeCounter(
            descriptor: .init(namespace: "aloft", metricName: "updates_offered", unitName: "total", helpText: "Check-ins answered with an update")
        )
        var outcomes: [CheckInOutcome: Counter] = [:]
        for outcome in CheckInOutcome.allCases {
            outcomes[outcome] = registry.makeCounter(
                descriptor: .init(
                    namespace: "aloft", metricName: "checkin_outcomes", unitName: "total",
                    helpText: "Check-ins by answer: none, update (no rollout), rollout, window (outside a maintenance window)"),
                labels: [("outcome", outcome.rawValue)])
        }
        self.outcomes = outcomes
    }

    func checkIn(_ outcome: CheckInOutcome) {
        outcomes[outcome]?.increment()
    }

    /// The rollout gauges set at the last scrape, so that those of a finished rollout go.
    private let rolloutGauges = GaugeSet()

    /// `aloft_rollout_phase{rollout,channel,version,status}`: the current phase (1-based) of each rollout not finished
    /// (running, paused or halted); `aloft_rollout_devices{rollout,phase,state}`: its targeted devices per phase and state.
    func recordRollouts(_ rollouts: [RolloutView]) {
        var values: [GaugeSet.Value] = []
        for rollout in rollouts {
            let id = String(rollout.id)
            values.append(
                GaugeSet.Value(
                    name: "rollout_phase", help: "Current phase (1-based) of each running, paused or halted rollout",
                    labels: [("rollout", id), ("channel", rollout.channel), ("version", rollout.version), ("status", rollout.status)],
                    value: rollout.phase))
            for phase in rollout.phases {
                let states = [
                    ("targeted", phase.devices), ("offered", phase.offered), ("firmware", phase.firmware), ("downloading", phase.downloading),
                    ("installed", phase.installed), ("confirmed", phase.confirmed), ("failed", phase.failed), ("rolled_back", phase.rolledBack),
                ]
                for (state, count) in states {
                    values.append(
                        GaugeSet.Value(
                            name: "rollout_devices", help: "Devices of a rollout's phase by state (targeted: all of the phase)",
                            labels: [("rollout", id), ("phase", String(phase.phase)), ("state", state)], value: count))
                }
            }
        }
        rolloutGauges.replace(with: values, in: registry)
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

    /// How long a request took, labelled with the API operation it was routed to (``APIOperation/id``, a closed set;
    /// `other` for a path the API does not have) and the status code.
    func requestFinished(operation: String, code: Int, after duration: Duration) {
        let key = HistogramKey(operation: operation, code: code)
        let histogram =
            requestDurations.withLock { $0[key] }
            ?? {
                // The registry names, sorts and looks up the labels on every call: once per operation and code is enough.
                let made = registry.makeDurationHistogram(
                    descriptor: .init(
                        namespace: "aloft", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                        helpText: "Time from a request's head to its response's head, by API operation and status code"),
                    labels: [("operation", operation), ("code", String(code))], buckets: Self.durationBuckets)
                requestDurations.withLock { $0[key] = made }
                return made
            }()
        histogram.recordNanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    private struct HistogramKey: Hashable {
        var operation: String
        var code: Int
    }

    /// The request duration histograms made so far: operations and status codes are closed sets, so this stays small.
    private let requestDurations = Mutex<[HistogramKey: DurationHistogram]>([:])

    static let durationBuckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map {
        .nanoseconds(Int64($0 * 1_000_000_000))
    }

    /// The `aloft_devices` gauges set by the last census, so that a group whose devices are all gone is removed.
    private let censusGauges = GaugeSet()

    /// `aloft_devices{channel, version, state}`: devices (revoked ones left out) per channel, installed release and
    /// last reported state, as the store counts them now.
    func recordCensus(_ census: [DeviceCensusRow]) {
        censusGauges.replace(
            with: census.map { row in
                GaugeSet.Value(
                    name: "devices", help: "Registered devices by channel, installed release and last reported state (none: nothing yet)",
                    labels: [("channel", row.channel), ("version", row.version ?? "none"), ("state", row.state ?? "none")], value: row.count)
            }, in: registry)
    }

    /// Prometheus text exposition format.
    public func exposition() -> String {
        registry.emitToString()
    }
}

/// Gauges set whole at each scrape: those of the last scrape that are not set again are unregistered, so a series
/// whose subject is gone (an empty group, a finished rollout) stops being exported.
final class GaugeSet: Sendable {
    struct Value {
        var name: String
        var help: String
        var labels: [(String, String)]
        var value: Int
    }

    private let gauges = Mutex<[String: Gauge]>([:])

    func replace(with values: [Value], in registry: PrometheusCollectorRegistry) {
        gauges.withLock { gauges in
            var seen: [String: Gauge] = [:]
            for value in values {
                let gauge = registry.makeGauge(descriptor: .init(namespace: "aloft", metricName: value.name, helpText: value.help), labels: value.labels)
                gauge.set(Double(value.value))
                seen[value.name + "|" + value.labels.map { $0.0 + "=" + $0.1 }.joined(separator: ",")] = gauge
            }
            for (key, gauge) in gauges where seen[key] == nil { registry.unregisterGauge(gauge) }
            gauges = seen
        }
    }
}

/// Times every request (``ServerMetrics/requestFinished(operation:code:after:)``); outermost, so that authentication,
/// rate limits and errors are in the figure.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let operation = APIOperation.Method(rawValue: request.method.rawValue).flatMap { APIOperation.operation($0, at: request.uri.path) }?.id ?? "other"
        do {
            let response = try await next(request, context)
            metrics.requestFinished(operation: operation, code: response.status.code, after: ContinuousClock.now - start)
            return response
        } catch let error as any HTTPResponseError {
            metrics.requestFinished(operation: operation, code: error.status.code, after: ContinuousClock.now - start)
            throw error
        } catch {
            metrics.requestFinished(operation: operation, code: 500, after: ContinuousClock.now - start)
            throw error
        }
    }
}
