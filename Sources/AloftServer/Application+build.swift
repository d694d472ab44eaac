import AloftCore
import AloftStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Everything `aloft serve` decides: where to listen, where data lives, the admin token and the database.
public struct AloftServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port; ``onServerRunning`` learns which.
    public var port: Int
    /// Holds `blobs/` and, unless ``database`` says otherwise, `aloft.sqlite`.
    public var dataDirectory: String
    /// Only its SHA-256 is kept once the application is built.
    public var adminToken: String
    /// Nil means the SQLite file `DATA/aloft.sqlite`.
    public var database: FleetDatabase?
    /// Seconds a device waits between check-ins.
    public var pollInterval: Int
    public var logger: Logger
    /// Called once the server listens, with the bound port.
    public var onServerRunning: @Sendable (_ port: Int) async -> Void

    public init(
        host: String = "127.0.0.1", port: Int = 8080, dataDirectory: String, adminToken: String, database: FleetDatabase? = nil,
        pollInterval: Int = 300, logger: Logger = Logger(label: "aloft.server"),
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.adminToken = adminToken
        self.database = database
        self.pollInterval = pollInterval
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    /// The database actually used.
    public var resolvedDatabase: FleetDatabase {
        database ?? .sqlite(path: "\(dataDirectory)/aloft.sqlite")
    }
}

/// Opens the store (running migrations) and the blob directory, and builds the application around them.
///
/// Run it with `try await app.runService()`; the store closes when the application shuts down.
public func buildApplication(_ configuration: AloftServerConfiguration) async throws -> some ApplicationProtocol {
    guard !configuration.adminToken.isEmpty else { throw AloftError("the admin token must not be empty") }
    guard configuration.pollInterval > 0 else { throw AloftError("the poll interval must be at least 1 second") }
    let logger = configuration.logger
    try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
    let blobs = try BlobStore(directory: "\(configuration.dataDirectory)/blobs")
    let store = try await FluentFleetStore.open(configuration.resolvedDatabase, logger: logger)
    let router = buildRouter(
        store: store, blobs: blobs, metrics: ServerMetrics(), admin: AdminCredential(token: configuration.adminToken),
        pollInterval: configuration.pollInterval
    )
    let host = configuration.host
    let onServerRunning = configuration.onServerRunning
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(host, port: configuration.port), serverName: "aloft"),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            let shownHost = host.contains(":") ? "[\(host)]" : host
            logger.notice("Aloft server listening on http://\(shownHost):\(port)", metadata: ["database": "\(configuration.resolvedDatabase)"])
            await onServerRunning(port)
        },
        logger: logger
    )
    app.addServices(FleetStoreService(store: store))
    return app
}

/// All routes, on top of the given store and blob directory; what tests drive.
public func buildRouter<Store: FleetStore>(
    store: Store, blobs: BlobStore, metrics: ServerMetrics, admin: AdminCredential, pollInterval: Int = 300
) -> Router<AloftRequestContext> {
    let router = Router(context: AloftRequestContext.self)
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: ErrorMiddleware())

    router.get("healthz") { _, context in try context.json(HealthResponse()) }

    let deviceAPI = DeviceAPI(
        store: store, catalog: ReleaseCatalog(store: store, blobs: blobs),
        blobs: BlobResponder(blobs: blobs, store: store, metrics: metrics), metrics: metrics, pollInterval: pollInterval
    )
    deviceAPI.addDeviceRoutes(to: router.group("api/v1/device").add(middleware: BearerAuthenticator(audience: .device, admin: admin, store: store)))
    deviceAPI.addBlobRoutes(
        to: router.group("api/v1/blobs").add(middleware: BearerAuthenticator(audience: .deviceOrAdmin, admin: admin, store: store)))

    let adminAuth = BearerAuthenticator(audience: .admin, admin: admin, store: store)
    AdminAPI(store: store, blobs: blobs).addRoutes(to: router.group("api/v1/admin").add(middleware: adminAuth))
    router.group("metrics").add(middleware: adminAuth).get { _, _ in
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition()))
        )
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
