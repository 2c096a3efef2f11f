import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// `/api/v1/relief-batches`: a batch, its lines, its steps, the bank's file.
struct ReliefBatchController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let b = routes.grouped("relief-batches")
        b.post(use: create)
        b.get(use: list)
        b.get(":id", use: show)
        b.get(":id", "lines", use: lines)
        b.post(":id", "lines", use: addLine)
        b.post(":id", "actions", use: act)
        b.post(":id", "lines", ":lineId", "reverse", use: reverse)
        b.get(":id", "export", use: export)
    }

    /// The batch, if its org is in the caller's subtree; otherwise 404.
    static func batch(_ req: Request, _ id: Int? = nil) async throws -> ReliefBatch {
        let scope = try req.scope
        try scope.require(scope.role.readsFunds)
        guard let b = try await scope.records(ReliefBatch.self, orgField: \.$orgID, on: req.db).filter(\.$id == (try id ?? req.idParameter())).first()
        else { throw AppError.notFound }
        return b
    }

    static func dto(_ b: ReliefBatch, on db: any Database) async throws -> ReliefBatchDTO {
        let program = try await ReliefProgram.find(b.programID, on: db)
        let org = try await Organization.find(b.orgID, on: db)
        var notice: PublicNotice?
        if let noticeID = b.noticeID { notice = try await PublicNotice.find(noticeID, on: db) }
        return ReliefBatchDTO(id: b.id ?? 0, programId: b.programID, programName: program?.name ?? "", kind: program?.kind ?? .festivalVisit,
                              year: program?.year ?? 0, orgId: b.orgID, orgName: org?.name ?? "", state: b.state, lineCount: b.lineCount,
                              totalYuan: Decimal(fen: b.totalFen), noticeId: b.noticeID, noticeEndsOn: notice?.endsOn,
                              createdAt: b.createdAt, paidAt: b.paidAt)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let input = try req.content.decode(ReliefBatchInput.self)
        return try await ["id": Self.make(req, input)].encodeResponse(status: .created, for: req)
    }

    static func make(_ req: Request, _ input: ReliefBatchInput) async throws -> Int {
        let scope = try req.scope
        try scope.require(scope.role.worksRelief)
        var v = Validator()
        if input.programId == nil { v.add("programId", "required") }
        if input.orgId == nil { v.add("orgId", "required") }
        try v.check()
        let org = try await scope.org(input.orgId!, on: req.db)
        guard let program = try await ReliefProgram.find(input.programId!, on: req.db) else {
            throw AppError.invalid([FieldIssue("programId", "notFound")])
        }
        let batch = ReliefBatch()
        batch.programID = try program.requireID()
        batch.orgID = try org.requireID()
        batch.state = .draft
        batch.lineCount = 0
        batch.totalFen = 0
        batch.createdBy = scope.staffID
        try await req.db.transaction { tx in
            try await batch.create(on: tx)
            try await req.audit.record("relief.batch.create", targetType: "reliefBatch", targetID: batch.id, org: org,
                                       details: ["program": String(program.id ?? 0)], on: tx)
        }
        return try batch.requireID()
    }

    @Sendable func list(req: Request) async throws -> Paged<ReliefBatchDTO> {
        let scope = try req.scope
        try scope.require(scope.role.readsFunds)
        var v = Validator()
        let programID = req.optionalID("programId", &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        var query = scope.records(ReliefBatch.self, orgField: \.$orgID, on: req.db)
        if let programID { query = query.filter(\.$programID == programID) }
        let total = try await query.count()
        var items: [ReliefBatchDTO] = []
        for b in try await query.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all() {
            items.append(try await Self.dto(b, on: req.db))
        }
        return Paged(items: items, page: paging.page, per: paging.per, total: total)
    }

    @Sendable func show(req: Request) async throws -> ReliefBatchDTO {
        try await Self.dto(try await Self.batch(req), on: req.db)
    }

    static func lineDTO(_ l: ReliefLine) -> ReliefLineDTO {
        ReliefLineDTO(id: l.id ?? 0, householdId: l.householdID, personId: l.personID, name: l.recipientName,
                      idNumberMasked: l.idIndex == nil ? nil : "******", amountYuan: Decimal(fen: l.amountFen), state: l.state,
                      account: l.account, payReference: l.payReference, reason: l.reason)
    }

    @Sendable func lines(req: Request) async throws -> Paged<ReliefLineDTO> {
        let batch = try await Self.batch(req)
        var v = Validator()
        let paging = PageRequest(from: req, &v)
        try v.check()
        let query = ReliefLine.query(on: req.db).filter(\.$batchID == (try batch.requireID()))
        let total = try await query.count()
        let rows = try await query.sort(\.$id).range(paging.offset..<(paging.offset + paging.per)).all()
        return Paged(items: rows.map(Self.lineDTO), page: paging.page, per: paging.per, total: total)
    }

    @Sendable func addLine(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.worksRelief)
        let batch = try await Self.batch(req)
        let input = try req.content.decode(ReliefLineInput.self)
        var v = Validator()
        let fen = v.yuan(input.amountYuan, "amountYuan")
        let account = v.text(input.account, "account", required: false, max: 40)
        try v.check()
        let line = ReliefLines.Input(householdID: input.householdId, personID: input.personId, name: input.name, idNumber: input.idNumber,
                                     amountFen: fen, account: account)
        return try await Self.lineDTO(Self.add(req, batch: batch, line)).encodeResponse(status: .created, for: req)
    }

    /// One line through `ReliefLines`; a refusal is audited and thrown.
    static func add(_ req: Request, batch: ReliefBatch, _ line: ReliefLines.Input) async throws -> ReliefLine {
        let scope = try req.scope
        try scope.require(scope.role.worksRelief)
        guard let program = try await ReliefProgram.find(batch.programID, on: req.db) else { throw AppError.notFound }
        let input = line
        let outcome = try await ReliefLines.add([line], to: batch, program: program, staffID: scope.staffID, cipher: req.fieldCipher, on: req.db)[0]
        if let refusal = outcome.refusal {
            try await req.audit.record("relief.line.refused", targetType: "reliefBatch", targetID: batch.id,
                                       details: ["code": refusal.fields.first?.code ?? "", "household": String(input.householdID ?? 0)])
            throw refusal
        }
        try await req.audit.record("relief.line.add", targetType: "reliefBatch", targetID: batch.id,
                                   details: ["line": String(outcome.lineID ?? 0), "amountFen": String(outcome.amountFen)])
        guard let saved = try await ReliefLine.find(outcome.lineID, on: req.db) else { throw AppError.notFound }
        return saved
    }

    @Sendable func act(req: Request) async throws -> ReliefBatchDTO {
        let scope = try req.scope
        try scope.require(scope.role.worksRelief)
        let batch = try await Self.batch(req)
        let input = try req.content.decode(ReliefActionInput.self)
        guard let raw = input.action else { throw AppError.invalid([FieldIssue("action", "required")]) }
        guard let action = ReliefBatches.Action(rawValue: raw) else {
            throw AppError.invalid([FieldIssue("action", "unknown", "error.field.oneOf", ["values": "submit, approve, pay, cancel"])])
        }
        let done = try await ReliefBatches.act(action, batch: batch, input: input, scope: scope, req: req)
        return try await Self.dto(done, on: req.db)
    }

    @Sendable func reverse(req: Request) async throws -> ReliefLineDTO {
        let scope = try req.scope
        try scope.require(scope.role.approvesRelief)
        let batch = try await Self.batch(req)
        guard let line = try await ReliefLine.find(try req.idParameter("lineId"), on: req.db), line.batchID == batch.id else { throw AppError.notFound }
        let input = try req.content.decode(ReliefReverseInput.self)
        var v = Validator()
        let reason = v.text(input.reason, "reason", required: true, max: 500)
        try v.check()
        try await ReliefBatches.reverse(line, batch: batch, reason: reason!, req: req)
        return Self.lineDTO(line)
    }

    /// The bank's file: one row per line to pay (or paid), the account as it stood on the line.
    @Sendable func export(req: Request) async throws -> Response {
        let batch = try await Self.batch(req)
        let format = try RosterFiles.format(req)
        let program = try await ReliefProgram.find(batch.programID, on: req.db)
        let rows = try await ReliefLine.query(on: req.db).filter(\.$batchID == batch.requireID())
            .filter(\.$state ~~ [.reserved, .paid]).sort(\.$id).all()
        try await req.audit.record("relief.batch.export", targetType: "reliefBatch", targetID: batch.id,
                                   details: ["format": format, "rows": String(rows.count)])
        let header = ["relief.col.seq", "relief.col.name", "relief.col.account", "relief.col.amount", "relief.col.purpose",
                      "relief.col.line", "relief.col.reference"].map { req.t($0) }
        let purpose = program?.name ?? ""
        return try await RosterFiles.download(req, name: "relief-batch-\(batch.id ?? 0)", format: format, header: header,
                                              widths: [8, 14, 26, 14, 24, 12, 20]) { add in
            for (n, l) in rows.enumerated() {
                try add([.integer(Int64(n + 1)), .text(l.recipientName), .text(l.account ?? ""), .text(Money.yuan(l.amountFen)), .text(purpose),
                         .integer(Int64(l.id ?? 0)), .text(l.payReference ?? "")])
            }
        }
    }
}
