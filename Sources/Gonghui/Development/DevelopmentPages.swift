import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/console/development`: the figures with SVG bars (exported as XLSX), the campaigns, studios and
/// contests of the subtree, the registry; the campaign page with its live quota rules, the
/// nomination form and every nomination's steps (studio and contest pages: StudioContestPages.swift).
struct DevelopmentPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let r = routes.grouped("console", "development")
        r.get(use: index)
        r.get("campaigns", "new", use: newCampaign)
        r.post("campaigns", use: createCampaign)
        r.get("campaigns", ":id", use: campaign)
        r.post("campaigns", ":id", "nominations", use: nominate)
        r.post("campaigns", ":id", "notice", use: noticeAll)
        r.post("campaigns", ":id", "close", use: close)
        r.post("nominations", ":id", "actions", use: nominationAction)
        try r.register(collection: StudioContestPages())
    }

    struct Bar: Encodable {
        let label: String
        let value: String
        let width: Int
        let y: Int
    }

    struct Row: Encodable {
        let id: Int
        let title: String
        let org: String
        let state: String
        let tone: String
        let detail: String
    }

    struct Page: Encodable {
        let page: PageContext
        let orgName: String
        let orgId: Int
        let stats: DevelopmentStatsDTO
        let honourPrizes: String
        let studioGrants: String
        let contestPrizes: String
        let bars: [Bar]
        let barsHeight: Int
        let campaigns: [Row]
        let studios: [Row]
        let contests: [Row]
        let registry: [Row]
        let canRun: Bool
    }

    /// `2026年首都劳动奖章评选` as it is; a title without its year gets it in front.
    static func heading(_ title: String, _ year: Int) -> String { title.contains(String(year)) ? title : "\(year) \(title)" }

    static func yuan(_ d: Decimal) -> String { MoneyText.yuan(NSDecimalNumber(decimal: d).doubleValue) }

    @Sendable func index(req: Request) async throws -> Response {
        let scope = try req.scope
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        try v.check()
        let root = try await scope.org(orgID ?? scope.rootID, on: req.db)
        if req.query[String.self, at: "format"] != nil { return try await DevelopmentStats.api(req: req) }
        let stats = try await DevelopmentStats.report(req, root: root)
        var bars: [Bar] = []
        for c in stats.campaigns.prefix(8) {
            let share = c.quota == 0 ? 0 : min(1, Double(c.awarded) / Double(c.quota))
            bars.append(Bar(label: Self.heading(c.title, c.year), value: "\(c.awarded) / \(c.quota)", width: Int((share * 200).rounded()), y: bars.count * 28))
        }
        let most = max(1, stats.studios.map(\.studios).max() ?? 1)
        for l in stats.studios {
            bars.append(Bar(label: req.t("development.stats.studios") + " · " + req.t("studio.level.\(l.level)"), value: "\(l.named) / \(l.studios)",
                            width: l.named * 200 / most, y: bars.count * 28))
        }
        let studios = try await Studio.query(on: req.db).join(Organization.self, on: \Studio.$orgID == \Organization.$id).joinedUnder(root)
            .sort(\.$id, .descending).limit(20).all()
        let contests = try await Contest.query(on: req.db).join(Organization.self, on: \Contest.$orgID == \Organization.$id).joinedUnder(root)
            .sort(\.$id, .descending).limit(20).all()
        let awards = try await HonourAward.query(on: req.db).join(Organization.self, on: \HonourAward.$orgID == \Organization.$id).joinedUnder(root)
            .sort(\.$year, .descending).sort(\.$id, .descending).limit(20).all()
        func org<M: Model>(_ m: M) -> String { (try? m.joined(Organization.self).name) ?? "" }
        let visible = try await HonourController.visibleCampaigns(req)
        let campaignOrgs = try await ApplicationService.orgNames(visible.map(\.orgID), on: req.db)
        let now = Date()
        return try await req.view.render("development/index", Page(
            page: req.pageContext(), orgName: root.name, orgId: try root.requireID(), stats: stats,
            honourPrizes: Self.yuan(stats.honourPrizesYuan), studioGrants: Self.yuan(stats.studioGrantsYuan), contestPrizes: Self.yuan(stats.contestPrizesYuan),
            bars: bars, barsHeight: max(28, bars.count * 28 + 6),
            campaigns: stats.campaigns.map { c in
                Row(id: c.id, title: Self.heading(c.title, c.year), org: campaignOrgs[visible.first { $0.id == c.id }?.orgID ?? 0]?.name ?? "",
                    state: c.rulesMet ? req.t("honour.rulesGreen") : req.t("honour.rulesRed"), tone: c.rulesMet ? "ok" : "bad",
                    detail: "\(req.t("honour.nominations")) \(c.nominated) · \(req.t("honour.state.awarded")) \(c.awarded) / \(c.quota)")
            },
            studios: studios.map { s in
                Row(id: s.id ?? 0, title: s.name, org: org(s), state: req.t("studio.state.\(s.state.rawValue)"), tone: s.state == .named ? "ok" : (s.state == .rejected ? "" : "warn"),
                    detail: req.t("studio.level.\(s.level)") + " · " + s.field)
            },
            contests: contests.map { c in
                Row(id: c.id ?? 0, title: c.name, org: org(c), state: req.t("contest.seats", ["registered": String(c.registered), "capacity": String(c.capacity)]),
                    tone: c.state == .published ? "ok" : (c.isOpen(at: now) ? "warn" : ""), detail: req.t("contest.level.\(c.level)") + " · " + c.trade)
            },
            registry: awards.map { a in
                Row(id: a.id ?? 0, title: a.name, org: a.employer, state: a.revokedOn == nil ? a.honourName : req.t("honour.revoked"),
                    tone: a.revokedOn == nil ? "ok" : "bad", detail: "\(a.year)")
            },
            canRun: scope.role.managesOrgs)).encodeResponse(for: req)
    }

    // MARK: campaigns

    struct CampaignForm: Content {
        var title: String?, honour: String?, year: String?, quota: String?, noticeDays: String?, noticeDayRule: String?, prizeYuan: String?
        var min: [String: String]?, max: [String: String]?
    }

    struct NewCampaignPage: Encodable {
        let page: PageContext
        let form: [String: String]
        let errors: [String: String]
        let honours: [FormField.Choice]
        let rules: [FormField.Choice]
        let categories: [Category]

        struct Category: Encodable {
            let code: String
            let label: String
            let min: String
            let max: String
        }
    }

    func renderNew(_ req: Request, form: CampaignForm, errors: [String: String]) async throws -> View {
        let titles = try await HonourTitle.query(on: req.db).sort(\.$id).all()
        let chosen = form.honour ?? titles.first?.code
        let values: [String: String] = ["title": form.title ?? "", "year": form.year ?? String(ShanghaiClock.today().year), "quota": form.quota ?? "",
                                        "noticeDays": form.noticeDays ?? "7", "prizeYuan": form.prizeYuan ?? ""]
        return try await req.view.render("development/campaign-new", NewCampaignPage(
            page: req.pageContext(), form: values, errors: errors,
            honours: titles.map { .init(value: $0.code, label: $0.name, selected: $0.code == chosen) },
            rules: ["calendar", "working"].map { .init(value: $0, label: req.t("honour.dayRule.\($0)"), selected: $0 == (form.noticeDayRule ?? "calendar")) },
            categories: HonourQuotaRule.categories.map { .init(code: $0, label: req.t("honour.category.\($0)"), min: form.min?[$0] ?? "", max: form.max?[$0] ?? "") }))
    }

    @Sendable func newCampaign(req: Request) async throws -> View {
        try await renderNew(req, form: CampaignForm(), errors: [:])
    }

    @Sendable func createCampaign(req: Request) async throws -> Response {
        let f = try req.content.decode(CampaignForm.self)
        var v = Validator()
        func int(_ raw: String?, _ field: String) -> Int? {
            guard let raw = raw?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            guard let n = Int(raw) else { v.add(field, "number", "error.field.number"); return nil }
            return n
        }
        func share(_ raw: String?, _ field: String) -> Double? {
            guard let raw = raw?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            guard let n = Double(raw.replacingOccurrences(of: "%", with: "")) else { v.add(field, "number", "error.field.number"); return nil }
            return n
        }
        var rules: [QuotaRuleInput] = []
        for c in HonourQuotaRule.categories {
            let lo = share(f.min?[c], "quotaRules"), hi = share(f.max?[c], "quotaRules")
            if lo != nil || hi != nil { rules.append(QuotaRuleInput(category: c, min: lo, max: hi)) }
        }
        let input = HonourCampaignInput(title: f.title, honour: f.honour, orgId: nil, year: int(f.year, "year"), quota: int(f.quota, "quota"),
                                        noticeDays: int(f.noticeDays, "noticeDays"), noticeDayRule: f.noticeDayRule,
                                        prizeYuan: f.prizeYuan.flatMap { $0.isEmpty ? nil : Decimal(string: $0) }, budgetYuan: nil, quotaRules: rules, districtQuotas: nil)
        do {
            try v.check()
            let c = try await HonourCampaigns.create(req, input)
            return req.redirect(to: "/console/development/campaigns/\(c.id ?? 0)")
        } catch let error as AppError where error.status != .forbidden {
            var errors = req.fieldMessages(error)
            for (k, m) in errors where k.hasPrefix("quotaRules") { errors["quotaRules"] = m }
            return try await renderNew(req, form: f, errors: errors).encodeResponse(status: error.status, for: req)
        }
    }

    struct CampaignPage: Encodable {
        struct Rule: Encodable {
            let label: String
            let bound: String
            let now: String
            let met: Bool
        }

        struct Nomination: Encodable {
            let id: Int
            let name: String
            let employer: String
            let org: String
            let category: String
            let flags: String
            let citation: String
            let state: String
            let tone: String
            let objections: Int
            let actions: [Action]
        }

        struct Action: Encodable {
            let code: String
            let label: String
            let needsReason: Bool
            let needsObjector: Bool
        }

        let page: PageContext
        let campaign: HonourCampaignDTO
        let heading: String
        let rules: [Rule]
        let nominations: [Nomination]
        let categories: [FormField.Choice]
        let checks: [FormField.Choice]
        let runs: Bool
        let canNominate: Bool
        let error: String?
        let done: Bool
        let form: [String: String]
        let errors: [String: String]
    }

    static func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }

    func renderCampaign(_ req: Request, id: Int, error: String? = nil, form: [String: String] = [:], errors: [String: String] = [:]) async throws -> View {
        let scope = try req.scope
        let (c, org) = try await HonourCampaigns.visible(req, id)
        let dto = try await HonourCampaigns.dto(c, org: org, on: req.db)
        let runs = HonourCampaigns.runs(scope, org)
        let list = try await HonourController.nominationList(req, c, org)
        func actions(_ n: NominationDTO) -> [CampaignPage.Action] {
            var codes: [String] = []
            switch n.state {
            case "nominated", "districtReviewed": if scope.role.managesOrgs { codes = ["review", "reject"] }
            case "cityReviewed": if runs { codes = ["notice", "reject"] }
            case "inNotice": codes = (n.openObjections > 0 ? ["answer"] : ["object"]) + (runs ? ["award", "reject"] : [])
            case "awarded": if runs { codes = ["revoke"] }
            default: break
            }
            return codes.map { .init(code: $0, label: req.t("honour.action.\($0)"), needsReason: ["reject", "revoke", "answer", "object"].contains($0),
                                     needsObjector: $0 == "object") }
        }
        let rules = dto.quotaRules.map { r in
            CampaignPage.Rule(label: req.t("honour.category.\(r.category)"),
                              bound: [r.min.map { req.t("honour.rule.min", ["share": Self.percent($0)]) }, r.max.map { req.t("honour.rule.max", ["share": Self.percent($0)]) }]
                                .compactMap { $0 }.joined(separator: "，"),
                              now: req.t("honour.rule.now", ["share": Self.percent(r.share), "count": String(r.count)]), met: r.met)
        }
        return try await req.view.render("development/campaign", CampaignPage(
            page: req.pageContext(), campaign: dto, heading: Self.heading(c.title, c.year), rules: rules,
            nominations: list.map { n in
                let flags = ["women", "nonPublic", "migrant", "newForms"].filter { n.flag($0) }.map { req.t("honour.category.\($0)") }.joined(separator: "、")
                return .init(id: n.id, name: n.name, employer: n.employer, org: n.orgName ?? "", category: req.t("honour.category.\(n.category)"), flags: flags,
                             citation: n.citation, state: req.t("honour.state.\(n.state)"),
                             tone: n.state == "awarded" ? "ok" : (["rejected", "revoked"].contains(n.state) ? "bad" : (n.held ? "bad" : "warn")),
                             objections: n.openObjections, actions: actions(n))
            },
            categories: HonourNomination.workCategories.map { .init(value: $0, label: req.t("honour.category.\($0)"), selected: $0 == (form["category"] ?? "frontLine")) },
            checks: Nominations.checks.map { .init(value: $0, label: req.t("honour.check.\($0)"), selected: form["check.\($0)"] != nil) },
            runs: runs, canNominate: scope.role.editsOwnOrg && c.state == .open, error: error, done: req.query[String.self, at: "done"] != nil,
            form: form, errors: errors))
    }

    @Sendable func campaign(req: Request) async throws -> View {
        try await renderCampaign(req, id: try req.idParameter())
    }

    struct NominateForm: Content {
        var cardNumber: String?, category: String?, citation: String?, nonPublic: String?, migrant: String?, newForms: String?
        var credit: String?, tax: String?, safety: String?, discipline: String?
    }

    @Sendable func nominate(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let f = try req.content.decode(NominateForm.self)
        var form: [String: String] = ["cardNumber": f.cardNumber ?? "", "category": f.category ?? "", "citation": f.citation ?? ""]
        for (k, v) in [("credit", f.credit), ("tax", f.tax), ("safety", f.safety), ("discipline", f.discipline)] where v != nil { form["check.\(k)"] = "on" }
        do {
            let (c, org) = try await HonourCampaigns.visible(req, id)
            let card = Normalize.singleLine(f.cardNumber ?? "")
            guard !card.isEmpty, let member = try await Member.query(on: req.db).filter(\.$cardNumber == card).first() else {
                throw AppError.invalid([FieldIssue("cardNumber", "notFound", "honour.error.member")])
            }
            let checklist = Dictionary(uniqueKeysWithValues: [("credit", f.credit), ("tax", f.tax), ("safety", f.safety), ("discipline", f.discipline)].map { ($0.0, $0.1 != nil) })
            _ = try await Nominations.create(req, campaign: c, campaignOrg: org, NominationInput(
                memberId: member.id, category: f.category, citation: f.citation, nomineeKind: nil, name: nil, orgId: nil, employer: nil,
                nonPublic: f.nonPublic != nil, migrant: f.migrant != nil, newForms: f.newForms != nil, checklist: checklist))
            return req.redirect(to: "/console/development/campaigns/\(id)?done=1")
        } catch let error as AppError where error.status != .notFound && error.status != .forbidden {
            var errors = req.fieldMessages(error)
            if let m = errors["memberId"] { errors["cardNumber"] = m }
            if errors.isEmpty { errors["cardNumber"] = req.t(error.detailKey ?? error.titleKey, error.args) }
            return try await renderCampaign(req, id: id, form: form, errors: errors).encodeResponse(status: error.status, for: req)
        }
    }

    func attempt(_ req: Request, campaign id: Int, _ body: () async throws -> Void) async throws -> Response {
        do {
            try await body()
            return req.redirect(to: "/console/development/campaigns/\(id)?done=1")
        } catch let error as AppError where error.status != .notFound && error.status != .forbidden {
            let message = req.fieldMessages(error).values.first ?? req.t(error.detailKey ?? error.titleKey, error.args)
            return try await renderCampaign(req, id: id, error: message).encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable func noticeAll(req: Request) async throws -> Response {
        let id = try req.idParameter()
        return try await attempt(req, campaign: id) { _ = try await HonourController().noticeAll(req: req) }
    }

    @Sendable func close(req: Request) async throws -> Response {
        let id = try req.idParameter()
        struct Form: Content { var overrideReason: String? }
        let reason = try req.content.decode(Form.self).overrideReason
        return try await attempt(req, campaign: id) {
            let (c, org) = try await HonourCampaigns.visible(req, id)
            try await HonourCampaigns.close(req, c, org: org, override: reason)
        }
    }

    @Sendable func nominationAction(req: Request) async throws -> Response {
        let (n, c, org) = try await Nominations.find(req, try req.idParameter())
        let input = try req.content.decode(NominationActionInput.self)
        return try await attempt(req, campaign: n.campaignID) { try await NominationActions.perform(req, n, c, org, input) }
    }
}

extension NominationDTO {
    func flag(_ code: String) -> Bool {
        switch code {
        case "women": women
        case "nonPublic": nonPublic
        case "migrant": migrant
        default: newForms
        }
    }
}

/// `/honours` (the public roll of honour).
struct DevelopmentPublicPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("honours", use: roll)
        try routes.register(collection: MemberContestPages())
    }

    struct Roll: Encodable {
        struct Group: Encodable {
            let title: String
            let rows: [HonourAwardDTO]
        }

        let page: PageContext
        let groups: [Group]
    }

    @Sendable func roll(req: Request) async throws -> View {
        let rows = try await HonourController.publicRoll(req)
        var groups: [Roll.Group] = []
        for r in rows {
            let title = "\(r.year) \(r.honourName)"
            if groups.last?.title == title { groups[groups.count - 1] = .init(title: title, rows: groups[groups.count - 1].rows + [r]) }
            else { groups.append(.init(title: title, rows: [r])) }
        }
        return try await req.view.render("development/honours", Roll(page: req.pageContext(), groups: groups))
    }
}
