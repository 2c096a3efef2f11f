import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Leaf
import Vapor

extension Application {
    private struct ConfigKey: StorageKey { typealias Value = GonghuiConfig }

    public var gonghui: GonghuiConfig {
        get { storage[ConfigKey.self] ?? GonghuiConfig() }
        set { storage[ConfigKey.self] = newValue }
    }
}

/// Where the Resources and Public folders are: the working directory when it has them (a
/// deployment, `swift run` from the checkout), else the checkout this binary was built from.
enum AppPaths {
    static func root() -> String {
        let cwd = FileManager.default.currentDirectoryPath
        if FileManager.default.fileExists(atPath: cwd + "/Resources/Views") { return cwd + "/" }
        // Sources/Gonghui/App/configure.swift → the package root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path + "/"
    }
}

/// Builds the application the server runs and the tests exercise: one function, both uses.
public func configure(_ app: Application, _ config: GonghuiConfig) async throws {
    app.gonghui = config
    app.logger.logLevel = config.logLevel
    app.http.server.configuration.hostname = config.host
    app.http.server.configuration.port = config.port
    let root = AppPaths.root()
    app.directory = DirectoryConfiguration(workingDirectory: root)

    // Before anything opens the database: a missing key must not leave an empty file behind.
    guard let dataKey = config.dataKey else {
        throw GonghuiConfig.Problem(variable: "GONGHUI_DATA_KEY",
                                    message: "is required: the base64 of 32 random bytes (openssl rand -base64 32); it encrypts ID numbers")
    }
    switch config.database {
    case let .sqliteFile(path):
        app.databases.use(GatedSQLiteConfiguration(base: DatabaseConfigurationFactory.sqlite(.file(path)).make(), gate: WriteGate()),
                          as: .sqlite)
    case .sqliteMemory:
        app.databases.use(GatedSQLiteConfiguration(base: DatabaseConfigurationFactory.sqlite(.memory).make(), gate: WriteGate()),
                          as: .sqlite)
    case let .postgres(url):
        var postgres = try SQLPostgresConfiguration(url: url)
        postgres.coreConfiguration.options.connectTimeout = .seconds(config.dbWaitSeconds)
        app.databases.use(.postgres(configuration: postgres, maxConnectionsPerEventLoop: config.dbPoolPerLoop,
                                    connectionPoolTimeout: .seconds(config.dbWaitSeconds)), as: .psql)
    }

    app.localizer = try Localizer(directory: root + "Resources/Locales")
    app.views.use(.leaf)
    app.leaf.tags["t"] = TranslateTag()
    app.leaf.tags["yuan"] = YuanTag()
    app.leaf.cache.isEnabled = app.environment.isRelease
    app.passwords.use(.bcrypt(cost: config.bcryptCost))
    app.passwordWork = PasswordWork(cost: config.bcryptCost)
    app.lifecycle.use(PasswordWork.Shutdown())
    app.decoyPasswordHash = try Bcrypt.hash("decoy-password-\(UUID())", cost: config.bcryptCost)

    app.sessions.use(.fluent)
    let secureCookies = config.secureCookies
    app.sessions.configuration = SessionsConfiguration(cookieName: "gh_session") { id in
        HTTPCookies.Value(string: id.string, expires: Date(timeIntervalSinceNow: 12 * 3600), maxAge: nil,
                          domain: nil, path: "/", isSecure: secureCookies, isHTTPOnly: true, sameSite: .lax)
    }

    if !app.db.isPostgres {
        // Write-ahead logging: pages stay readable while a roster import writes, and a commit is
        // one append instead of a rollback journal's several syncs. It is kept in the file (sqlite-kit's
        // "memory" database is a temporary file too).
        try await app.db.sql.raw("PRAGMA journal_mode = WAL").run()
        try await SQLiteTuning.apply(app, busyTimeoutMilliseconds: config.sqliteBusyMillis)
    }

    let divisions = config.divisionsFile ?? root + "Resources/Data/beijing-districts.csv"
    let seed = try FederationSeed.load(path: divisions, cityName: config.cityName, cityCode: config.cityDivisionCode)
    app.addMigrations([
        CreateFederationTree(seed: seed),
        CreateStaffUsers(),
        CreateApiTokens(),
        CreateAuditEvents(),
        SessionRecord.migration,
        CreateMembers(),
        CreateImportJobs(),
        CreateOutreach(),
        CreateSites(),
        CreateAppeals(),
        CreateAppealTallies(),
        AddIntakeGuards(),
        AddImportHeartbeat(),
        AddTextSearch(),
        CreateThrottles(),
        AddAddressIndexToCodes(),
    ])
    for module in Modules.all { try module.configure(app) }

    app.orgDependents.register(OrgDependent(
        labelKey: "org.counts.staff", blocksDeleteKey: "error.org.hasStaff", table: StaffUser.schema, orgColumn: "org_id"))
    app.orgDependents.register(OrgDependent(
        labelKey: "org.counts.members", blocksDeleteKey: "error.org.hasMembers", table: Member.schema, orgColumn: "org_id"))
    app.orgDependents.register(OrgDependent(
        labelKey: "org.counts.enterprises", blocksDeleteKey: "error.org.hasEnterprises", table: Enterprise.schema, orgColumn: "org_id"))
    app.orgDependents.register(OrgDependent(
        labelKey: "org.counts.meetings", blocksDeleteKey: "error.org.hasMeetings", table: Meeting.schema, orgColumn: "org_id"))
    app.orgDependents.register(OrgDependent(
        labelKey: "org.counts.sites", blocksDeleteKey: "error.org.hasSites", table: Site.schema, orgColumn: "org_id"))
    app.orgDependents.register(OrgDependent(
        labelKey: "org.counts.appeals", blocksDeleteKey: "error.org.hasAppeals", table: Appeal.schema, orgColumn: "org_id"))
    app.fieldCipher = FieldCipher(dataKey: dataKey)
    try await KeyCheck.verify(app.db.sql, cipher: app.fieldCipher)
    ConsoleNav.registerFoundation(app)
    WorkTiles.register(app)
    MemberPages.registerNav(app)
    EnterprisePages.registerNav(app)
    SitePages.registerNav(app)
    AppealPages.registerNav(app)
    app.lifecycle.use(SiteFinder.Drain())
    app.lifecycle.use(AppealSweeper())
    app.lifecycle.use(ImportRecoveryOnBoot())
    _ = MetricsSetup.registry

    app.middleware = Middlewares()
    app.middleware.use(RouteLoggingMiddleware(logLevel: .info))
    app.middleware.use(RequestIDMiddleware())
    app.middleware.use(SecurityHeadersMiddleware(config: config))
    app.middleware.use(ProblemMiddleware())
    app.middleware.use(TextGuard.QueryMiddleware())
    TextGuard.install()
    app.middleware.use(FileMiddleware(publicDirectory: app.directory.publicDirectory))

    try routes(app)
}

