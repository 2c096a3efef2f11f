import Vapor

/// 帮扶项目 and 发放批次: programmes with budgets down the tree, batches of lines checked against
/// the rules, reserved in the funds ledger, put up for public notice and paid.
enum ReliefModule: AppModule {
    static func configure(_ app: Application) throws {
        app.addMigrations([CreateRelief()])
        app.asyncCommands.use(BenchReliefCommand(), as: "bench-relief")
    }

    static func routes(_ routes: ModuleRoutes) throws {
        // After the foundation's entries, which are added once the modules are configured.
        routes.app.consoleNav.add(.init(labelKey: "relief.nav", href: "/console/relief", visible: { $0.readsFunds }))
        try routes.staffAPI.register(collection: ReliefProgramController())
        try routes.staffAPI.register(collection: ReliefBatchController())
        try routes.console.register(collection: ReliefPages())
        try routes.console.register(collection: ReliefBatchPages())
    }
}
