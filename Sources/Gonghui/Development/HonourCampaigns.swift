import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct QuotaRuleInput: Content {
    var category: String?
    /// A share: 0.45 or 45 (percent) both mean 45%.
    var min: Double?
    var max: Double?
}

struct DistrictQuotaInput: Content {
    var orgId: Int?
    var quota: Int?
}

struct HonourCampaignInput: Content {
    /// The campaign's name; it names its honour too when `honour` is absent (`2026年首都劳动奖章` → `capitalMedal`).
    var title: String?
    var honour: String?
    var orgId: Int?
    var year: Int?
    var quota: Int?
    var noticeDays: Int?
    var noticeDayRule: String?
    var prizeYuan: Decimal?
    var budgetYuan: Decimal?
    var quotaRules: [QuotaRuleInput]?
    var districtQuotas: [DistrictQuotaInput]?
}

struct QuotaRuleDTO: Content {
    let category: String
    let min: Double?
    let max: Double?
    let count: Int
    /// The category's share of the nominations still on the list (0…1).
    let share: Double
    let met: Bool
}

struct DistrictQuotaDTO: Content {
    let orgId: Int
    let orgName: String
    let quota: Int
    let used: Int
}

struct HonourCampaignDTO: Content {
    let id: Int
    let orgId: Int
    let orgName: String?
    let honour: String
    let honourName: String
    let title: String
    let year: Int
    let quota: Int
    let noticeDays: Int
    let noticeDayRule: String
    let prizeYuan: Decimal
    let fundId: Int?
    let state: String
    let noticeId: Int?
    let noticeEndsOn: String?
    let nominations: Int
    let awarded: Int
    let quotaRules: [QuotaRuleDTO]
    let districtQuotas: [DistrictQuotaDTO]
    let allRulesMet: Bool
    let closedOn: String?
    let overrideReason: String?
}

enum HonourCampaigns {
    static func honour(code: String, on db: any Database) async throws -> HonourTitle? {
        try await HonourTitle.query(on: db).filter(\.$code == code).first()
    }

    /// The honour a campaign is for: the code given, else the one whose name its title holds.
    static func resolveHonour(_ input: HonourCampaignInput, on db: any Database, _ v: inout Validator) async throws -> HonourTitle? {
        let all = try await HonourTitle.query(on: db).all()
        if let code = input.honour, !code.isEmpty {
            if let t = all.first(where: { $0.code == code || $0.name == code }) { return t }
            v.add("honour", "unknown", "error.field.oneOf", ["values": all.map(\.code).joined(separator: ", ")])
            return nil
        }
        guard let title = input.title, !title.isEmpty else { return nil }
        if let t = all.first(where: { $0.code == title }) { return t }
        return all.sorted { $0.name.count > $1.name.count }.first { title.contains($0.name) }
    }

    /// 0.45 and 45 both read as 45%, in basis points.
    static func share(_ raw: Double?, _ field: String, _ v: inout Validator) -> Int? {
        guard let raw else { return nil }
        guard raw.isFinite, raw >= 0, raw <= 100 else {
            v.add(field, "range", "honour.error.share")
            return nil
        }
        return Int(((raw <= 1 ? raw * 100 : raw) * 100).rounded())
    }

