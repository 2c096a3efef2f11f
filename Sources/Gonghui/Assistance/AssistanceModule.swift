import Vapor

/// 帮扶: the hardship archive (one file per household), its workflow with a public notice, and the
/// archive's upkeep. Relief programmes and batches build on it (`ReliefModule`).
enum AssistanceModule: AppModule {
    static func configure(_ app: Application) throws {
        app.addMigrations([CreateHardshipHouseholds(), CreateAssistanceSettings()])
    }

    static func routes(_ routes: ModuleRoutes) throws {
        try routes.staffAPI.register(collection: AssistanceSettingsController())
    }
}
