import AloftAPI
import AloftCore
import AloftStore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle

/// Everything `aloft serve` decides: where to listen, where data lives, the admin token and the database.
public struct AloftServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port; ``onServerRunning`` learns which.
    public var port: Int
    /// Holds `blobs/` and, unless ``database`` says otherwise, `aloft.sqlite`.
    public var dataDirectory: String
    /// The bootstrap admin token; only its SHA-256 is kept once the application is built. Nil: only the admin tokens stored
    /// in the database are accepted, and a database that never had one gets one (``onAdminTokenCreated``).
    public var adminToken: String?
    /// Nil means the SQLite file `DATA/aloft.sqlite`.
    public var database: FleetDatabase?
    /// Seconds a device waits between check-ins.
    public var pollInterval: Int
    /// Requests a minute per device and per client address on the device API, blobs included (429 beyond).
    public var rateLimits: RateLimits
    /// How long a connection may stay silent: before its request head is complete, between body parts, between requests.
    /// Sending a response is not silence, so a slow download is never cut.
    public var idleTimeout: Duration
    /// With it the server speaks HTTPS only; nil is plain HTTP.
    public var tls: ServerTLS?
    /// How long device events and blob requests are kept (pruned hourly); nil keeps them forever.
    public var historyRetention: Duration?
    public var logger: Logger
    /// What the server takes the time to be: check-ins, events, publishing, rollouts' soak times and windows.
    public var clock: @Sendable () -> Date
    /// How often running rollouts are looked at apart from the device events that move them (soak times ending).
    public var rolloutInterval: Duration
    /// The monotonic time the rate limits' buckets refill by.
    public var rateLimitClock: RateLimiter.Clock
    /// How often the database is asked whether another server changed what this one caches (tokens, tags, pins,
    /// releases): the longest a revocation on one server takes to reach the others.
    public var cacheRefreshInterval: Duration
    /// Called once the server listens, with the bound port.
    public var onServerRunning: @Sendable (_ port: Int) async -> Void
    /// Called with the admin token a first start made (no ``adminToken``, none stored yet): the only time it is seen.
    public var onAdminTokenCreated: @Sendable (_ token: String) async -> Void

    public init(
        host: String = "127.0.0.1", port: Int = 8080, dataDirectory: String, adminToken: String?, database: FleetDatabase? = nil,
        pollInterval: Int = 300, rateLimits: RateLimits = .standard, idleTimeout: Duration = .seconds(30), tls: ServerTLS? = nil,
        historyRetention: Duration? = .seconds(90 * 86_400), logger: Logger = Logger(label: "aloft.server"),
        clock: @escaping @Sendable () -> Date = { Date() }, rolloutInterval: Duration = .seconds(30),
        rateLimitClock: @escaping RateLimiter.Clock = RateLimiter.monotonicClock, cacheRefreshInterval: Duration = .milliseconds(500),
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in },
        onAdminTokenCreated: @escaping @Sendable (_ token: String) async -> Void = { _ in }
    ) {
        self.onAdminTokenCreated = onAdminTokenCreated
        self.clock = clock
        self.rolloutInterval = rolloutInterval
        self.rateLimitClock = rateLimitClock
        self.cacheRefreshInterval = cacheRefreshInterval
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.adminToken = adminToken
        self.database = database
        self.pollInterval = pollInterval
        self.rateLimits = rateLimits
        self.idleTimeout = idleTimeout
        self.tls = tls
        self.historyRetention = historyRetention
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    /// The database actually used.
    public var resolvedDatabase: FleetDatabase {
        database ?? .sqlite(path: "\(dataDirectory)/aloft.sqlite")
    }

    /// HTTP/1.1 settings: the idle timeout, and header limits far below NIO's 80 KiB defaults, since no client of
    /// this server sends more than a few hundred bytes of headers. Past a limit the server answers 400 and closes.
    public var http1: HTTP1Channel.Configuration {
        HTTP1Channel.Configuration(
            idleTimeout: TimeAmount(idleTimeout),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: 8 * 1024, maxHeaderListSize: 16 * 1024, maxHeaderFieldCount: 64)
        )
    }
}

