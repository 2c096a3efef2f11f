import Fluent
import Foundation
import NIOConcurrencyHelpers
import GonghuiCore
import Spreadsheet
import Vapor

/// Roster files in and out: imports (API and console), the template, the problem report and exports.
enum RosterFiles {
    static let maxUpload: ByteCount = "64mb"

    /// Saves an upload to a temporary file and starts the import in the background.
    static func startImport(_ req: Request, union: Organization, fileName: String, body: ByteBuffer) async throws -> ImportJob {
        let scope = try req.scope
        // The job first: an account with an import running is refused before anything is written.
        let job = try await RosterImports.makeJob(union: union, staffID: scope.staffID, fileName: fileName,
                                                  totalBytes: body.readableBytes, on: req.db)
        let path = try await saveUpload(req, body)
        let app = req.application
        let lang = req.lang
        let actor = (scope.staffID, scope.username)
        let ip = req.clientAddress
        app.imports.track(Task.detached {
            _ = await RosterImports.execute(job: job, path: path, union: union, app: app, lang: lang, actor: actor, ip: ip, removeFile: true)
        })
        return job
    }

    /// The upload in a temporary file, for the import to read in the background.
    static func saveUpload(_ req: Request, _ body: ByteBuffer) async throws -> String {
        let path = PrivateFiles.path("import")
        try await req.fileio.writeFile(body, at: path)
        _ = chmod(path, 0o600)
        return path
    }

    static func job(_ req: Request, _ id: Int) async throws -> ImportJob {
        let scope = try req.scope
        guard let job = try await scope.records(ImportJob.self, orgField: \.$orgID, on: req.db).filter(\.$id == id).first() else {
            throw AppError.notFound
        }
        switch job.kind {
        case "enterprises": try scope.require(scope.role.keepsLedger)
        case "sites": try scope.require(scope.role.keepsSites)
        case "settlements": try scope.require(scope.role == .cityAdmin)
        default: try scope.require(scope.role.keepsMembers)
        }
        return job
    }

    static func format(_ req: Request) throws -> String {
        let format = req.query[String.self, at: "format"] ?? "xlsx"
        guard format == "xlsx" || format == "csv" else {
            throw AppError.invalid([FieldIssue("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"])])
        }
        return format
    }

    /// A table as a download; the file is written first, streamed and then removed.
    static func download(_ req: Request, name: String, format: String, header: [String], widths: [Double],
                         rows: (_ add: ([Cell]) throws -> Void) async throws -> Void) async throws -> Response {
        let file = try ExportFile(path: exportPath(format), format: format, sheetName: name, header: header, widths: widths)
        do {
            try await rows { try file.add($0) }
            try file.close()
        } catch {
            file.discard()
            throw error
        }
        return try await stream(req, file.path, name: name, format: format)
    }

    /// The same for a big table read a batch at a time: each batch is written on the thread pool, so
    /// a long export does not hold a thread that requests need.
    static func downloadInBatches(_ req: Request, name: String, format: String, header: [String], widths: [Double],
                                  rows: (_ write: ([[Cell]]) async throws -> Void) async throws -> Void) async throws -> Response {
        let file = try ExportFile(path: exportPath(format), format: format, sheetName: name, header: header, widths: widths)
        let pool = req.application.threadPool
        do {
            try await rows { try await file.write($0, on: pool) }
            try await file.close(on: pool)
        } catch {
            file.discard()
            throw error
        }
        return try await stream(req, file.path, name: name, format: format)
    }

    static func exportPath(_ format: String) -> String {
        PrivateFiles.path("export", ext: format)
    }

    private static func stream(_ req: Request, _ path: String, name: String, format: String) async throws -> Response {
        let response: Response
        do {
            response = try await req.fileio.asyncStreamFile(at: path, onCompleted: { _ in
                try? FileManager.default.removeItem(atPath: path)
            })
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        let stamp = ShanghaiClock.today().description
        let filename = "\(name)-\(stamp).\(format)"
        response.headers.contentType = format == "xlsx"
            ? HTTPMediaType(type: "application", subType: "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            : HTTPMediaType(type: "text", subType: "csv", parameters: ["charset": "utf-8"])
        let encoded = filename.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? filename
        response.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(name).\(format)\"; filename*=UTF-8''\(encoded)")
        return response
    }

    /// The roster: masked by default; `whole=true` needs the permission. Every export is audited.
    static func export(_ req: Request, filter: MemberQuery.Filter, whole: Bool, format: String) async throws -> Response {
        let scope = try req.scope
        if whole { try scope.require(scope.role.revealsIDNumbers) }
        let query = try await MemberQuery(request: req).query(filter)
        let total = try await query.count()
        let cipher = req.fieldCipher
        let header = ["member.col.card", "member.col.name", "member.col.idNumber", "member.col.sex", "member.col.phone",
                      "member.col.employer", "member.col.creditCode", "member.col.union", "member.col.joinedOn", "member.col.status"].map { req.t($0) }
        let root = try await Organization.find(filter.orgID ?? scope.rootID, on: req.db)
        try await req.audit.record(whole ? "member.export.whole" : "member.export", targetType: "organization", targetID: root?.id, org: root,
                                   details: ["rows": String(total), "format": format, "search": MemberQuery.describe(filter.q)])
        let db = req.db
        let lang = req
        return try await downloadInBatches(req, name: "members", format: format, header: header,
                                           widths: [20, 10, 22, 6, 14, 28, 22, 28, 12, 10]) { write in
            var lastID = Int.max
            var orgNames: [Int: String] = [:]
            while true {
                let batch = try await MemberQuery(request: req).query(filter).filter(\.$id < lastID).sort(\.$id, .descending).limit(5000).all()
                if batch.isEmpty { break }
                let missing = Set(batch.map(\.orgID)).filter { orgNames[$0] == nil }
                if !missing.isEmpty {
                    for org in try await Organization.query(on: db).filter(\.$id ~~ Array(missing)).all() { orgNames[org.id ?? 0] = org.name }
                }
                var rows: [[Cell]] = []
                rows.reserveCapacity(batch.count)
                for member in batch {
                    let id = (try? cipher.open(member.idCipher)) ?? ""
                    rows.append([.text(member.cardNumber), .text(member.name), .text(whole ? id : ResidentID.mask(id)),
                             .text(lang.t(member.sex == "M" ? "member.sex.M" : "member.sex.F")),
                             .text(whole ? member.phone : PhoneNumber.mask(member.phone)), .text(member.employerName ?? ""),
                             .text(member.employerCreditCode ?? ""), .text(orgNames[member.orgID] ?? ""), .text(member.joinedOn),
                             .text(lang.t("member.status.\(member.status.rawValue)"))])
                }
                try await write(rows)
                lastID = batch.last?.id ?? 0
            }
        }
    }
}

