import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// A settlement import as the console, the API and the command line see it.
struct SettlementImportDTO: Content {
    let id: Int
    let state: String
    let fileName: String
    let percent: Int
    let rowsRead: Int
    let counts: [String: Int]
    let paidYuan: Decimal
    let message: String?
    let createdAt: Date?
    let finishedAt: Date?
}

/// Starts, runs and reports settlement imports (`/api/v1/settlement-imports`, `gonghui import settlements FILE`).
enum SettlementImports {
    static func makeJob(root: Organization, staffID: Int?, fileName: String, totalBytes: Int, on db: any Database) async throws -> ImportJob {
        let job = try await RosterImports.makeJob(union: root, staffID: staffID, fileName: fileName, totalBytes: totalBytes, on: db)
        job.kind = "settlements"
        try await job.save(on: db)
        try await (db as! any SQLDatabase).raw("INSERT INTO settlement_jobs (job_id) VALUES (\(bind: job.requireID()))").run()
        return job
    }

    static func execute(job: ImportJob, path: String, root: Organization, app: Application, lang: Lang,
                        actor: (id: Int, username: String)?, ip: String?, removeFile: Bool,
                        onProgress: (@Sendable (SheetOutcome, Int, Int) -> Void)? = nil) async -> ImportJob {
        await SheetImports.execute(job: job, path: path, root: root, app: app, lang: lang, actor: actor, ip: ip, removeFile: removeFile,
                                   action: "mutualAid.settlement.import", onProgress: onProgress) { reader, jobID, progress in
            var importer = SettlementImporter(db: app.db, cipher: app.fieldCipher, localizer: app.localizer, lang: lang, jobID: jobID,
                                              orgID: try root.requireID())
            importer.maxProblems = app.gonghui.importMaxProblems
            return try await importer.run(reader: reader, onProgress: progress)
        }
    }

    static func dto(_ job: ImportJob, on db: any Database) async throws -> SettlementImportDTO {
        let row = try await (db as! any SQLDatabase).raw("SELECT * FROM settlement_jobs WHERE job_id = \(bind: job.requireID())").first()
        var counts: [String: Int] = [:]
        for o in ClaimOutcome.settlement { counts[o.rawValue] = (try? row?.decode(column: o.column, as: Int.self)) ?? 0 }
        let paid = (try? row?.decode(column: "paid_fen", as: Int64.self)) ?? 0
        let generic = ImportJobDTO(job)
        return SettlementImportDTO(id: generic.id, state: job.state, fileName: job.fileName, percent: generic.percent, rowsRead: job.rowsRead,
                                   counts: counts, paidYuan: Decimal(fen: paid), message: job.message, createdAt: job.createdAt, finishedAt: job.finishedAt)
    }

    /// Refuses at once a file that is not a spreadsheet, is empty or lacks a column, naming what is missing.
    static func checkHeader(path: String, req: Request) throws {
        let missing: [String]
        do {
            let reader = try Spreadsheet.open(path: path, limits: ImportLimits.spreadsheet)
            guard let header = try reader.next() else { throw AppError.invalid([FieldIssue("file", "empty", "error.import.empty")]) }
            let found = Set(header.cells.compactMap { SettlementImporter.aliases[Normalize.singleLine($0).lowercased()] })
            missing = SettlementImporter.required.filter { !found.contains($0.0) }.map(\.1)
        } catch let error as SpreadsheetError {
            throw AppError.invalid([FieldIssue("file", "unreadable", "error.import.unreadable", ["detail": error.code.rawValue])])
        }
        guard missing.isEmpty else {
            throw AppError.invalid([FieldIssue("file", "missingColumns", "error.import.missingColumns", ["columns": missing.joined(separator: "、")])])
        }
    }

    static func start(_ req: Request, root: Organization, fileName: String, body: ByteBuffer) async throws -> ImportJob {
        let scope = try req.scope
        let path = try await RosterFiles.saveUpload(req, body)
        do { try checkHeader(path: path, req: req) } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        let job = try await makeJob(root: root, staffID: scope.staffID, fileName: fileName, totalBytes: body.readableBytes, on: req.db)
        let app = req.application
        let lang = req.lang
        let actor = (scope.staffID, scope.username)
        let ip = req.clientAddress
        app.imports.track(Task.detached {
            _ = await execute(job: job, path: path, root: root, app: app, lang: lang, actor: actor, ip: ip, removeFile: true)
        })
        return job
    }
}

/// `/api/v1/settlement-imports`: the city's 互助保障 office imports the insurance office's extract.
struct SettlementImportController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let imports = routes.grouped("settlement-imports")
        imports.on(.POST, body: .collect(maxSize: RosterFiles.maxUpload), use: upload)
        imports.get(":id", use: show)
        imports.get(":id", "problems", use: problems)
    }

    /// Multipart field `file` (or the file as the body, named in `X-File-Name`).
    @Sendable func upload(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin)
        let (body, name) = try AttachmentRoutes.upload(req)
        guard body.readableBytes > 0 else { throw AppError.invalid([FieldIssue("file", "required", "error.import.empty")]) }
        let root = try await scope.org(scope.rootID, on: req.db)
        let job = try await SettlementImports.start(req, root: root, fileName: name ?? "settlements", body: body)
        return try await SettlementImports.dto(job, on: req.db).encodeResponse(status: .accepted, for: req)
    }

    @Sendable func show(req: Request) async throws -> SettlementImportDTO {
        try await SettlementImports.dto(try await RosterFiles.job(req, try req.idParameter()), on: req.db)
    }

    @Sendable func problems(req: Request) async throws -> Response {
        try await RosterFileController().problems(req: req)
    }
}
