import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The console's contract pages: start bargaining (a form with the union picker), and a contract's
/// page with its dates, open clocks, rounds and timeline, and one form for the next step.
extension RightsPages {
    struct Choice: Encodable {
        let value: String
        let label: String
        let selected: Bool
    }

    struct NewContractPage: Encodable {
        let page: PageContext
        let kinds: [Choice]
        let orgs: [Choice]
        let orgQ: String
        let title: String
        let enterpriseIds: String
        let errors: [String: String]
    }

    static func orgChoices(_ req: Request, selected: Int?, q: String?) async throws -> [Choice] {
        let scope = try req.scope
        var orgs: [Organization] = []
        if let q, !q.isEmpty { orgs = try await OrgPicker.search(q, kinds: nil, scope: scope, on: req.db) }
        if let selected, !orgs.contains(where: { $0.id == selected }), let o = try? await scope.org(selected, on: req.db) { orgs.insert(o, at: 0) }
        if orgs.isEmpty, let root = try? await scope.org(scope.rootID, on: req.db) { orgs = [root] }
        return try await OrgPicker.choices(orgs, selected: selected ?? orgs.first?.id, scope: scope, req: req)
            .map { Choice(value: String($0.id), label: $0.label, selected: $0.selected) }
    }

    @Sendable func newContract(req: Request) async throws -> View {
        try await renderNewContract(req, form: [:], errors: [:])
    }

    func renderNewContract(_ req: Request, form: [String: String], errors: [String: String]) async throws -> View {
        let orgID = form["orgId"].flatMap { Int($0) }
        let kinds = ContractKind.allCases.map { Choice(value: $0.rawValue, label: req.t("rights.contractKind.\($0.rawValue)"), selected: form["kind"] == $0.rawValue) }
        return try await req.view.render("rights/contract-new", NewContractPage(
            page: req.pageContext(), kinds: kinds, orgs: try await Self.orgChoices(req, selected: orgID, q: form["orgQ"]), orgQ: form["orgQ"] ?? "",
            title: form["title"] ?? "", enterpriseIds: form["enterpriseIds"] ?? "", errors: errors))
    }

    @Sendable func createContract(req: Request) async throws -> Response {
        let form = try req.content.decode([String: String].self)
        if form["findOrg"] != nil { return try await renderNewContract(req, form: form, errors: [:]).encodeResponse(for: req) }
        var input = ContractInput(kind: form["kind"], orgId: form["orgId"].flatMap { Int($0) }, title: form["title"])
        let ids = (form["enterpriseIds"] ?? "").split(whereSeparator: { ", ，\n".contains($0) }).map(String.init)
        if !ids.isEmpty {
            guard ids.allSatisfy({ Int($0) != nil }) else {
                return try await renderNewContract(req, form: form, errors: req.fieldMessages(.invalid([FieldIssue("enterpriseIds", "format")])))
                    .encodeResponse(status: .unprocessableEntity, for: req)
            }
            input.enterpriseIds = ids.compactMap { Int($0) }
        }
        do {
            let c = try await ContractController.make(req, input)
            return req.redirect(to: "/console/rights/contracts/\(try c.requireID())")
        } catch let error as AppError where !error.fields.isEmpty {
            return try await renderNewContract(req, form: form, errors: req.fieldMessages(error)).encodeResponse(status: error.status, for: req)
        }
    }

    struct Fact: Encodable {
        let label: String
        let value: String
        let tone: String
    }

    struct ContractPage: Encodable {
        let page: PageContext
        let c: ContractDTO
        let kind: String
        let state: String
        let versionLabel: String
        let facts: [Fact]
        let clocks: [Fact]
        let events: [Fact]
        let rounds: [Fact]
        let actions: [Choice]
        let resolutions: [Choice]
        let topics: [Choice]
        let form: [String: String]
        let errors: [String: String]
        let notice: String?
    }

    @Sendable func contract(req: Request) async throws -> View {
        try await renderContract(req, id: try req.idParameter(), form: [:], errors: [:], notice: req.query[String.self, at: "done"] == nil ? nil : req.t("rights.actionDone"))
    }