extension Cell {
    /// A long run of digits (a card or ID number) gets a trailing tab, as Chinese systems do, so
    /// Excel and WPS keep it as text instead of showing 1.1E+15 and dropping the last digits.
    /// Importing such a file again strips the tab with the rest of the white space.
    var csvText: String {
        switch self {
        case let .text(text):
            text.utf8.count >= 12 && text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) ? text + "\t" : text
        case let .number(number): String(number)
        case let .integer(number): String(number)
        case .empty: ""
        }
    }
}

/// Background imports the app waits for on shutdown (and tests wait for).
final class ImportTasks: Sendable {
    private let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])

    func track(_ task: Task<Void, Never>) { tasks.withLockedValue { $0.append(task) } }

    func waitForAll() async {
        let pending = tasks.withLockedValue { list in
            defer { list.removeAll() }
            return list
        }
        for task in pending { await task.value }
    }
}

extension Application {
    private struct ImportTasksKey: StorageKey { typealias Value = ImportTasks }

    var imports: ImportTasks {
        if let existing = storage[ImportTasksKey.self] { return existing }
        let made = ImportTasks()
        storage[ImportTasksKey.self] = made
        return made
    }
}

/// `/api/v1/member-imports` and `/api/v1/members/export`.
struct RosterFileController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let imports = routes.grouped("member-imports")
        imports.on(.POST, body: .collect(maxSize: RosterFiles.maxUpload), use: upload)
        imports.get("template", use: template)
        imports.get(":id", use: show)
        imports.get(":id", "problems", use: problems)
        routes.get("members", "export", use: export)
    }

    /// The file is the request body; `orgId` the union; `fileName` for the record.
    @Sendable func upload(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let fileName = v.text(req.query[String.self, at: "fileName"], "fileName", required: false, max: 200) ?? "upload"
        let body = req.body.data
        if body == nil || body!.readableBytes == 0 { v.add("body", "required", "error.import.empty") }
        guard let orgID, let body, body.readableBytes > 0, v.issues.isEmpty else {
            if orgID == nil && !v.issues.contains(where: { $0.field == "orgId" }) { v.add("orgId", "required", "error.application.chooseUnion") }
            throw AppError.invalid(v.issues)
        }
        let union = try await MemberService.union(orgID, field: "orgId", scope: scope, on: req.db)
        let job = try await RosterFiles.startImport(req, union: union, fileName: fileName, body: body)
        return try await ImportJobDTO(job).encodeResponse(status: .accepted, for: req)
    }

    @Sendable func show(req: Request) async throws -> ImportJobDTO {
        ImportJobDTO(try await RosterFiles.job(req, try req.idParameter()))
    }

    /// The rows not imported, read and written a batch at a time, the writing on the thread pool.
    @Sendable func problems(req: Request) async throws -> Response {
        let job = try await RosterFiles.job(req, try req.idParameter())
        let format = try RosterFiles.format(req)
        let jobID = try job.requireID()
        return try await RosterFiles.downloadInBatches(req, name: "import-\(jobID)-problems", format: format,
                                                       header: ImportReport.header(req.application.localizer, req.lang),
                                                       widths: [8, 18, 14, 60]) { write in
            try await ImportReport.batches(jobID: jobID, on: req.db, write)
        }
    }

    @Sendable func template(req: Request) async throws -> Response {
        let format = try RosterFiles.format(req)
        return try await RosterFiles.download(req, name: "roster-template", format: format, header: RosterColumn.allCases.map(\.templateHeader),
                                              widths: [10, 22, 14, 30, 22, 12]) { add in
            try add(RosterExample.cells)
        }
    }

    @Sendable func export(req: Request) async throws -> Response {
        var v = Validator()
        let filter = MemberQuery.filter(from: req, &v)
        let whole = req.query[String.self, at: "whole"] == "true"
        let format = (try? RosterFiles.format(req)) ?? { v.add("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"]); return "xlsx" }()
        try v.check()
        return try await RosterFiles.export(req, filter: filter, whole: whole, format: format)
    }
}