    static func create(_ req: Request, _ input: HonourCampaignInput) async throws -> HonourCampaign {
        let scope = try req.scope
        try scope.require(scope.role.managesOrgs)
        var v = Validator()
        let honour = try await resolveHonour(input, on: req.db, &v)
        let title = v.text(input.title ?? honour?.name, "title", required: true, max: 100)
        if honour == nil && input.honour == nil && title != nil { v.add("honour", "required", "honour.error.honour") }
        let year = input.year
        if year == nil { v.add("year", "required") } else if !(2000...2100).contains(year!) { v.add("year", "range", "error.field.range", ["min": "2000", "max": "2100"]) }
        let quota = input.quota
        if quota == nil { v.add("quota", "required") } else if !(1...100_000).contains(quota!) { v.add("quota", "range", "error.field.range", ["min": "1", "max": "100000"]) }
        let days = input.noticeDays ?? honour?.noticeDays ?? 7
        if !(0...60).contains(days) { v.add("noticeDays", "range", "error.field.range", ["min": "0", "max": "60"]) }
        let rule = input.noticeDayRule ?? honour?.dayRule ?? "calendar"
        if PublicNotices.DayRule(rawValue: rule) == nil { v.add("noticeDayRule", "unknown", "error.field.oneOf", ["values": "calendar, working"]) }
        let prize: Int64? = input.prizeYuan.map { v.yuan($0, "prizeYuan", positive: false) ?? 0 } ?? honour?.prizeFen
        var rules: [HonourQuotaRule] = []
        for (i, r) in (input.quotaRules ?? []).enumerated() {
            let field = "quotaRules[\(i)]"
            guard let c = r.category, HonourQuotaRule.categories.contains(c) else {
                v.add("\(field).category", "unknown", "error.field.oneOf", ["values": HonourQuotaRule.categories.joined(separator: ", ")])
                continue
            }
            let rule = HonourQuotaRule()
            rule.category = c
            rule.minBP = share(r.min, "\(field).min", &v)
            rule.maxBP = share(r.max, "\(field).max", &v)
            if rule.minBP == nil && rule.maxBP == nil { v.add("\(field).min", "required", "honour.error.ruleBound") }
            if let lo = rule.minBP, let hi = rule.maxBP, lo > hi { v.add("\(field).max", "order", "honour.error.ruleOrder") }
            if rules.contains(where: { $0.category == c }) { v.add("\(field).category", "duplicate", "honour.error.ruleDuplicate") }
            rules.append(rule)
        }
        if rules.count > 20 { v.add("quotaRules", "tooMany", "honour.error.tooManyRules") }
        let orgID = input.orgId ?? scope.rootID
        try v.check()
        let org = try await scope.org(orgID, on: req.db)
        var districts: [(Organization, Int)] = []
        for (i, d) in (input.districtQuotas ?? []).prefix(100).enumerated() {
            guard let id = d.orgId, let q = d.quota, (0...100_000).contains(q) else {
                v.add("districtQuotas[\(i)].quota", "required")
                continue
            }
            guard let o = try await Organization.query(on: req.db).filter(\.$id == id).inSubtree(org.treePath).first(), o.id != org.id else {
                v.add("districtQuotas[\(i)].orgId", "notBelow", "error.funds.notBelow", ["org": org.name])
                continue
            }
            districts.append((o, q))
        }
        try v.check()
        let budget: Int64 = input.budgetYuan.map { v.yuan($0, "budgetYuan", positive: false) ?? 0 } ?? (prize ?? 0) * Int64(quota!)
        try v.check()
        let newRules = rules, newDistricts = districts
        return try await req.db.transaction { tx in
            let c = HonourCampaign()
            c.orgID = try org.requireID()
            c.honourCode = honour?.code ?? "other"
            c.title = title!
            c.year = year!
            c.quota = quota!
            c.noticeDays = days
            c.dayRule = rule
            c.prizeFen = prize ?? 0
            c.state = .open
            c.staffID = scope.staffID
            try await c.create(on: tx)
            let id = try c.requireID()
            for r in newRules {
                r.campaignID = id
                try await r.create(on: tx)
            }
            for (o, q) in newDistricts {
                let d = HonourDistrictQuota()
                d.campaignID = id
                d.orgID = try o.requireID()
                d.quota = q
                try await d.create(on: tx)
            }
            if budget > 0 {
                let fund = try await FundsLedger.fund(kind: "honourPrizes", refID: id, year: c.year, name: c.title, rootOrgID: c.orgID, on: tx)
                try await FundsLedger.allocate(fund, to: org, from: nil, fen: budget, .init(staffID: scope.staffID, reason: c.title), on: tx)
                c.fundID = try fund.requireID()
                try await c.save(on: tx)
            }
            try await req.audit.record("honour.campaign.create", targetType: "honourCampaign", targetID: id, org: org,
                                       details: ["title": c.title, "quota": String(c.quota)], on: tx)
            return c
        }
    }

    /// A campaign the caller may see: run by a node above or at the caller's (to nominate into) or inside the subtree.
    static func visible(_ req: Request, _ id: Int) async throws -> (HonourCampaign, Organization) {
        let scope = try req.scope
        guard let c = try await HonourCampaign.find(id, on: req.db), let org = try await Organization.find(c.orgID, on: req.db),
              org.treePath.contains(scope.root) || scope.root.contains(org.treePath)
        else { throw AppError.notFound }
        return (c, org)
    }

    /// The caller runs the campaign (its node or above).
    static func runs(_ scope: Scope, _ org: Organization) -> Bool { scope.root.contains(org.treePath) && scope.role.managesOrgs }

