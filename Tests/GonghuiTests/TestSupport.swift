import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Logging
import NIOConcurrencyHelpers
import Testing
import VaporTesting
@testable import Gonghui

/// Runs `body` against a freshly migrated app: SQLite in memory, or, when the test command sets
/// GONGHUI_TEST_POSTGRES_URL, a new database on that PostgreSQL server. Same tests, both engines.
func withApp(_ body: (Application) async throws -> Void) async throws {
    try await withApp(configured: { _ in }, body)
}

/// The same, with the configuration changed first (a short busy timeout, another key …).
func withApp(configured tweak: (inout GonghuiConfig) -> Void, _ body: (Application) async throws -> Void) async throws {
    let app = try await Application.make(.testing)
    var config = GonghuiConfig()
    config.bcryptCost = 4
    config.logLevel = .warning
    config.dataKey = Array(repeating: 7, count: 32)
    config.dbPoolPerLoop = 4 // fifty suites at once share one PostgreSQL server
    config.readyWithinMillis = 20_000
    config.dbWaitSeconds = 30 // and wait for each other on a two-core machine; the outage tests set their own
    config.filesDir = testDatabaseFolder + "/gh-files-\(UUID().uuidString)"
    // The suite makes many records from one address; the tests of the limits turn them on.
    config.rateLimit = 0
    tweak(&config)
    if let admin = ProcessInfo.processInfo.environment["GONGHUI_TEST_POSTGRES_URL"], !admin.isEmpty {
        let name = "gh_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        app.databases.use(try .postgres(url: admin), as: .init(string: "pgadmin"), isDefault: false)
        let adminDB = app.db(.init(string: "pgadmin")) as! any SQLDatabase
        try await adminDB.raw("CREATE DATABASE \(ident: name)").run()
        var components = URLComponents(string: admin)!
        components.path = "/" + name
        config.database = .postgres(components.string!)
    } else {
        // A file, as the server runs it (WAL, one writer at a time), in memory-backed /dev/shm when
        // the machine has it; removed afterwards.
        config.database = .sqliteFile(testDatabaseFolder + "/gh-test-\(UUID().uuidString).sqlite")
    }
    defer {
        if let files = config.filesDir { try? FileManager.default.removeItem(atPath: files) }
        if case let .sqliteFile(path) = config.database {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
    }
    do {
        try await configure(app, config)
        try await app.autoMigrate()
        try await body(app)
        await app.imports.waitForAll()
    } catch {
        await app.imports.waitForAll()
        try? await app.asyncShutdown()
        throw error
    }
    try await app.asyncShutdown()
}

let testDatabaseFolder: String = {
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isFolder), isFolder.boolValue,
       FileManager.default.isWritableFile(atPath: "/dev/shm") { return "/dev/shm" }
    return NSTemporaryDirectory()
}()

var onPostgres: Bool { !(ProcessInfo.processInfo.environment["GONGHUI_TEST_POSTGRES_URL"] ?? "").isEmpty }

/// A small tree every scope test uses: two sibling districts, a street in each, a union in each.
struct Fixture {
    let city: Organization
    let chaoyang: Organization
    let haidian: Organization
    let jianwai: Organization
    let zhongguancun: Organization
    let jianwaiUnion: Organization
    let zgcUnion: Organization

    static let password = "secret123"

    static func make(_ app: Application) async throws -> Fixture {
        let db = app.db
        let city = try await Organization.query(on: db).filter(\.$kind == .city).first()!
        let chaoyang = try await Organization.query(on: db).filter(\.$divisionCode == "110105").first()!
        let haidian = try await Organization.query(on: db).filter(\.$divisionCode == "110108").first()!
        func add(_ kind: OrgKind, _ name: String, under parent: Organization) async throws -> Organization {
            let org = Organization(kind: kind, name: name, parentID: parent.id)
            try await OrgTree.insert(org, under: parent, on: db)
            return org
        }
        let jianwai = try await add(.street, "建外街道总工会", under: chaoyang)
        let zgc = try await add(.street, "中关村街道总工会", under: haidian)
        let jwUnion = try await add(.enterprise, "北京华联科技有限公司工会", under: jianwai)
        let zgcUnion = try await add(.enterprise, "北京中科软件有限公司工会", under: zgc)
        for (username, role, org) in [("admin", StaffRole.cityAdmin, city), ("chaoyang", .districtStaff, chaoyang),
                                      ("haidian", .districtStaff, haidian), ("jianwai", .streetStaff, jianwai),
                                      ("zgc", .streetStaff, zgc), ("jwunion", .unionAdmin, jwUnion),
                                      ("hotline", .hotlineAgent, city)] {
            _ = try await CreateAdminCommand.create(username: username, password: password, orgID: org.id, role: role.rawValue, name: username, on: app)
        }
        return Fixture(city: city, chaoyang: chaoyang, haidian: haidian, jianwai: jianwai, zhongguancun: zgc, jianwaiUnion: jwUnion, zgcUnion: zgcUnion)
    }
}

extension Application {
    /// Signs in through the API and answers the bearer header.
    func token(_ username: String, password: String = Fixture.password) async throws -> HTTPHeaders {
        let response = try await testing().sendRequest(.POST, "/api/v1/auth/login", beforeRequest: { req in
            try req.content.encode(["username": username, "password": password])
        })
        #expect(response.status == .ok, "login \(username): \(response.body.string)")
        let token = try response.content.decode(LoginDTO.self).token
        var headers = HTTPHeaders()
        headers.bearerAuthorization = .init(token: token)
        return headers
    }

    /// Sends JSON (any Encodable or a raw string) and answers the response.
    func send(_ method: HTTPMethod, _ path: String, _ headers: HTTPHeaders = [:], json: String? = nil) async throws -> TestingHTTPResponse {
        try await testing().sendRequest(method, path, headers: headers, beforeRequest: { req in
            if let json {
                req.headers.contentType = .json
                req.body = ByteBuffer(string: json)
            }
        })
    }

    func auditCount(_ action: String) async throws -> Int {
        try await AuditEvent.query(on: db).filter(\.$action == action).count()
    }
}

extension TestingHTTPResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }

    /// The field names of a problem response's `errors`.
    var problemFields: [String] {
        ((json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String }
    }
}

/// Collects every log line an app writes, to prove what never appears in them.
/// A value, as log handlers must be: each logger copy keeps its own metadata (request loggers set
/// theirs from many threads at once), while all copies share the one list of lines.
struct LogCapture: LogHandler {
    let lines = NIOLockedValueBox<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let all = self.metadata.merging(metadata ?? [:]) { $1 }
        lines.withLockedValue { $0.append("\(level) \(message) \(all)") }
    }
}
