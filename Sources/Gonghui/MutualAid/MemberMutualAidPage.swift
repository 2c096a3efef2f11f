import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/member/mutual-aid`: the member's phone page of mutual medical aid, after the same SMS sign-in as
/// the card page: the plans that cover them, what is left of each cap, and every claim with its outcome.
struct MemberMutualAidPage: RouteCollection {
    struct PlanRow: Encodable {
        let name: String
        let kind: String
        let cover: String
        let coveredFrom: String
        let yearlyCap: String
        let yearlyUsed: String
        let yearlyLeft: String
        let totalLeft: String?
        let usedPercent: Int
    }

    struct ClaimRow: Encodable {
        let date: String
        let what: String
        let plan: String
        let outcome: String
        let css: String
        let selfPaid: String
        let benefit: String
        let state: String
    }

    struct Page: Encodable {
        let page: PageContext
        let name: String
        let plans: [PlanRow]
        let claims: [ClaimRow]
        let paidTotal: String
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("member", "mutual-aid", use: show)
    }

    static func text(_ yuan: Decimal) -> String { MoneyText.yuan(NSDecimalNumber(decimal: yuan).doubleValue) }

    @Sendable func show(req: Request) async throws -> Response {
        guard let member = try await PublicPages().signedIn(req) else { return req.redirect(to: "/member") }
        let mine = try await MemberMutualAidController.summary(member, on: req.db)
        let names = Dictionary(mine.plans.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var planNames = names
        let other = Set(mine.claims.compactMap(\.planId)).subtracting(names.keys)
        if !other.isEmpty {
            for p in try await AidPlan.query(on: req.db).filter(\.$id ~~ Array(other)).all() { planNames[p.id!] = p.name }
        }
        // The page shows the cover running now; last year's plans stay in the API and name last year's claims.
        let today = ShanghaiClock.today().description
        let plans = mine.plans.filter { $0.coverTo >= today }.map { p in
            let cap = NSDecimalNumber(decimal: p.yearlyCapYuan).doubleValue, used = NSDecimalNumber(decimal: p.yearlyUsedYuan).doubleValue
            return PlanRow(name: p.name, kind: req.t("mutualAid.kind.\(p.kind)"), cover: "\(p.coverFrom) – \(p.coverTo)", coveredFrom: p.coveredFrom,
                           yearlyCap: Self.text(p.yearlyCapYuan), yearlyUsed: Self.text(p.yearlyUsedYuan), yearlyLeft: Self.text(p.yearlyLeftYuan),
                           totalLeft: p.totalLeftYuan.map(Self.text), usedPercent: cap > 0 ? min(100, Int((used / cap * 100).rounded())) : 0)
        }
        let claims = mine.claims.map { c in
            ClaimRow(date: c.visitDate,
                     what: c.settlementNumber.map { req.t("mutualAid.me.settlement", ["number": $0]) } ?? req.t("mutualAid.application"),
                     plan: c.planId.flatMap { planNames[$0] } ?? "—", outcome: req.t("mutualAid.outcome.\(c.outcome)"),
                     css: c.outcome == "paid" ? "ok" : (c.outcome == "pending" ? "warn" : "muted"),
                     selfPaid: Self.text(c.selfPaidYuan), benefit: Self.text(c.benefitYuan), state: req.t("mutualAid.state.\(c.state)"))
        }
        let paid = mine.claims.filter { $0.outcome == "paid" }.reduce(Decimal(0)) { $0 + $1.benefitYuan }
        let page = Page(page: req.pageContext(), name: member.name, plans: plans, claims: claims, paidTotal: Self.text(paid))
        return try await req.view.render("mutualaid/member", page).encodeResponse(for: req)
    }
}