    static func quotaRules(_ c: HonourCampaign, nominations: [HonourNomination], on db: any Database) async throws -> [QuotaRuleDTO] {
        let rules = try await HonourQuotaRule.query(on: db).filter(\.$campaignID == c.requireID()).sort(\.$id).all()
        let listed = nominations.filter { $0.state.counts }
        return rules.map { r in
            let n = listed.filter { $0.has(r.category) }.count
            let share = listed.isEmpty ? 0 : Double(n) / Double(listed.count)
            let bp = listed.isEmpty ? 0 : n * 10_000 / listed.count
            let exactBP = listed.isEmpty ? 0 : (n * 10_000 % listed.count == 0 ? bp : bp + 1)
            // met: at least the minimum (share ≥ min, exactly) and at most the maximum
            let minOK = r.minBP.map { n * 10_000 >= $0 * listed.count && !listed.isEmpty } ?? true
            let maxOK = r.maxBP.map { _ in n * 10_000 <= (r.maxBP ?? 0) * max(listed.count, 1) } ?? true
            _ = exactBP
            return QuotaRuleDTO(category: r.category, min: r.minBP.map { Double($0) / 10_000 }, max: r.maxBP.map { Double($0) / 10_000 },
                                count: n, share: (share * 10_000).rounded() / 10_000, met: minOK && maxOK)
        }
    }

    static func dto(_ c: HonourCampaign, org: Organization?, on db: any Database) async throws -> HonourCampaignDTO {
        let id = try c.requireID()
        let noms = try await HonourNomination.query(on: db).filter(\.$campaignID == id).all()
        let rules = try await quotaRules(c, nominations: noms, on: db)
        let quotas = try await HonourDistrictQuota.query(on: db).filter(\.$campaignID == id).sort(\.$id).all()
        let names = try await ApplicationService.orgNames(quotas.map(\.orgID), on: db)
        let honour = try await honour(code: c.honourCode, on: db)
        let notice = try await c.noticeID.asyncMap { try await PublicNotice.find($0, on: db) } ?? nil
        return HonourCampaignDTO(
            id: id, orgId: c.orgID, orgName: org?.name, honour: c.honourCode, honourName: honour?.name ?? c.title, title: c.title, year: c.year,
            quota: c.quota, noticeDays: c.noticeDays, noticeDayRule: c.dayRule, prizeYuan: Decimal(fen: c.prizeFen), fundId: c.fundID,
            state: c.state.rawValue, noticeId: c.noticeID, noticeEndsOn: notice?.endsOn,
            nominations: noms.filter { $0.state.counts }.count, awarded: noms.filter { $0.state == .awarded }.count, quotaRules: rules,
            districtQuotas: quotas.map { q in
                DistrictQuotaDTO(orgId: q.orgID, orgName: names[q.orgID]?.name ?? "", quota: q.quota,
                                 used: noms.filter { $0.quotaOrgID == q.orgID && $0.state.counts }.count)
            },
            allRulesMet: rules.allSatisfy(\.met), closedOn: c.closedOn, overrideReason: c.overrideReason)
    }

    /// Closing: refused while a quota rule is red, unless the city overrides with a reason (audited).
    static func close(_ req: Request, _ c: HonourCampaign, org: Organization, override: String?) async throws {
        let scope = try req.scope
        guard runs(scope, org) else { throw AppError.forbidden }
        guard c.state == .open else { throw AppError.conflict("honour.error.closed", fields: [FieldIssue("state", "closed", "honour.error.closed")]) }
        let noms = try await HonourNomination.query(on: req.db).filter(\.$campaignID == c.requireID()).all()
        let red = try await quotaRules(c, nominations: noms, on: req.db).filter { !$0.met }
        let reason = override.map { Normalize.singleLine($0) }.flatMap { $0.isEmpty ? nil : String($0.prefix(500)) }
        if !red.isEmpty {
            let cityWide = try await Organization.find(scope.rootID, on: req.db)?.kind == .city && scope.role == .cityAdmin
            guard let reason, cityWide else {
                throw AppError.conflict("honour.error.quotaRed", args: ["rules": red.map(\.category).joined(separator: ", ")],
                                        fields: [FieldIssue("quotaRules", "red", "honour.error.quotaRed", ["rules": red.map(\.category).joined(separator: ", ")])])
            }
        }
        try await req.db.transaction { tx in
            c.state = .closed
            c.closedOn = ShanghaiClock.today().description
            c.overrideReason = red.isEmpty ? nil : reason
            try await c.save(on: tx)
            try await req.audit.record(red.isEmpty ? "honour.campaign.close" : "honour.campaign.override", targetType: "honourCampaign",
                                       targetID: c.id, org: org, details: ["reason": reason ?? "", "red": red.map(\.category).joined(separator: ",")], on: tx)
        }
    }
}
