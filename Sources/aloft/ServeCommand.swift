import ArgumentParser

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the update server.")

    func run() async throws {
        throw ValidationError("not wired yet")
    }
}
