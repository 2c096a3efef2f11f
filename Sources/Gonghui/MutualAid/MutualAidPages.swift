import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// `/console/mutual-aid`: the year's plans and their fund, the settlement imports, and the statistics
/// with SVG charts (exported as XLSX or CSV).
struct MutualAidPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let m = routes.grouped("console", "mutual-aid")
        m.get(use: index)
        m.on(.POST, "import", body: .collect(maxSize: RosterFiles.maxUpload), use: upload)
        m.get("claims", use: claims)
    }

    struct PlanRow: Encodable {
        let id: Int
        let name: String
        let kind: String
        let admission: String
        let rule: String
        let available: String
        let paid: String
    }

    struct ImportRow: Encodable {
        let id: Int
        let fileName: String
        let state: String
        let counts: String
        let paid: String
        let createdAt: String
    }

    struct Bar: Encodable {
        let x: Int
        let y: Int
        let height: Int
        let label: String
        let title: String
    }

    struct Line: Encodable {
        let key: String
        let label: String
        let claims: Int64
        let amount: String
        let largest: String
        let width: Int
    }

    struct Page: Encodable {
        let page: PageContext
        let year: Int
        let years: [FormField.Choice]
        let canImport: Bool
        let plans: [PlanRow]
        let imports: [ImportRow]
        let stats: AidStatsDTO
        let paid: String
        let largest: String
        let bars: [Bar]
        let outcomes: [Line]
        let children: [Line]
        let errors: [String: String]
    }

    static func yuan(_ d: Decimal) -> String { MoneyText.yuan(NSDecimalNumber(decimal: d).doubleValue) }

    static func lines(_ figures: [AidStatsDTO.Figure], byAmount: Bool) -> [Line] {
        let top = max(1, figures.map { byAmount ? NSDecimalNumber(decimal: $0.amountYuan).doubleValue : Double($0.claims) }.max() ?? 1)
        return figures.map { f in
            let v = byAmount ? NSDecimalNumber(decimal: f.amountYuan).doubleValue : Double(f.claims)
            return Line(key: f.key, label: f.label, claims: f.claims, amount: yuan(f.amountYuan), largest: yuan(f.largestYuan), width: Int((v / top * 100).rounded()))
        }
    }

    @Sendable func index(req: Request) async throws -> Response {
        try await render(req)
    }

    func render(_ req: Request, errors: [String: String] = [:], status: HTTPStatus = .ok) async throws -> Response {
        let q = try await AidStatsController.query(req)
        let stats = try await AidStats.report(req, root: q.root, year: q.year, planID: q.planID)
        if let format = q.format { return try await AidStats.export(req, stats, format: format) }
        let scope = try req.scope
        var plans: [PlanRow] = []
        for p in try await AidPlan.query(on: req.db).filter(\.$year == q.year).sort(\.$kind).all() {
            let b = try await FundsLedger.budget(p.fundID, org: p.orgID, on: req.db)
            let ratio = p.ratioBP % 100 == 0 ? String(p.ratioBP / 100) : String(Double(p.ratioBP) / 100)
            var rule = req.t("mutualAid.rule", ["deductible": Money.display(p.deductibleFen), "ratio": ratio, "yearly": Money.display(p.yearlyCapFen)])
            if let t = p.totalCapFen { rule += " · " + req.t("mutualAid.ruleTotal", ["total": Money.display(t)]) }
            plans.append(PlanRow(id: p.id ?? 0, name: p.name, kind: req.t("mutualAid.kind.\(p.kind.rawValue)"), admission: req.t("mutualAid.admission.\(p.admission)"),
                                 rule: rule, available: Money.display(b?.availableFen ?? 0), paid: Money.display(b?.paidFen ?? 0)))
        }
        var imports: [ImportRow] = []
        if scope.role == .cityAdmin {
            for j in try await ImportJob.query(on: req.db).filter(\.$kind == "settlements").sort(\.$id, .descending).limit(10).all() {
                let d = try await SettlementImports.dto(j, on: req.db)
                let counts = ClaimOutcome.settlement.compactMap { o -> String? in
                    guard let n = d.counts[o.rawValue], n > 0 else { return nil }
                    return "\(req.t("mutualAid.outcome.\(o.rawValue)")) \(n)"
                }.joined(separator: " · ")
                imports.append(ImportRow(id: d.id, fileName: d.fileName, state: req.t("import.state.\(d.state)"), counts: counts, paid: Self.yuan(d.paidYuan),
                                         createdAt: j.createdAt.map(ShanghaiClock.format) ?? ""))
            }
        }
        let top = max(1, stats.byMonth.map { NSDecimalNumber(decimal: $0.amountYuan).doubleValue }.max() ?? 1)
        let bars = stats.byMonth.enumerated().map { i, f -> Bar in
            let h = Int((NSDecimalNumber(decimal: f.amountYuan).doubleValue / top * 100).rounded())
            return Bar(x: 30 + i * 26, y: 110 - h, height: h, label: String(i + 1), title: "\(f.key) \(Self.yuan(f.amountYuan)) · \(f.claims)")
        }
        let thisYear = ShanghaiClock.today().year
        let years = (thisYear - 4...thisYear + 1).reversed().map { FormField.Choice(value: String($0), label: String($0), selected: $0 == q.year) }
        return try await req.view.render("mutualaid/index", Page(
            page: req.pageContext(), year: q.year, years: years, canImport: scope.role == .cityAdmin, plans: plans, imports: imports, stats: stats,
            paid: Self.yuan(stats.paidYuan), largest: Self.yuan(stats.largestClaimYuan), bars: bars,
            outcomes: Self.lines(stats.byOutcome, byAmount: false), children: Self.lines(stats.byChild, byAmount: true), errors: errors))
            .encodeResponse(status: status, for: req)
    }

    struct UploadForm: Decodable { var file: File? }

    @Sendable func upload(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin)
        let form = try req.content.decode(UploadForm.self)
        guard let file = form.file, file.data.readableBytes > 0 else {
            return try await render(req, errors: req.fieldMessages(.invalid([FieldIssue("file", "required", "error.import.empty")])), status: .unprocessableEntity)
        }
        let root = try await scope.org(scope.rootID, on: req.db)
        do {
            let job = try await SettlementImports.start(req, root: root, fileName: file.filename, body: file.data)
            return req.redirect(to: "/console/imports/\(job.id ?? 0)")
        } catch let error as AppError where error.status == .conflict || error.status == .unprocessableEntity {
            return try await render(req, errors: req.fieldMessages(error), status: error.status)
        }
    }

    struct ClaimRow: Encodable {
        let id: Int
        let number: String
        let visit: String
        let date: String
        let selfPaid: String
        let benefit: String
        let outcome: String
        let state: String
        let org: String
    }

    struct ClaimsPage: Encodable {
        let page: PageContext
        let outcome: String
        let outcomes: [FormField.Choice]
        let rows: [ClaimRow]
    }

    /// The latest claims in the caller's subtree, by outcome.
    @Sendable func claims(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.readsFunds)
        let outcome = req.query[String.self, at: "outcome"].flatMap { ClaimOutcome(rawValue: $0) }
        var query = scope.records(AidClaim.self, orgField: \.$orgID, on: req.db)
        if let outcome { query = query.filter(\.$outcome == outcome.rawValue) }
        let list = try await query.sort(\.$id, .descending).limit(200).all()
        let orgs = try await ApplicationService.orgNames(list.map(\.orgID), on: req.db)
        let rows = list.map { c in
            ClaimRow(id: c.id ?? 0, number: c.settlementNumber ?? req.t("mutualAid.application"), visit: c.visitType.map { req.t("mutualAid.visit.\($0)") } ?? "",
                     date: c.visitDate, selfPaid: Money.display(c.selfPaidFen), benefit: Money.display(c.benefitFen),
                     outcome: req.t("mutualAid.outcome.\(c.outcome)"), state: req.t("mutualAid.state.\(c.state)"), org: orgs[c.orgID]?.name ?? "")
        }
        let choices = [FormField.Choice(value: "", label: req.t("common.all"), selected: outcome == nil)] +
            ClaimOutcome.allCases.filter { $0 != .duplicateSettlement && $0 != .badRow }.map {
                FormField.Choice(value: $0.rawValue, label: req.t("mutualAid.outcome.\($0.rawValue)"), selected: $0 == outcome)
            }
        return try await req.view.render("mutualaid/claims", ClaimsPage(page: req.pageContext(), outcome: outcome?.rawValue ?? "", outcomes: choices, rows: rows))
            .encodeResponse(for: req)
    }
}
