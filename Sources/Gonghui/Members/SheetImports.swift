import Fluent
import Foundation
import Spreadsheet
import Vapor

/// What a sheet import reports as it goes and at the end (the ledger's and the sites' importers).
struct SheetOutcome: Sendable {
    var rowsRead = 0
    var imported = 0
    var duplicates = 0
    var failed = 0
    /// Required columns the header lacks: nothing is imported then.
    var missing: [String] = []
    /// The line the import stopped at, its problem limit reached.
    var stoppedAt: Int?
    var budget = ProblemBudget(max: ImportLimits.maxProblems)
}

/// Runs a sheet import as a job: progress on the job row after every batch, the job's final state,
/// and one audit line. Never throws: a failure is the job's state and message.
enum SheetImports {
    typealias Progress = (SheetOutcome, Int, Int) async throws -> Void

    static func execute(job: ImportJob, path: String, root: Organization, app: Application, lang: Lang,
                        actor: (id: Int, username: String)?, ip: String?, removeFile: Bool, action: String,
                        onProgress: (@Sendable (SheetOutcome, Int, Int) -> Void)?,
                        run: (any RowReader, Int, Progress) async throws -> SheetOutcome) async -> ImportJob {
        let db = app.db
        defer { if removeFile { try? FileManager.default.removeItem(atPath: path) } }
        do {
            let reader = try Spreadsheet.open(path: path, limits: ImportLimits.spreadsheet)
            let outcome = try await run(reader, try job.requireID()) { o, read, total in
                job.bytesRead = read
                job.rowsRead = o.rowsRead
                job.imported = o.imported
                job.duplicates = o.duplicates
                job.failed = o.failed
                job.heartbeatAt = Date()
                try await job.save(on: db)
                onProgress?(o, read, total)
            }
            job.rowsRead = outcome.rowsRead
            job.imported = outcome.imported
            job.duplicates = outcome.duplicates
            job.failed = outcome.failed
            job.bytesRead = job.totalBytes
            if outcome.missing.isEmpty {
                job.state = "done"
                job.finish(stoppedAt: outcome.stoppedAt, budget: outcome.budget, localizer: app.localizer, lang: lang)
            } else {
                job.state = "failed"
                job.message = app.localizer.text("error.import.missingColumns", lang, ["columns": outcome.missing.joined(separator: "、")])
            }
        } catch let error as SpreadsheetError {
            job.state = "failed"
            job.message = app.localizer.text("error.import.unreadable", lang, ["detail": error.code.rawValue])
        } catch {
            app.logger.report(error: error)
            job.state = "failed"
            job.message = app.localizer.text("error.import.failed", lang)
        }
        job.finishedAt = Date()
        do {
            try await job.save(on: db)
            try await Audit.write(action, targetType: "importJob", targetID: job.id, org: root, actor: actor, ip: ip, requestID: nil,
                                  details: ["state": job.state, "imported": String(job.imported), "duplicates": String(job.duplicates),
                                            "failed": String(job.failed), "file": job.fileName], on: db)
        } catch {
            app.logger.report(error: error)
        }
        return job
    }
}

/// The import page of the ledger and of the sites: where to import to, the file, the recent jobs.
struct SheetImportPage: Encodable {
    struct Job: Encodable {
        let id: Int
        let fileName: String
        let state: String
        let imported: Int
        let duplicates: Int
        let failed: Int
        let createdAt: String
    }

    let page: PageContext
    let places: [FormField.Choice]
    let jobs: [Job]
    let alert: String?

    static func render(_ req: Request, kind: String, view: String, places: [FormField.Choice], alert: String?, status: HTTPStatus) async throws -> Response {
        let scope = try req.scope
        let jobs = try await scope.records(ImportJob.self, orgField: \.$orgID, on: req.db).filter(\.$kind == kind).sort(\.$id, .descending).limit(20).all()
        return try await req.view.render(view, SheetImportPage(
            page: req.pageContext(), places: places,
            jobs: jobs.map { .init(id: $0.id ?? 0, fileName: $0.fileName, state: req.t("import.state.\($0.state)"), imported: $0.imported,
                                   duplicates: $0.duplicates, failed: $0.failed, createdAt: $0.createdAt.map(ShanghaiClock.format) ?? "") },
            alert: alert)).encodeResponse(status: status, for: req)
    }
}