func routes(_ app: Application) throws {
    try app.register(collection: OpsController())
    app.get("openapi.yaml") { req async throws -> Response in
        let response = try await req.fileio.asyncStreamFile(at: req.application.directory.workingDirectory + "openapi.yaml")
        response.headers.contentType = HTTPMediaType(type: "application", subType: "yaml", parameters: ["charset": "utf-8"])
        return response
    }

    // Static files: no session, so fetching them writes nothing to the database.
    app.get("vendor", "leaflet", "**", use: SiteFinderPages().leaflet)

    let api = app.grouped("api", "v1")
    let auth = AuthController()
    try api.register(collection: auth)
    let signedIn = api.grouped(BearerAuthMiddleware())
    auth.bootProtected(routes: signedIn)
    try signedIn.register(collection: OrgController())
    try signedIn.register(collection: AuditController())
    try api.register(collection: ApplicationController())
    ApplicationController().bootProtected(routes: signedIn)
    try signedIn.register(collection: MemberController())
    try signedIn.register(collection: RosterFileController())
    try api.register(collection: MemberSelfController())
    try signedIn.register(collection: OutreachController())
    try api.register(collection: SiteController())
    SiteController().bootProtected(routes: signedIn)
    try api.register(collection: AppealController())
    AppealController().bootProtected(routes: signedIn)
    try signedIn.register(collection: AppealSettingsController())

    let pages = app.grouped(app.sessions.middleware, SessionAuthMiddleware(), CSRFMiddleware())
    try pages.register(collection: SignInPages())
    try pages.register(collection: PublicPages())
    try pages.register(collection: SiteFinderPages())
    try pages.register(collection: AppealPublicPages())
    let console = pages.grouped(RequireStaffPage())
    try console.register(collection: HomePages())
    try console.register(collection: OrgPages())
    try console.register(collection: OrgSuggestions())
    try console.register(collection: StaffPages())
    try console.register(collection: AuditPages())
    try console.register(collection: MemberPages())
    try console.register(collection: EnterprisePages())
    try console.register(collection: MeetingPages())
    try console.register(collection: SitePages())
    try console.register(collection: AppealPages())

    let modules = ModuleRoutes(app: app, api: api, staffAPI: signedIn, memberAPI: api.grouped("me").grouped(MemberBearerMiddleware()),
                               pages: pages, console: console)
    for module in Modules.all { try module.routes(modules) }
}