    func renderContract(_ req: Request, id: Int, form: [String: String], errors: [String: String], notice: String?) async throws -> View {
        let c = try await ContractController.contract(req, id)
        let dto = try await ContractController().show(req: req)
        let t = { (k: String) in req.t(k) }
        var facts: [Fact] = [Fact(label: t("rights.union"), value: dto.orgName ?? "", tone: "")]
        let dated: [(String, String?)] = [("rights.contractAction.offer", dto.offerOn), ("deadline.clock.reply", dto.replyDueOn),
                                          ("rights.contractAction.reply", dto.repliedOn), ("rights.contractAction.draft", dto.draftOn),
                                          ("rights.contractAction.vote", dto.votedOn), ("rights.contractAction.sign", dto.signedOn),
                                          ("deadline.clock.filing", dto.filingDueOn), ("rights.contractAction.file", dto.filedOn),
                                          ("deadline.clock.review", dto.reviewEndsOn), ("rights.contractState.inForce", dto.inForceOn),
                                          ("rights.contractAction.publish", dto.publishedOn), ("rights.contractAction.expired", dto.expiresOn)]
        for (key, value) in dated {
            // A clock's line reads "…（截止）": the day it is due, not a day something happened.
            let label = key.hasPrefix("deadline.") ? t(key) + " · " + t("deadline.dueOn") : t(key)
            if let value { facts.append(Fact(label: label, value: value, tone: "")) }
        }
        if dto.filingLate { facts.append(Fact(label: t("rights.stats.late"), value: "!", tone: "bad")) }
        if let p = dto.wageRisePercent { facts.append(Fact(label: t("field.wageRisePercent"), value: "\(p)", tone: "")) }
        if let w = dto.lowestWageYuan { facts.append(Fact(label: t("field.lowestWageYuan"), value: Self.yuan(w), tone: "")) }
        if !dto.topics.isEmpty { facts.append(Fact(label: t("field.topics"), value: dto.topics.map { t("rights.topic.\($0)") }.joined(separator: "、"), tone: "")) }
        if let n = dto.workersCovered { facts.append(Fact(label: t("field.workersCovered"), value: String(n), tone: "")) }
        let today = ShanghaiClock.today().description
        let clocks = (dto.deadlines ?? []).map { Fact(label: t("deadline.clock.\($0.clock)"), value: $0.dueOn + " · " + t("deadline.rule.\($0.rule)"),
                                                      tone: $0.dueOn < today ? "bad" : "warn") }
        let events = (dto.events ?? []).map { Fact(label: $0.date, value: t("rights.contractAction.\($0.action)"), tone: $0.note == "late" ? t("rights.stats.late") : ($0.note ?? "")) }
        let rounds = try await BargainingRound.query(on: req.db).filter(\.$contractID == id).sort(\.$heldOn).all().map { r in
            Fact(label: r.heldOn, value: Self.sidesText(r.representatives), tone: r.minutes ?? "")
        }
        let actions = ContractActions.all.filter { ContractActions.from[$0]?.contains(c.state) == true }
            .map { Choice(value: $0, label: t("rights.contractAction.\($0)"), selected: form["action"] == $0) }
        var resolutions: [Choice] = []
        if c.state == .drafted {
            let congresses = try await Congress.query(on: req.db).filter(\.$orgID == c.orgID).all().compactMap(\.id)
            if !congresses.isEmpty {
                resolutions = try await CongressResolution.query(on: req.db).filter(\.$congressID ~~ congresses).filter(\.$passed == true)
                    .filter(\.$contractID == nil).sort(\.$id, .descending).limit(50).all()
                    .map { Choice(value: String($0.id ?? 0), label: "#\($0.id ?? 0) \($0.title)", selected: form["resolutionId"] == String($0.id ?? 0)) }
            }
        }
        let topics = BargainingTopic.allCases.map { Choice(value: $0.rawValue, label: t("rights.topic.\($0.rawValue)"), selected: dto.topics.contains($0.rawValue)) }
        return try await req.view.render("rights/contract", ContractPage(
            page: req.pageContext(), c: dto, kind: t("rights.contractKind.\(dto.kind)"), state: t("rights.contractState.\(dto.state)"),
            versionLabel: req.t("rights.version", ["n": String(dto.version)]), facts: facts, clocks: clocks, events: events, rounds: rounds, actions: actions, resolutions: resolutions, topics: topics, form: form, errors: errors, notice: notice))
    }

