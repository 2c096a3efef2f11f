import Vapor

/// Keeping the archive true (复核, 抽查, the national system's lists), the ten-year retention and
/// its purge, and the archive's statistics. Comes after `AssistanceModule`, whose tables it reads.
enum AssistanceUpkeepModule: AppModule {
    static func configure(_ app: Application) throws {
        app.addMigrations([CreateArchiveChecks()])
        app.asyncCommands.use(AssistanceCommand(), as: "assistance")
    }

    static func routes(_ routes: ModuleRoutes) throws {
        // Here rather than in `configure`: the foundation's and the first services' entries are added
        // after modules are configured, and the archive's pages belong after them in the menu.
        routes.app.consoleNav.add(.init(labelKey: "archive.nav.checks", href: "/console/archive-checks", visible: { $0.readsArchive }))
        routes.app.consoleNav.add(.init(labelKey: "archive.nav.stats", href: "/console/assistance-stats", visible: { $0.readsArchive }))
        try routes.staffAPI.register(collection: ArchiveCheckController(kind: .review))
        try routes.staffAPI.register(collection: ArchiveCheckController(kind: .spotCheck))
        routes.staffAPI.get("hardship-lists", ":list", use: ArchiveLists.handle)
        routes.staffAPI.delete("hardship-households", ":id", use: ArchivePurge.delete)
        routes.staffAPI.get("assistance-stats", use: AssistanceStatsRoutes.api)
        routes.console.get("console", "archive-checks", use: ArchiveCheckPages.list)
        routes.console.get("console", "archive-checks", ":id", use: ArchiveCheckPages.show)
        routes.console.get("console", "archive-lists", ":list", use: ArchiveLists.handle)
        routes.console.get("console", "assistance-stats", use: AssistanceStatsRoutes.page)
    }
}
