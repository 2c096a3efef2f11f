import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import Vapor

/// Bcrypt, on threads of its own: never those requests, files and the database run on, at most one
/// per two cores at once, and at most `maxWaiting` waiting; beyond that a sign-in answers 503 with
/// `Retry-After` at once. Sixteen bogus sign-ins in parallel once starved the whole server.
final class PasswordWork: Sendable {
    let pool: NIOThreadPool
    let cost: Int
    let maxWaiting: Int
    private let waiting = NIOLockedValueBox(0)

    init(cost: Int, threads: Int = max(1, System.coreCount / 2), maxWaiting: Int = 32) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        self.cost = cost
        self.maxWaiting = maxWaiting
    }

    func verify(_ password: String, created hash: String) async throws -> Bool {
        try await run { (try? Bcrypt.verify(password, created: hash)) ?? false }
    }

    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await run { try Bcrypt.hash(password, cost: cost) }
    }

    /// Work admitted now: running or waiting for a thread.
    var inFlight: Int { waiting.withLockedValue { $0 } }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let admitted = waiting.withLockedValue { count -> Bool in
            guard count < maxWaiting else { return false }
            count += 1
            return true
        }
        guard admitted else { throw AppError(.serviceUnavailable, "error.tryAgain", args: ["seconds": "2"]) }
        defer { waiting.withLockedValue { $0 -= 1 } }
        return try await pool.runIfActive(body)
    }

    /// Stops the threads with the application.
    struct Shutdown: LifecycleHandler {
        func shutdownAsync(_ application: Application) async {
            try? await application.passwordWork.pool.shutdownGracefully()
        }
    }
}

extension Application {
    private struct PasswordWorkKey: StorageKey { typealias Value = PasswordWork }

    var passwordWork: PasswordWork {
        get {
            guard let work = storage[PasswordWorkKey.self] else { fatalError("PasswordWork not configured") }
            return work
        }
        set { storage[PasswordWorkKey.self] = newValue }
    }
}