/// Opens the store (running migrations) and the blob directory, and builds the application around them.
///
/// Run it with `try await app.runService()`; the store closes when the application shuts down.
public func buildApplication(_ configuration: AloftServerConfiguration) async throws -> some ApplicationProtocol {
    guard configuration.adminToken?.isEmpty != true else { throw AloftError("the admin token must not be empty") }
    guard configuration.pollInterval > 0 else { throw AloftError("the poll interval must be at least 1 second") }
    guard configuration.rateLimits.devicePerMinute >= 0, configuration.rateLimits.addressPerMinute >= 0 else {
        throw AloftError("rate limits must be 0 (off) or a positive number of requests a minute")
    }
    guard configuration.idleTimeout > .zero else { throw AloftError("the idle timeout must be positive") }
    if let retention = configuration.historyRetention, retention <= .zero {
        throw AloftError("the history retention must be positive (or none, to keep the history)")
    }
    let logger = configuration.logger
    // Before the store opens, so bad TLS files stop the server with nothing to clean up.
    let server: HTTPServerBuilder = try configuration.tls.map { try .tls(.http1(configuration: configuration.http1), tlsConfiguration: $0.configuration()) }
        ?? .http1(configuration: configuration.http1)
    try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
    let store = try await FluentFleetStore.open(configuration.resolvedDatabase, logger: logger)
    if configuration.adminToken == nil {
        do {
            try await makeFirstAdminToken(store: store, onCreated: configuration.onAdminTokenCreated)
        } catch {
            await store.shutdown()
            throw error
        }
    }
    // On PostgreSQL the blobs are in the database too, and this folder a cache of them: servers need no shared disk.
    let blobs = try BlobStore(directory: "\(configuration.dataDirectory)/blobs", shared: store.sharesBlobs ? StoreBlobs(store) : nil)
    let cache = FleetCache(store: store)
    let catalog = ReleaseCatalog(store: store, blobs: blobs)
    let router = buildRouter(
        store: store, blobs: blobs, metrics: ServerMetrics(), admin: AdminCredential(token: configuration.adminToken),
        pollInterval: configuration.pollInterval, rateLimits: configuration.rateLimits, clock: configuration.clock,
        rateLimitClock: configuration.rateLimitClock, cache: cache, catalog: catalog
    )
    let host = configuration.host
    let onServerRunning = configuration.onServerRunning
    let scheme = configuration.tls == nil ? "http" : "https"
    var app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(host, port: configuration.port), serverName: "aloft"),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            let shownHost = host.contains(":") ? "[\(host)]" : host
            logger.notice("Aloft server listening on \(scheme)://\(shownHost):\(port)", metadata: ["database": "\(configuration.resolvedDatabase)"])
            await onServerRunning(port)
        },
        logger: logger
    )
    app.addServices(FleetStoreService(store: store))  // first: it stops last, writing the pending check-ins
    app.addServices(CacheRefreshService(cache: cache, interval: configuration.cacheRefreshInterval, logger: logger))
    app.addServices(
        RolloutService(
            decisions: FleetDecisions(store: store, catalog: catalog, cache: cache, clock: configuration.clock), interval: configuration.rolloutInterval,
            logger: logger))
    if let retention = configuration.historyRetention {  // added after the store: it stops first
        app.addServices(HistoryRetentionService(store: store, retention: retention, interval: .seconds(3600), logger: logger))
    }
    return app
}

/// Without a bootstrap token, a database that never had an admin token gets one, stored only as its SHA-256 like every
/// stored token and handed to `onCreated` once. A later start finds it and makes none; so does one whose tokens were all
/// revoked (an operator who did that meant it: `--admin-token` still gets them in).
func makeFirstAdminToken<Store: FleetStore>(store: Store, onCreated: @Sendable (String) async -> Void) async throws {
    guard try await store.adminTokens().isEmpty else { return }
    let token = BearerSecret.admin.generate()
    do {
        _ = try await store.createAdminToken(name: AdminCredential.firstStartName, tokenHash: BearerSecret.hash(token))
    } catch StoreError.adminTokenExists {
        return  // another server on the same database made it at the same moment, and printed it
    }
    await onCreated(token)
}

/// All routes, on top of the given store and blob directory; what tests drive.
public func buildRouter<Store: FleetStore>(
    store: Store, blobs: BlobStore, metrics: ServerMetrics, admin: AdminCredential, pollInterval: Int = 300,
    rateLimits: RateLimits = .standard, clock: @escaping @Sendable () -> Date = { Date() },
    rateLimitClock: @escaping RateLimiter.Clock = RateLimiter.monotonicClock
) -> Router<AloftRequestContext> {
    buildRouter(
        store: store, blobs: blobs, metrics: metrics, admin: admin, pollInterval: pollInterval, rateLimits: rateLimits, clock: clock,
        rateLimitClock: rateLimitClock, cache: FleetCache(store: store), catalog: ReleaseCatalog(store: store, blobs: blobs))
}