    static func sidesText(_ json: String) -> String {
        guard let sides = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: [[String: String]]] else { return "" }
        return ["union", "employer"].map { side in
            (sides[side] ?? []).map { ($0["chief"] == "1" ? "★" : "") + ($0["name"] ?? "") + ($0["expert"] == "1" ? "（专家）" : "") }.joined(separator: "、")
        }.joined(separator: " ｜ ")
    }

    /// One representative a line, the first the chief; "专家 " or "expert " marks an outside expert.
    static func side(_ text: String?) -> [RepresentativeInput]? {
        guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return lines.enumerated().map { i, line in
            var name = line, expert = false
            for prefix in ["专家 ", "专家:", "专家：", "expert ", "Expert "] where name.hasPrefix(prefix) {
                name = String(name.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
                expert = true
            }
            return RepresentativeInput(name: name, chief: i == 0, expert: expert)
        }
    }

    @Sendable func contractAction(req: Request) async throws -> Response {
        let id = try req.idParameter()
        struct Form: Decodable {
            var action: String?, date: String?, by: String?, minutes: String?, unionSide: String?, employerSide: String?, resolutionId: String?
            var termYears: String?, wageRisePercent: String?, lowestWageYuan: String?, workersCovered: String?, reason: String?, topics: [String]?
        }
        let f = try req.content.decode(Form.self)
        var v = Validator()
        func number<T>(_ raw: String?, _ field: String, _ parse: (String) -> T?) -> T? {
            guard let raw = raw?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            guard let n = parse(raw) else { v.add(field, "number", "error.field.number"); return nil }
            return n
        }
        let action = f.action ?? ""
        var input = ContractActionInput(action: f.action, date: f.date, by: f.by, minutes: f.minutes, reason: f.reason)
        if action == "round" { input.unionSide = Self.side(f.unionSide); input.employerSide = Self.side(f.employerSide) }
        input.resolutionId = number(f.resolutionId, "resolutionId") { Int($0) }
        input.termYears = number(f.termYears, "termYears") { Int($0) }
        if action == "draft" {
            input.wageRisePercent = number(f.wageRisePercent, "wageRisePercent") { Decimal(string: $0) }
            input.lowestWageYuan = number(f.lowestWageYuan, "lowestWageYuan") { Decimal(string: $0.replacingOccurrences(of: ",", with: "")) }
            input.workersCovered = number(f.workersCovered, "workersCovered") { Int($0) }
            input.topics = f.topics ?? []
        }
        var form: [String: String] = [:]
        for (k, value) in [("action", f.action), ("date", f.date), ("by", f.by), ("minutes", f.minutes), ("unionSide", f.unionSide),
                           ("employerSide", f.employerSide), ("resolutionId", f.resolutionId), ("termYears", f.termYears),
                           ("wageRisePercent", f.wageRisePercent), ("lowestWageYuan", f.lowestWageYuan), ("workersCovered", f.workersCovered),
                           ("reason", f.reason)] { form[k] = value }
        do {
            try v.check()
            let next = try await ContractController.perform(req, id, input)
            return req.redirect(to: "/console/rights/contracts/\(next ?? id)?done=1")
        } catch let error as AppError where error.status != .notFound && error.status != .forbidden {
            var errors = req.fieldMessages(error)
            if errors.isEmpty { errors["action"] = req.t(error.detailKey ?? error.titleKey, error.args) }
            return try await renderContract(req, id: id, form: form, errors: errors, notice: nil).encodeResponse(status: error.status, for: req)
        }
    }
}
