import Fluent
import FluentSQL
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
        b.post(":id", "lines", "all", use: addAll)
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

    func render(_ req: Request, problem: String?, form: [String: String], status: HTTPStatus = .ok, summary: String? = nil) async throws -> Response {
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
            problem: problem, flash: summary ?? (problem == nil ? done.map { req.t("relief.done.\($0)") } : nil))).encodeResponse(status: status, for: req)
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

    /// Every active household of the batch union's subtree not yet in the batch, through the same
    /// checks a line at a time would meet (the bulk path); what was refused is counted by its rule.
    @Sendable func addAll(req: Request) async throws -> Response {
        do {
            let scope = try req.scope
            try scope.require(scope.role.worksRelief)
            let batch = try await ReliefBatchController.batch(req)
            guard let program = try await ReliefProgram.find(batch.programID, on: req.db), program.kind != .temporary,
                  let org = try await Organization.find(batch.orgID, on: req.db) else { throw AppError.notFound }
            let rows = try await (req.db as! any SQLDatabase).raw("""
                SELECT h.id FROM hardship_households h JOIN organizations o ON o.id = h.org_id
                WHERE o.path >= \(bind: org.path) AND o.path < \(bind: org.treePath.upperBound) AND h.state = 'active'
                  AND NOT EXISTS (SELECT 1 FROM relief_lines l WHERE l.batch_id = \(bind: try batch.requireID()) AND l.household_id = h.id)
                ORDER BY h.id LIMIT 50000
                """).all()
            let inputs = try rows.map { ReliefLines.Input(householdID: try $0.decode(column: "id", as: Int.self)) }
            let out = try await ReliefLines.add(inputs, to: batch, program: program, staffID: scope.staffID, cipher: req.fieldCipher, on: req.db)
            var refused: [String: (count: Int, message: String)] = [:]
            for o in out {
                guard let r = o.refusal, let issue = r.fields.first else { continue }
                refused[issue.code, default: (0, req.message(for: issue))].count += 1
            }
            let added = out.filter { $0.refusal == nil }.count
            try await req.audit.record("relief.line.addAll", targetType: "reliefBatch", targetID: batch.id,
                                       details: ["added": String(added), "refused": String(out.count - added)])
            var summary = req.t("relief.addAll.added", ["count": String(added)])
            for (code, r) in refused.sorted(by: { $0.key < $1.key }) {
                summary += req.t("relief.addAll.refused", ["count": String(r.count), "code": code, "message": r.message])
            }
            return try await render(req, problem: nil, form: [:], summary: summary)
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await render(req, problem: req.refusal(error), form: [:], status: error.status)
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