/// The routes with the caches the application's services share.
func buildRouter<Store: FleetStore>(
    store: Store, blobs: BlobStore, metrics: ServerMetrics, admin: AdminCredential, pollInterval: Int, rateLimits: RateLimits,
    clock: @escaping @Sendable () -> Date, rateLimitClock: @escaping RateLimiter.Clock, cache: FleetCache<Store>, catalog: ReleaseCatalog<Store>
) -> Router<AloftRequestContext> {
    let decisions = FleetDecisions(store: store, catalog: catalog, cache: cache, clock: clock)
    let router = Router(context: AloftRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: MethodNotAllowedMiddleware())

    // The device API: the address limit runs before authentication, so guessing tokens costs requests too;
    // the device limit after it, keyed by the device the token belongs to. Everything about the fleet needs an admin
    // token, the metrics included.
    let perAddress = RateLimitMiddleware(
        limiter: rateLimits.addressPerMinute > 0 ? RateLimiter(perMinute: rateLimits.addressPerMinute, clock: rateLimitClock) : nil,
        scope: .address, metrics: metrics)
    let perDevice = RateLimitMiddleware(
        limiter: rateLimits.devicePerMinute > 0 ? RateLimiter(perMinute: rateLimits.devicePerMinute, clock: rateLimitClock) : nil,
        scope: .device, metrics: metrics)
    let perDeviceDownloads = RateLimitMiddleware(
        limiter: rateLimits.devicePerMinute > 0
            ? RateLimiter(perMinute: rateLimits.downloadsPerMinute, burst: rateLimits.downloadBurst, clock: rateLimitClock) : nil,
        scope: .device, metrics: metrics)
    func authenticate(_ audience: BearerAuthenticator<Store>.Audience) -> BearerAuthenticator<Store> {
        BearerAuthenticator(audience: audience, admin: admin, store: store, cache: cache)
    }
    let routes = RouteTable(
        router: router,
        middleware: [
            .anyone: [],
            .admin: [ConsoleErrorPages(clock: clock), authenticate(.admin)],  // the console's errors, its 401 too, as pages
            .device: [perAddress, authenticate(.device), perDevice],
            .deviceOrAdmin: [perAddress, authenticate(.deviceOrAdmin), perDeviceDownloads],  // the blobs
            .enrollment: [perAddress, authenticate(.enrollment), perDevice],
        ])

    DeviceAPI(
        store: store, decisions: decisions, blobs: BlobResponder(blobs: blobs, store: store, metrics: metrics, clock: clock), metrics: metrics,
        pollInterval: pollInterval, clock: clock
    ).addRoutes(to: routes)
    AdminAPI(store: store, blobs: blobs, decisions: decisions, clock: clock).addRoutes(to: routes)
    RolloutAPI(store: store, decisions: decisions, clock: clock).addRoutes(to: routes)
    AccessAPI(store: store).addRoutes(to: routes)
    ConsoleAPI(store: store, decisions: decisions, clock: clock).addRoutes(to: routes)

    routes.add(.metrics) { _, _ in
        metrics.recordCensus(try await store.deviceCensus())
        var rollouts: [RolloutView] = []
        for rollout in try await store.rollouts(channel: nil) where rollout.status.isActive || rollout.status == .halted {
            rollouts.append(try await decisions.view(rollout))
        }
        metrics.recordRollouts(rollouts)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition()))
        )
    }
    routes.add(.health) { _, context in try context.json(HealthResponse()) }
    let document = ByteBuffer(bytes: OpenAPIDocument.encoded())
    routes.add(.openAPIDocument) { _, _ in
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(document.readableBytes)],
            body: .init(byteBuffer: document))
    }
    return router
}

/// Closes the store after the server has stopped (ServiceGroup stops services in reverse order).
struct FleetStoreService<Store: FleetStore>: Service {
    let store: Store

    func run() async throws {
        try? await gracefulShutdown()
        await store.shutdown()
    }
}

/// Steps every running rollout now and then, so a soak time that ends while no device reports anything still starts the
/// next phase. Device events step their rollout at once; this is the backstop. A failed pass is logged and tried again.
struct RolloutService<Store: FleetStore>: Service {
    let decisions: FleetDecisions<Store>
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                do {
                    for rollout in try await decisions.store.rollouts(channel: nil) where rollout.status == .running {
                        try await decisions.advance(rollout, now: decisions.clock())
                    }
                } catch {
                    logger.error("stepping rollouts failed; trying again later", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
