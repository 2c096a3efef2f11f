import Fluent
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// Starts, runs and reports roster imports for the console, the API and the command line.
enum RosterImports {
    /// Problems in the language of whoever started the import; the field is named by its column.
    static func describer(_ localizer: Localizer, _ lang: Lang) -> @Sendable (FieldIssue) -> String {
        { issue in
            var args = issue.args
            let label = localizer.text("field.\(issue.field)", lang)
            args["field"] = label.hasPrefix("field.") ? issue.field : label
            return localizer.text(issue.key, lang, args)
        }
    }

    /// The name a job shows for its file: one line without control characters (a browser sends
    /// the name as the file had it, and PostgreSQL cannot store a NUL), at most 200 characters.
    static func displayName(_ raw: String) -> String {
        // Control characters, and format ones such as U+202E, which would turn the rest around.
        let scalars = Normalize.singleLine(raw).unicodeScalars.filter { ![.control, .format].contains($0.properties.generalCategory) }
        let name = String(String.UnicodeScalarView(scalars)).trimmingCharacters(in: .whitespaces)
        return name.isEmpty ? "upload" : String(name.prefix(200))
    }

    static func makeJob(union: Organization, staffID: Int?, fileName: String, totalBytes: Int, on db: any Database) async throws -> ImportJob {
        let job = ImportJob()
        job.kind = "members"
        job.orgID = try union.requireID()
        job.staffID = staffID
        job.fileName = displayName(fileName)
        job.state = "running"
        job.totalBytes = totalBytes
        job.bytesRead = 0
        job.rowsRead = 0
        job.imported = 0
        job.duplicates = 0
        job.failed = 0
        try await ImportTurns.claim(staffID: staffID, on: db, create: job)
        return job
    }

    /// Runs the job to the end, recording progress every batch; never throws (a failure is the job's state).
    static func execute(job: ImportJob, path: String, union: Organization, app: Application, lang: Lang,
                        actor: (id: Int, username: String)?, ip: String?, removeFile: Bool,
                        onProgress: (@Sendable (ImportProgress) -> Void)? = nil) async -> ImportJob {
        let db = app.db
        defer { if removeFile { try? FileManager.default.removeItem(atPath: path) } }
        let describe = describer(app.localizer, lang)
        do {
            let reader = try Spreadsheet.open(path: path, limits: ImportLimits.spreadsheet)
            let jobID = try job.requireID()
            var importer = RosterImporter(db: db, cipher: app.fieldCipher, union: union, cardPrefix: CardSerials.prefix(app),
                                          jobID: jobID, describe: describe)
            importer.maxProblems = app.gonghui.importMaxProblems
            // The importer writes the job's progress with each batch; this only draws the command line's bar.
            let outcome = try await importer.run(reader: reader) { progress in onProgress?(progress) }
            let p = outcome.progress
            job.bytesRead = p.totalBytes
            job.rowsRead = p.rowsRead
            job.imported = p.imported
            job.duplicates = p.duplicates
            job.failed = p.failed
            if outcome.missingColumns.isEmpty {
                job.state = "done"
                job.finish(stoppedAt: outcome.stoppedAt, budget: outcome.budget, localizer: app.localizer, lang: lang)
            } else {
                job.state = "failed"
                job.message = app.localizer.text("error.import.missingColumns", lang, ["columns": outcome.missingColumns.joined(separator: "、")])
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
            try await Audit.write("member.import", targetType: "importJob", targetID: job.id, org: union, actor: actor, ip: ip, requestID: nil,
                                  details: ["state": job.state, "imported": String(job.imported), "duplicates": String(job.duplicates),
                                            "failed": String(job.failed), "file": job.fileName], on: db)
        } catch {
            app.logger.report(error: error)
        }
        return job
    }
}

struct ImportJobDTO: Content {
    let id: Int
    let orgId: Int
    let fileName: String
    let state: String
    let percent: Int
    let rowsRead: Int
    let imported: Int
    let duplicates: Int
    let failed: Int
    let message: String?
    let createdAt: Date?
    let finishedAt: Date?

