import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/console/rights`: the rates with SVG bars (exported as XLSX or CSV), the contracts, congresses
/// and cases of the subtree, and their detail pages with the step forms (RightsForms.swift).
struct RightsPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let r = routes.grouped("console", "rights")
        r.get(use: index)
        r.get("congresses", ":id", use: congress)
        r.get("contracts", "new", use: newContract)
        r.post("contracts", use: createContract)
        r.get("contracts", ":id", use: contract)
        r.post("contracts", ":id", "actions", use: contractAction)
        r.get("cases", "new", use: newCase)
        r.post("cases", use: createCase)
        r.get("cases", ":id", use: legalCase)
        r.post("cases", ":id", "actions", use: caseAction)
        r.on(.POST, "cases", ":id", "files", body: .collect(maxSize: ByteCount(value: Attachments.maxBytes + 64 * 1024)), use: caseFile)
    }

    struct RateBar: Encodable {
        let label: String
        let value: String
        let width: Int
        let y: Int
    }

    struct Row: Encodable {
        let id: Int
        let title: String
        let org: String
        let kind: String
        let state: String
        let tone: String
        let dates: String
    }

    struct Page: Encodable {
        let page: PageContext
        let orgName: String
        let orgId: Int
        let from: String
        let to: String
        let stats: RightsStatsDTO
        let rates: [RateBar]
        let recovered: String
        let mediationRecovered: String
        let contracts: [Row]
        let expiring: [Row]
        let cases: [Row]
        let congresses: [Row]
        let canWrite: Bool
    }

    static func percent(_ r: Double) -> String { String(format: "%.1f%%", r * 100) }
    static func yuan(_ d: Decimal) -> String { MoneyText.yuan(NSDecimalNumber(decimal: d).doubleValue) }

    static func contractRow(_ c: CollectiveContract, org: String, req: Request) -> Row {
        let dates = [c.inForceOn.map { req.t("rights.contractState.inForce") + " " + $0 }, c.expiresOn.map { "→ " + $0 }].compactMap { $0 }.joined(separator: " ")
        let tone = c.state == .inForce ? "ok" : (c.state.isFinal ? "" : "warn")
        return Row(id: c.id ?? 0, title: c.title + (c.version > 1 ? " (" + req.t("rights.version", ["n": String(c.version)]) + ")" : ""), org: org,
                   kind: req.t("rights.contractKind.\(c.kind.rawValue)"), state: req.t("rights.contractState.\(c.state.rawValue)"), tone: tone, dates: dates)
    }

    @Sendable func index(req: Request) async throws -> Response {
        let q = try await RightsStatsRoutes.query(req)
        let stats = try await RightsStatsRoutes.report(req, q)
        if let format = q.format { return try await RightsStatsRoutes.export(req, stats, format: format, org: q.root) }
        let scope = try req.scope
        let root = q.root
        func inRoot<M: Model>(_ query: QueryBuilder<M>) -> QueryBuilder<M> {
            query.joinedUnder(root)
        }
        let contracts = try await inRoot(CollectiveContract.query(on: req.db).join(Organization.self, on: \CollectiveContract.$orgID == \Organization.$id))
            .sort(\.$id, .descending).limit(20).all()
        let soon = ShanghaiClock.today().adding(days: 90).description
        let expiring = try await inRoot(CollectiveContract.query(on: req.db).join(Organization.self, on: \CollectiveContract.$orgID == \Organization.$id))
            .filter(\.$state == .inForce).filter(\.$successorID == nil).filter(\.$expiresOn <= soon).sort(\.$expiresOn).limit(50).all()
        let cases = try await inRoot(LegalCase.query(on: req.db).join(Organization.self, on: \LegalCase.$orgID == \Organization.$id))
            .sort(\.$id, .descending).limit(20).all()
        let congresses = try await inRoot(Congress.query(on: req.db).join(Organization.self, on: \Congress.$orgID == \Organization.$id))
            .sort(\.$id, .descending).limit(20).all()
        func org<M: Model>(_ m: M) -> String { (try? m.joined(Organization.self).name) ?? "" }
        var congressRows: [Row] = []
        for c in congresses {
            let dto = try await CongressController.dto(c, org: nil, sessions: false, on: req.db, lang: req)
            congressRows.append(Row(id: dto.id, title: org(c), org: "", kind: req.t("rights.congressKind.\(c.kind)"),
                                    state: dto.warnings.isEmpty ? "✓" : dto.warnings.joined(separator: "；"), tone: dto.warnings.isEmpty ? "ok" : "warn",
                                    dates: "\(c.startsOn) → \(c.endsOn)"))
        }
        let c = stats.contracts, d = stats.democracy
        let rates = [("rights.stats.covered", c.coverageRate), ("rights.stats.wageCovered", c.wageCoverageRate),
                     ("rights.stats.democratic", d.democraticRate), ("rights.stats.successRate", stats.mediation.successRate),
                     ("rights.stats.winRate", stats.legalAid.winRate)]
            .enumerated().map { i, r in RateBar(label: req.t(r.0), value: Self.percent(r.1), width: Int((r.1 * 200).rounded()), y: i * 28) }
        return try await req.view.render("rights/index", Page(
            page: req.pageContext(), orgName: root.name, orgId: try root.requireID(), from: stats.from, to: stats.to, stats: stats, rates: rates,
            recovered: Self.yuan(stats.legalAid.recoveredYuan), mediationRecovered: Self.yuan(stats.mediation.recoveredYuan),
            contracts: contracts.map { Self.contractRow($0, org: org($0), req: req) },
            expiring: expiring.map { Self.contractRow($0, org: org($0), req: req) },
            cases: cases.map { k in
                Row(id: k.id ?? 0, title: k.applicantName + " · " + k.employerName + (k.isGroup ? " · " + req.t("rights.case.group") : ""), org: org(k),
                    kind: req.t("rights.caseKind.\(k.kind.rawValue)"), state: req.t("rights.caseState.\(k.state.rawValue)"),
                    tone: k.state == .closed ? "ok" : (k.state == .refused ? "" : "warn"), dates: k.openedOn)
            },
            congresses: congressRows, canWrite: scope.role.editsOwnOrg || scope.role == .hotlineAgent)).encodeResponse(for: req)
    }

    struct CongressPage: Encodable {
        let page: PageContext
        let congress: CongressDTO
        let kind: String
        let categories: [String]
    }

    @Sendable func congress(req: Request) async throws -> View {
        let (c, org) = try await CongressController.congress(req, try req.idParameter())
        let dto = try await CongressController.dto(c, org: org, sessions: true, on: req.db, lang: req)
        let categories = RepresentativeCategory.allCases.map { req.t("rights.category.\($0.rawValue)") + " " + String(dto.byCategory[$0.rawValue] ?? 0) }
        return try await req.view.render("rights/congress", CongressPage(page: req.pageContext(), congress: dto,
                                                                         kind: req.t("rights.congressKind.\(c.kind)"), categories: categories))
    }
}
