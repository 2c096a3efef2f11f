import Fluent
import Foundation
import Logging
import Vapor

/// `gonghui …`: reads the configuration, builds the app and runs the command asked for.
public enum Entrypoint {
    public static func main() async {
        let config: GonghuiConfig
        do {
            config = try GonghuiConfig.fromEnvironment()
        } catch {
            FileHandle.standardError.write(Data("gonghui: cannot start: \(error)\n".utf8))
            exit(78) // EX_CONFIG
        }
        do {
            let env = try Environment.detect()
            let level = config.logLevel
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return PrivacyLogHandler(handler)
            }
            if env.arguments.dropFirst().first == "demo" {
                try await Demo.run(env: env, config: config)
                return
            }
            let app = try await Application.make(env)
            do {
                try await configure(app, config)
                registerCommands(app)
                try await app.execute()
                try await app.asyncShutdown()
            } catch {
                try? await app.asyncShutdown()
                throw error
            }
            _ = env
        } catch {
            FileHandle.standardError.write(Data("gonghui: \(error)\n".utf8))
            exit(1)
        }
    }

    static func registerCommands(_ app: Application) {
        app.asyncCommands.use(CreateAdminCommand(), as: "create-admin")
        app.asyncCommands.use(SeedCommand(), as: "seed")
        app.asyncCommands.use(ImportCommand(), as: "import")
        app.asyncCommands.use(BenchImportCommand(), as: "bench-import")
        app.asyncCommands.use(BenchNearbyCommand(), as: "bench-nearby")
        app.asyncCommands.use(AppealSweepCommand(), as: "appeals-sweep")
        app.asyncCommands.use(BenchAppealsCommand(), as: "bench-appeals")
        app.asyncCommands.use(BenchSearchCommand(), as: "bench-search")
    }
}