    init(_ job: ImportJob) {
        id = job.id ?? 0
        orgId = job.orgID
        fileName = job.fileName
        state = job.state
        percent = job.state == "running" ? min(99, job.totalBytes > 0 ? job.bytesRead * 100 / job.totalBytes : 0) : 100
        rowsRead = job.rowsRead
        imported = job.imported
        duplicates = job.duplicates
        failed = job.failed
        message = job.message
        createdAt = job.createdAt
        finishedAt = job.finishedAt
    }
}

/// `gonghui import members FILE --org ORG_ID`: a progress bar and a closing summary.
struct ImportCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "kind", help: "What to import: members, enterprises, sites or settlements") var kind: String
        @Argument(name: "file", help: "A .csv (UTF-8 or GB18030) or .xlsx roster") var file: String
        @Option(name: "org", help: "members: the grassroots union's id; enterprises: the district or street the ledger rows belong under; sites: the node rows without a managing union go to") var org: Int?
        @Option(name: "lang", help: "Language of the problem report: zh-Hans (default) or en") var lang: String?
        @Option(name: "errors", help: "Write the bad rows here (.csv or .xlsx)") var errors: String?
        init() {}
    }

    var help: String { "Imports a roster file into a grassroots union, reporting every bad or duplicate row." }

    func run(using context: CommandContext, signature: Signature) async throws {
        if signature.kind == "enterprises" || signature.kind == "sites" || signature.kind == "settlements" {
            return try await importUnder(using: context, signature: signature)
        }
        guard signature.kind == "members" else {
            throw CreateAdminCommand.Failure(description: "import: the kind is 'members', 'enterprises', 'sites' or 'settlements'")
        }
        guard let orgID = signature.org else { throw CreateAdminCommand.Failure(description: "--org: the grassroots union's id is required") }
        let app = context.application
        guard let union = try await Organization.find(orgID, on: app.db) else {
            throw CreateAdminCommand.Failure(description: "--org \(orgID): no such organisation")
        }
        guard union.kind.isGrassroots else {
            throw CreateAdminCommand.Failure(description: "--org \(orgID): \(union.name) is a \(union.kind.rawValue), not a grassroots union")
        }
        let path = signature.file
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? Int else {
            throw CreateAdminCommand.Failure(description: "cannot read \(path)")
        }
        let lang = Lang(rawValue: signature.lang ?? "zh-Hans") ?? .zhHans
        let job = try await RosterImports.makeJob(union: union, staffID: nil, fileName: (path as NSString).lastPathComponent, totalBytes: size, on: app.db)
        let started = Date()
        let console = context.console
        let finished = await RosterImports.execute(job: job, path: path, union: union, app: app, lang: lang, actor: nil, ip: nil,
                                                   removeFile: false) { progress in
            let fraction = progress.totalBytes > 0 ? Double(progress.bytesRead) / Double(progress.totalBytes) : 0
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let line = String(format: "\r[%@] %3d%%  %d rows  %d imported  %d duplicates  %d bad",
                              bar, Int(fraction * 100), progress.rowsRead, progress.imported, progress.duplicates, progress.failed)
            FileHandle.standardError.write(Data(line.utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let seconds = Date().timeIntervalSince(started)
        if finished.state == "failed" {
            console.error("Import failed: \(finished.message ?? "")")
            throw CreateAdminCommand.Failure(description: finished.message ?? "import failed")
        }
        let rate = seconds > 0 ? Int(Double(finished.rowsRead) / seconds) : 0
        console.info("Read \(finished.rowsRead) rows in \(String(format: "%.1f", seconds)) s (\(rate) rows/s): \(finished.imported) imported, \(finished.duplicates) duplicates, \(finished.failed) bad. Job \(finished.id ?? 0).")
        if finished.duplicates + finished.failed > 0 {
            let out = signature.errors ?? path + ".errors.csv"
            try await ImportReport.write(jobID: try finished.requireID(), to: out, lang: lang, app: app)
            console.info("The rows not imported, with line, column and reason: \(out)")
        }
    }
}

extension ImportCommand {
    /// `gonghui import enterprises FILE --org DISTRICT_OR_STREET_ID` and `gonghui import sites FILE --org NODE_ID`.
    func importUnder(using context: CommandContext, signature: Signature) async throws {
        let sites = signature.kind == "sites", settlements = signature.kind == "settlements"
        let app = context.application
        let cityID = try await Organization.query(on: app.db).filter(\.$kind == .city).first()?.id
        guard let orgID = signature.org ?? (settlements ? cityID : nil) else {
            throw CreateAdminCommand.Failure(description: "--org: the id of the node the rows go under is required")
        }
        guard let root = try await Organization.find(orgID, on: app.db), sites || [.city, .district, .street].contains(root.kind) else {
            throw CreateAdminCommand.Failure(description: "--org \(orgID): not a city, district or street federation")
        }
        let path = signature.file
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? Int else {
            throw CreateAdminCommand.Failure(description: "cannot read \(path)")
        }
        let lang = Lang(rawValue: signature.lang ?? "zh-Hans") ?? .zhHans
        let name = (path as NSString).lastPathComponent
        let started = Date()
        @Sendable func show(_ rows: Int, _ imported: Int, _ duplicates: Int, _ failed: Int, _ read: Int, _ total: Int) {
            let percent = total > 0 ? read * 100 / total : 0
            FileHandle.standardError.write(Data(String(format: "\r%3d%%  %d rows  %d imported  %d duplicates  %d bad", percent, rows, imported, duplicates, failed).utf8))
        }
        let finished: ImportJob
        if settlements {
            let job = try await SettlementImports.makeJob(root: root, staffID: nil, fileName: name, totalBytes: size, on: app.db)
            finished = await SettlementImports.execute(job: job, path: path, root: root, app: app, lang: lang, actor: nil, ip: nil, removeFile: false) { o, read, total in
                show(o.rowsRead, o.imported, o.duplicates, o.failed, read, total)
            }
            let dto = try await SettlementImports.dto(finished, on: app.db)
            if finished.state != "failed" {
                let counts = ClaimOutcome.settlement.map { "\($0.rawValue) \(dto.counts[$0.rawValue] ?? 0)" }.joined(separator: ", ")
                FileHandle.standardError.write(Data("\n".utf8))
                context.console.info("Claims by outcome: \(counts); paid ¥\(dto.paidYuan).")
            }
        } else if sites {
            let job = try await SiteFiles.makeJob(root: root, staffID: nil, fileName: name, totalBytes: size, on: app.db)
            finished = await SiteFiles.execute(job: job, path: path, root: root, app: app, lang: lang, actor: nil, ip: nil, removeFile: false) { o, read, total in
                show(o.rowsRead, o.imported, o.duplicates, o.failed, read, total)
            }
        } else {
            let job = try await EnterpriseImports.makeJob(root: root, staffID: nil, fileName: name, totalBytes: size, on: app.db)
            finished = await EnterpriseImports.execute(job: job, path: path, root: root, app: app, lang: lang, actor: nil, ip: nil, removeFile: false) { o, read, total in
                show(o.rowsRead, o.imported, o.duplicates, o.failed, read, total)
            }
        }
        FileHandle.standardError.write(Data("\n".utf8))
        if finished.state == "failed" { throw CreateAdminCommand.Failure(description: finished.message ?? "import failed") }
        let seconds = Date().timeIntervalSince(started)
        context.console.info("Read \(finished.rowsRead) rows in \(String(format: "%.1f", seconds)) s: \(finished.imported) imported, \(finished.duplicates) duplicates, \(finished.failed) bad. Job \(finished.id ?? 0).")
        if finished.duplicates + finished.failed > 0 {
            let out = signature.errors ?? path + ".errors.csv"
            try await ImportReport.write(jobID: try finished.requireID(), to: out, lang: lang, app: app)
            context.console.info("The rows not imported, with line, column and reason: \(out)")
        }
    }
}

/// The downloadable report of the rows not imported.
enum ImportReport {
    static func header(_ localizer: Localizer, _ lang: Lang) -> [String] {
        [localizer.text("import.report.line", lang), localizer.text("import.report.column", lang),
         localizer.text("import.report.code", lang), localizer.text("import.report.reason", lang)]
    }

    /// The problems of a job in line order, `ImportLimits.reportBatch` at a time (an old job may
    /// hold millions: never all in memory at once).
    static func batches(jobID: Int, on db: any Database, _ body: ([[Cell]]) async throws -> Void) async throws {
        var after: (line: Int, id: Int)?
        while true {
            var query = ImportProblem.query(on: db).filter(\.$jobID == jobID)
            if let after {
                query = query.group(.or) { or in
                    or.filter(\.$line > after.line).group(.and) { $0.filter(\.$line == after.line).filter(\.$id > after.id) }
                }
            }
            let batch = try await query.sort(\.$line).sort(\.$id).limit(ImportLimits.reportBatch).all()
            guard let last = batch.last else { return }
            try await body(batch.map { [.integer(Int64($0.line)), .text($0.column), .text($0.code), .text($0.message)] })
            after = (last.line, try last.requireID())
            if batch.count < ImportLimits.reportBatch { return }
        }
    }

    static func write(jobID: Int, to path: String, lang: Lang, app: Application) async throws {
        let file = try ExportFile(path: path, format: path.lowercased().hasSuffix(".xlsx") ? "xlsx" : "csv", sheetName: "errors",
                                  header: header(app.localizer, lang), widths: [8, 18, 14, 60])
        do {
            try await batches(jobID: jobID, on: app.db) { rows in try await file.write(rows, on: app.threadPool) }
            try await file.close(on: app.threadPool)
        } catch {
            try? await file.close(on: app.threadPool)
            throw error
        }
    }
}
