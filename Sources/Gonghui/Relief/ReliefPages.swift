import Fluent
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// The console's relief: the programmes of a year with the caller's budget, a programme's budgets
/// by node with the allocate form and its batches. Batches: `ReliefBatchPages`.
struct ReliefPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let r = routes.grouped("console", "relief")
        r.get(use: programs)
        r.get("programs", ":id", use: program)
        r.post("programs", ":id", "budgets", use: allocate)
        r.post("programs", ":id", "batches", use: newBatch)
    }

    struct Money4: Encodable {
        let allocated: String
        let reserved: String
        let paid: String
        let available: String

        init(_ b: FundBudget?) {
            allocated = Money.display(b?.allocatedFen ?? 0)
            reserved = Money.display(b?.reservedFen ?? 0)
            paid = Money.display(b?.paidFen ?? 0)
            available = Money.display(b?.availableFen ?? 0)
        }

        var cells: [Cell] { [.text(allocated), .text(reserved), .text(paid), .text(available)] }
    }

    struct ProgramRow: Encodable {
        let id: Int
        let name: String
        let kind: String
        let rule: String
        let budget: Money4
    }

    struct ListPage: Encodable {
        let page: PageContext
        let year: Int
        let years: [FormField.Choice]
        let rootName: String
        let rows: [ProgramRow]
    }

    static func ruleText(_ p: ReliefProgram, _ req: Request) -> String {
        if let fen = p.fixedFen { return "¥" + Money.display(fen) }
        if p.kind == .autumnSchooling { return req.t("relief.rule.grades") }
        let parts = [("deep", p.kDeep), ("relative", p.kRelative), ("accident", p.kAccident)].compactMap { name, k in
            k.map { req.t("relief.rule.months", ["category": req.t("relief.category.\(name)"), "months": "\(Decimal($0) / 10)"]) }
        }
        return parts.isEmpty ? req.t("relief.rule.open") : parts.joined(separator: "；")
    }

    static func money(_ title: [String], _ req: Request) -> [String] {
        title + ["relief.allocated", "relief.reserved", "relief.paid", "relief.available"].map { req.t($0) }
    }

    @Sendable func programs(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.readsFunds)
        let thisYear = ShanghaiClock.today().year
        let year = req.query[String.self, at: "year"].flatMap { Int($0) }.map { min(2100, max(2000, $0)) } ?? thisYear
        let list = try await ReliefProgram.query(on: req.db).filter(\.$year == year).sort(\.$kind).all()
        var rows: [ProgramRow] = []
        for p in list {
            let budget = try await FundsLedger.budget(p.fundID, org: scope.rootID, on: req.db)
            rows.append(ProgramRow(id: p.id ?? 0, name: p.name, kind: req.t("relief.kind.\(p.kind.rawValue)"), rule: Self.ruleText(p, req),
                                   budget: Money4(budget)))
        }
        if let format = req.query[String.self, at: "format"] {
            guard format == "xlsx" || format == "csv" else { throw AppError.invalid([FieldIssue("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"])]) }
            try await req.audit.record("relief.programs.export", details: ["format": format, "year": String(year)])
            return try await RosterFiles.download(req, name: "relief-\(year)", format: format,
                                                  header: Self.money([req.t("relief.program"), req.t("relief.kind"), req.t("relief.rule")], req),
                                                  widths: [24, 12, 24, 14, 14, 14, 14]) { add in
                for r in rows { try add([.text(r.name), .text(r.kind), .text(r.rule)] + r.budget.cells) }
            }
        }
        let years = (thisYear - 4...thisYear + 1).reversed().map { FormField.Choice(value: String($0), label: String($0), selected: $0 == year) }
        return try await req.view.render("relief/programs", ListPage(page: req.pageContext(), year: year, years: years, rootName: scope.rootName,
                                                                      rows: rows)).encodeResponse(for: req)
    }

    struct BudgetRow: Encodable {
        let orgId: Int
        let name: String
        let budget: Money4
    }

    struct BatchRow: Encodable {
        let id: Int
        let orgName: String
        let state: String
        let lines: Int
        let total: String
    }

    struct ProgramPage: Encodable {
        let page: PageContext
        let id: Int
        let name: String
        let kind: String
        let year: Int
        let rule: String
        let cap: String?
        let budgets: [BudgetRow]
        let children: [FormField.Choice]
        let batches: [BatchRow]
        let canWork: Bool
        let problem: String?
        let flash: String?
    }

    @Sendable func program(req: Request) async throws -> Response {
        try await render(req, problem: nil)
    }

    func render(_ req: Request, problem: String?, status: HTTPStatus = .ok) async throws -> Response {
        let scope = try req.scope
        let p = try await ReliefProgramController.program(req)
        let rows = try await scope.records(FundBudget.self, orgField: \.$orgID, on: req.db).filter(\.$fundID == p.fundID)
            .sort(Organization.self, \.$path).limit(2000).all()
        let names = try await ApplicationService.orgNames(rows.map(\.orgID), on: req.db)
        let budgets = rows.map { BudgetRow(orgId: $0.orgID, name: names[$0.orgID]?.name ?? "", budget: Money4($0)) }
        if let format = req.query[String.self, at: "format"] {
            let format = try RosterFiles.format(req)
            try await req.audit.record("relief.budgets.export", targetType: "reliefProgram", targetID: p.id, details: ["format": format])
            return try await RosterFiles.download(req, name: "relief-budgets-\(p.id ?? 0)", format: format,
                                                  header: Self.money([req.t("relief.org")], req), widths: [28, 14, 14, 14, 14]) { add in
                for b in budgets { try add([.text(b.name)] + b.budget.cells) }
            }
        }
        // Who the caller may give to or open a batch for: its own node (the city sets its own budget) and the nodes below.
        let orgs = OrgOrder.sorted(try await scope.orgs(on: req.db).filter(\.$kind ~~ [.city, .district, .street]).sort(\.$path).limit(500).all())
        let batches = try await scope.records(ReliefBatch.self, orgField: \.$orgID, on: req.db).filter(\.$programID == (try p.requireID()))
            .sort(\.$id, .descending).limit(200).all()
        let batchOrgs = try await ApplicationService.orgNames(batches.map(\.orgID), on: req.db)
        let done = req.query[String.self, at: "done"].map { req.t("relief.done.\($0 == "batch" ? "batch" : "budget")") }
        return try await req.view.render("relief/program", ProgramPage(
            page: req.pageContext(), id: p.id ?? 0, name: p.name, kind: req.t("relief.kind.\(p.kind.rawValue)"), year: p.year,
            rule: Self.ruleText(p, req), cap: p.householdYearCapFen.map { "¥" + Money.display($0) }, budgets: budgets,
            children: orgs.map { .init(value: String($0.id ?? 0), label: ($0.kind == .street ? "　" : "") + $0.name, selected: false) },
            batches: batches.map { BatchRow(id: $0.id ?? 0, orgName: batchOrgs[$0.orgID]?.name ?? "", state: req.t("relief.state.\($0.state.rawValue)"),
                                            lines: $0.lineCount, total: Money.display($0.totalFen)) },
            canWork: scope.role.worksRelief, problem: problem, flash: problem == nil ? done : nil)).encodeResponse(status: status, for: req)
    }

    /// The form's yuan as fen, or the field's message.
    static func yuan(_ text: String?, _ v: inout Validator) -> Int64? {
        v.fen(text: text, "amountYuan", required: false, positive: false)
    }

    @Sendable func allocate(req: Request) async throws -> Response {
        let form = try req.formFields()
        var input = ReliefBudgetInput(orgId: form.int("orgId"))
        var v = Validator()
        let fen = Self.yuan(form.text("amountYuan"), &v)
        do {
            try v.check()
            input.amountYuan = fen.map { Decimal(fen: $0) }
            try await ReliefProgramController.allocate(req, input)
            return req.redirect(to: "/console/relief/programs/\(try req.idParameter())?done=budget")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await render(req, problem: req.refusal(error), status: error.status)
        }
    }

    @Sendable func newBatch(req: Request) async throws -> Response {
        let form = try req.formFields()
        do {
            let id = try await ReliefBatchController.make(req, ReliefBatchInput(programId: try req.idParameter(), orgId: form.int("orgId")))
            return req.redirect(to: "/console/relief/batches/\(id)")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await render(req, problem: req.refusal(error), status: error.status)
        }
    }
}
