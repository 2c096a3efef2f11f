import Vapor
import Fluent

/// A room of the platform added after the first five services: it brings its own migrations,
/// console navigation, background jobs, kept counters and routes, and `configure` calls it, so a
/// new module touches no shared file but the list below.
protocol AppModule: Sendable {
    /// Migrations, navigation, jobs, counters, org dependents: called once while the app is configured,
    /// after the first five services' migrations.
    static func configure(_ app: Application) throws
    /// Routes, after the first five services' routes.
    static func routes(_ routes: ModuleRoutes) throws
}

/// The route groups a module hangs its routes on.
struct ModuleRoutes {
    let app: Application
    /// `/api/v1`, no account.
    let api: any RoutesBuilder
    /// `/api/v1`, a staff bearer token (`request.scope`).
    let staffAPI: any RoutesBuilder
    /// `/api/v1/me`, a member's `ghm_` token (`request.member`).
    let memberAPI: any RoutesBuilder
    /// Pages with sessions and CSRF, no account (public and the member's phone pages).
    let pages: any RoutesBuilder
    /// `/console` pages, a signed-in staff member.
    let console: any RoutesBuilder
}

enum Modules {
    /// In dependency order: a module comes after the modules it uses.
    static let all: [any AppModule.Type] = [FilesModule.self, FundsModule.self, NoticesModule.self, AppealAttachments.self, AssistanceModule.self,
                                               AssistanceUpkeepModule.self, ReliefModule.self, MutualAidModule.self, RightsModule.self,
                                               DevelopmentModule.self]
}

extension Application {
    private struct ExpectedMigrationsKey: StorageKey { typealias Value = [String] }

    /// The names of every migration this build runs, in order; `/readyz` is not ready until all are applied.
    var expectedMigrations: [String] {
        get { storage[ExpectedMigrationsKey.self] ?? [] }
        set { storage[ExpectedMigrationsKey.self] = newValue }
    }

    /// Adds migrations and remembers their names for the readiness check; modules call it too.
    func addMigrations(_ list: [any Migration]) {
        migrations.add(list)
        expectedMigrations += list.map(\.name)
    }
}
