import Fluent
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// The console's batches: the list, and one batch with its lines, the add-line form (a refusal
/// shown with the rule it broke), the steps and the bank's file.
struct ReliefBatchPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let b = routes.grouped("console", "relief", "batches")
        b.get(use: list)
        b.get(":id", use: show)
        b.get(":id", "export", use: export)
        b.post(":id", "lines", use: addLine)
        b.post(":id", "actions", use: act)
    }

    struct Row: Encodable {
        let id: Int
        let program: String
        let orgName: String
        let state: String
        let lines: Int
        let total: String
    }

    struct ListPage: Encodable {
        let page: PageContext
        let rows: [Row]
        let prevHref: String?
        let nextHref: String?
    }

    @Sendable func list(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.readsFunds)
        var v = Validator()
        let paging = PageRequest(from: req, &v)
        try v.check()
        let query = scope.records(ReliefBatch.self, orgField: \.$orgID, on: req.db)
        let total = try await query.count()
        let batches = try await query.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all()
        let programs = try await ReliefProgram.query(on: req.db).filter(\.$id ~~ Array(Set(batches.map(\.programID)))).all()
        let names = Dictionary(uniqueKeysWithValues: programs.map { ($0.id ?? 0, $0.name) })
        let orgs = try await ApplicationService.orgNames(batches.map(\.orgID), on: req.db)
        let rows = batches.map { Row(id: $0.id ?? 0, program: names[$0.programID] ?? "", orgName: orgs[$0.orgID]?.name ?? "",
                                     state: req.t("relief.state.\($0.state.rawValue)"), lines: $0.lineCount, total: Money.display($0.totalFen)) }
        if let format = req.query[String.self, at: "format"] {
            let format = try RosterFiles.format(req)
            try await req.audit.record("relief.batches.export", details: ["format": format])
            let header = ["relief.batch", "relief.program", "relief.org", "relief.state", "relief.lines", "relief.total"].map { req.t($0) }
            return try await RosterFiles.download(req, name: "relief-batches", format: format, header: header, widths: [8, 24, 24, 10, 8, 14]) { add in
                for r in rows { try add([.integer(Int64(r.id)), .text(r.program), .text(r.orgName), .text(r.state), .integer(Int64(r.lines)), .text(r.total)]) }
            }
        }
        return try await req.view.render("relief/batches", ListPage(
            page: req.pageContext(), rows: rows,
            prevHref: paging.page > 1 ? "/console/relief/batches?page=\(paging.page - 1)" : nil,
            nextHref: paging.offset + paging.per < total ? "/console/relief/batches?page=\(paging.page + 1)" : nil)).encodeResponse(for: req)
    }

    struct LineRow: Encodable {
        let id: Int
        let name: String
        let householdId: Int?
        let amount: String
        let state: String
        let account: String
        let reference: String
    }

    struct BatchPage: Encodable {
        let page: PageContext
        let id: Int
        let program: String
        let programId: Int
        let orgName: String
        let state: String
        let total: String
        let lineCount: Int
        let noticeId: Int?
        let noticeEndsOn: String?
        let lines: [LineRow]
        let actions: [FormField.Choice]
        let canAdd: Bool
        let temporary: Bool
        let form: [String: String]
        let problem: String?
        let flash: String?
    }

    @Sendable func show(req: Request) async throws -> Response {
        try await render(req, problem: nil, form: [:])
    }

    func render(_ req: Request, problem: String?, form: [String: String], status: HTTPStatus = .ok) async throws -> Response {
        let scope = try req.scope
        let batch = try await ReliefBatchController.batch(req)
        let dto = try await ReliefBatchController.dto(batch, on: req.db)
        let lines = try await ReliefLine.query(on: req.db).filter(\.$batchID == (try batch.requireID())).sort(\.$id).limit(2000).all()
        var actions: [ReliefBatches.Action] = []
        switch batch.state {
        case .draft: actions = [.submit, .cancel]
        case .submitted: actions = (scope.role.approvesRelief ? [.approve] : []) + [.cancel]
        case .inNotice: actions = [.pay, .cancel]
        case .paid, .cancelled: actions = []
        }
        let done = req.query[String.self, at: "done"].flatMap { ["line", "submit", "approve", "pay", "cancel"].contains($0) ? $0 : nil }
        return try await req.view.render("relief/batch", BatchPage(
            page: req.pageContext(), id: dto.id, program: dto.programName, programId: dto.programId, orgName: dto.orgName,
            state: req.t("relief.state.\(batch.state.rawValue)"), total: Money.display(batch.totalFen), lineCount: batch.lineCount,
            noticeId: dto.noticeId, noticeEndsOn: dto.noticeEndsOn,
            lines: lines.map { LineRow(id: $0.id ?? 0, name: $0.recipientName, householdId: $0.householdID, amount: Money.display($0.amountFen),
                                       state: req.t("relief.lineState.\($0.state.rawValue)"), account: $0.account ?? "", reference: $0.payReference ?? "") },
            actions: actions.map { .init(value: $0.rawValue, label: req.t("relief.action.\($0.rawValue)"), selected: $0 == .pay || $0 == .approve) },
            canAdd: batch.state == .draft && scope.role.worksRelief, temporary: dto.kind == .temporary, form: form,
            problem: problem, flash: problem == nil ? done.map { req.t("relief.done.\($0)") } : nil)).encodeResponse(status: status, for: req)
    }

    @Sendable func export(req: Request) async throws -> Response {
        try await ReliefBatchController().export(req: req)
    }

    @Sendable func addLine(req: Request) async throws -> Response {
        let form = try req.formFields()
        do {
            let batch = try await ReliefBatchController.batch(req)
            var v = Validator()
            let fen = ReliefPages.yuan(form.text("amountYuan"), &v)
            let account = v.text(form["account"], "account", required: false, max: 40)
            var householdID = form.text("householdId").flatMap { Int($0) }
            if householdID == nil, let raw = form.text("householdId") {
                // Staff type the file number as often as the id.
                householdID = try await HardshipHousehold.query(on: req.db).filter(\.$fileNumber == raw).first()?.id
                if householdID == nil { v.add("householdId", "notFound", "relief.error.noSuchHousehold") }
            }
            try v.check()
            _ = try await ReliefBatchController.add(req, batch: batch, .init(householdID: householdID, personID: form.int("personId"), name: form["name"],
                                                                             idNumber: form["idNumber"], amountFen: fen, account: account))
            return req.redirect(to: "/console/relief/batches/\(try req.idParameter())?done=line")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            var kept = form
            kept["idNumber"] = nil
            return try await render(req, problem: req.refusal(error), form: kept, status: error.status)
        }
    }

    @Sendable func act(req: Request) async throws -> Response {
        let form = try req.formFields()
        do {
            let scope = try req.scope
            try scope.require(scope.role.worksRelief)
            let batch = try await ReliefBatchController.batch(req)
            guard let action = form.text("action").flatMap(ReliefBatches.Action.init(rawValue:)) else {
                throw AppError.invalid([FieldIssue("action", "unknown", "error.field.oneOf", ["values": "submit, approve, pay, cancel"])])
            }
            _ = try await ReliefBatches.act(action, batch: batch, input: ReliefActionInput(action: action.rawValue, note: form.text("note"),
                                                                                            reference: form.text("reference")),
                                            scope: scope, req: req)
            return req.redirect(to: "/console/relief/batches/\(try req.idParameter())?done=\(action.rawValue)")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await render(req, problem: req.refusal(error), form: [:], status: error.status)
        }
    }
}
