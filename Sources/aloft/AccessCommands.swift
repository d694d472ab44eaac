import AloftCore
import AloftTools
import ArgumentParser
import Foundation

// Secrets a command creates go alone to stdout, so `TOKEN=$(aloft admin token create --name ci)` works;
// everything said to the person goes to stderr.

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Administer the server itself.", subcommands: [Token.self])

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Named admin tokens, stored hashed on the server (the token given to `aloft serve` is not among them).",
            subcommands: [Create.self, List.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Make an admin token and print it; it is shown only this once.")

            @Option(help: "Name (A-Z a-z 0-9 . _ -, up to 64), e.g. the person or CI job that uses it.")
            var name: String

            @OptionGroup var server: ServerOptions

            func run() async throws {
                try Identifiers.validateName(name, what: "admin token name")
                let created = try await server.client().createAdminToken(name: name)
                print(created.token)
                printError("created admin token '\(created.name)'; it is shown only this once")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Every stored admin token: name, created, revoked (never the token).")

            @Flag(help: "JSON output.")
            var json = false

            @OptionGroup var server: ServerOptions

            func run() async throws {
                let tokens = try await server.client().adminTokens()
                if json { return try printJSON(tokens) }
                var rows = [["NAME", "CREATED", "REVOKED"]]
                rows += tokens.map { [$0.name, $0.created, $0.revokedAt ?? "-"] }
                printTable(rows)
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke an admin token; it is refused from the next request on.")

            @Option(help: "Name of the token.")
            var name: String

            @OptionGroup var server: ServerOptions

            func run() async throws {
                try Identifiers.validateName(name, what: "admin token name")
                try await server.client().revokeAdminToken(name: name)
                printError("revoked admin token '\(name)'")
            }
        }
    }
}

struct Enrollment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fleet enrollments: one secret in a generic image, with which each device registers itself on first boot.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an enrollment secret and print it; it is shown only this once.")

        @Option(help: "Name (A-Z a-z 0-9 . _ -, up to 64), e.g. the production batch.")
        var name: String

        @Option(help: "Channel the enrolled devices follow.")
        var channel: String = "stable"

        @Option(name: .customLong("tag"), help: "A tag every device it enrolls gets (repeatable, or comma-separated).")
        var tags: [String] = []

        @OptionGroup var server: ServerOptions

        func run() async throws {
            try Identifiers.validateName(name, what: "enrollment name")
            try Identifiers.validateChannel(channel)
            let tags = try tagList(self.tags.isEmpty ? nil : self.tags.joined(separator: ","))
            let created = try await server.client().createEnrollment(name: name, channel: channel, tags: tags)
            print(created.secret)
            printError("created enrollment '\(created.name)' for channel \(created.channel); the secret is shown only this once")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every enrollment: name, channel, created, revoked (never the secret).")

        @Flag(help: "JSON output.")
        var json = false

        @OptionGroup var server: ServerOptions

        func run() async throws {
            let enrollments = try await server.client().enrollments()
            if json { return try printJSON(enrollments) }
            var rows = [["NAME", "CHANNEL", "CREATED", "REVOKED"]]
            rows += enrollments.map { [$0.name, $0.channel, $0.created, $0.revokedAt ?? "-"] }
            printTable(rows)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an enrollment: no new device can register with its secret; enrolled devices keep their tokens.")

        @Option(help: "Name of the enrollment.")
        var name: String

        @OptionGroup var server: ServerOptions

        func run() async throws {
            try Identifiers.validateName(name, what: "enrollment name")
            try await server.client().revokeEnrollment(name: name)
            printError("revoked enrollment '\(name)'")
        }
    }
}

extension DeviceCommand {
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a device's token: the server refuses it (401) from the next request on. `aloft device token` issues a new one.")

        @Option(help: "Device id.")
        var id: String

        @OptionGroup var server: ServerOptions

        func run() async throws {
            try Identifiers.validateDeviceID(id)
            try await server.client().revokeDevice(id: id)
            printError("revoked the token of device '\(id)'")
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a new token for a device and print it (shown only this once); the old token stops working, a revoked device works again.")

        @Option(help: "Device id.")
        var id: String

        @OptionGroup var server: ServerOptions

        func run() async throws {
            try Identifiers.validateDeviceID(id)
            let issued = try await server.client().reissueDeviceToken(id: id)
            print(issued.token)
            printError("issued a new token for device '\(issued.id)'; put it in the device's config")
        }
    }
}
