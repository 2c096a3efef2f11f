import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/console/development/studios/…` and `/console/development/contests/…`: the forms that make
/// them, their pages with the step forms, a contest's live ranking and its score entry.
struct StudioContestPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("studios", "new", use: newStudio)
        routes.post("studios", use: createStudio)
        routes.get("studios", ":id", use: studio)
        routes.post("studios", ":id", "actions", use: studioAction)
        routes.post("studios", ":id", "results", use: studioResult)
        routes.get("contests", "new", use: newContest)
        routes.post("contests", use: createContest)
        routes.get("contests", ":id", use: contest)
        routes.post("contests", ":id", "scores", use: score)
        routes.post("contests", ":id", "publish", use: publish)
        routes.get("contests", ":id", "promotions", use: DevelopmentController().promotions)
    }

    // MARK: studios

    struct StudioForm: Content {
        var name: String?, level: String?, cardNumber: String?, field: String?, premises: String?, grantKind: String?
    }

    func studioFields(_ req: Request, _ f: StudioForm, _ errors: [String: String]) -> [FormField] {
        [FormField("name", req.t("field.name"), value: f.name, required: true, wide: true, errors: errors),
         FormField("level", req.t("field.level"), type: "select", value: nil,
                   choices: Studio.levels.map { .init(value: $0, label: req.t("studio.level.\($0)"), selected: $0 == (f.level ?? "grassroots")) }, errors: errors),
         FormField("grantKind", req.t("field.grantKind"), type: "select", value: nil,
                   choices: ["none", "district", "cityB", "cityA", "craftsman"].map { .init(value: $0, label: req.t("studio.grant.\($0)"), selected: $0 == (f.grantKind ?? "none")) },
                   errors: errors),
         FormField("cardNumber", req.t("studio.leader") + " · " + req.t("honour.memberKey"), value: f.cardNumber, required: true, errors: errors),
         FormField("field", req.t("field.field"), value: f.field, required: true, errors: errors),
         FormField("premises", req.t("field.premises"), value: f.premises, wide: true, errors: errors)]
    }

    @Sendable func newStudio(req: Request) async throws -> View {
        try await req.view.render("outreach/form", FormPage(page: req.pageContext(), title: req.t("development.newStudio"), action: "/console/development/studios", cancel: "/console/development", summary: nil, fields: studioFields(req, StudioForm(), [:])))
    }

    @Sendable func createStudio(req: Request) async throws -> Response {
        let f = try req.content.decode(StudioForm.self)
        do {
            let card = Normalize.singleLine(f.cardNumber ?? "")
            let leader = card.isEmpty ? nil : try await Member.query(on: req.db).filter(\.$cardNumber == card).first()
            if leader == nil { throw AppError.invalid([FieldIssue("cardNumber", "notFound", "honour.error.member")]) }
            let s = try await Studios.create(req, StudioInput(orgId: nil, name: f.name, level: f.level, leaderMemberId: leader?.id, field: f.field,
                                                              premises: f.premises, memberIds: nil, grantKind: f.grantKind))
            return req.redirect(to: "/console/development/studios/\(s.id ?? 0)")
        } catch let error as AppError where error.status != .forbidden {
            var errors = req.fieldMessages(error)
            if let m = errors["leaderMemberId"] { errors["cardNumber"] = m }
            return try await req.view.render("outreach/form", FormPage(page: req.pageContext(), title: req.t("development.newStudio"), action: "/console/development/studios", cancel: "/console/development", summary: nil, fields: studioFields(req, f, errors)))
                .encodeResponse(status: error.status, for: req)
        }
    }

    struct StudioPage: Encodable {
        struct Year: Encodable {
            let year: Int
            let results: Int
            let accepted: String
            let tone: String
            let grant: String
        }

        let page: PageContext
        let studio: StudioDTO
        let level: String
        let state: String
        let grant: String
        let years: [Year]
        let results: [String]
        let actions: [FormField.Choice]
        let kinds: [FormField.Choice]
        let year: Int
        let canRun: Bool
        let canRecord: Bool
        let error: String?
        let done: Bool
    }

    func renderStudio(_ req: Request, id: Int, error: String? = nil) async throws -> View {
        let scope = try req.scope
        let (s, org) = try await Studios.find(req, id)
        let dto = try await Studios.dto(s, orgName: org.name, on: req.db)
        let results = try await StudioResult.query(on: req.db).filter(\.$studioID == id).sort(\.$year, .descending).sort(\.$id, .descending).limit(50).all()
        let next: [String] = switch s.state {
        case .applied: ["review", "reject"]
        case .reviewed: ["visit", "reject"]
        case .visited: ["name", "reject"]
        case .named: ["acceptance", "grant"]
        case .rejected: []
        }
        return try await req.view.render("development/studio", StudioPage(
            page: req.pageContext(), studio: dto, level: req.t("studio.level.\(s.level)"), state: req.t("studio.state.\(s.state.rawValue)"),
            grant: req.t("studio.grant.\(s.grantKind)"),
            years: dto.years.map { y in
                .init(year: y.year, results: y.results, accepted: y.accepted.map { $0 ? req.t("studio.accepted") : req.t("studio.failed") } ?? "—",
                      tone: y.accepted.map { $0 ? "ok" : "bad" } ?? "", grant: DevelopmentPages.yuan(y.grantYuan))
            },
            results: results.map { "\($0.year) · \(req.t("studio.result.\($0.kind)")) · \($0.title)" },
            actions: next.map { .init(value: $0, label: req.t("studio.action.\($0)"), selected: false) },
            kinds: StudioResult.kinds.map { .init(value: $0, label: req.t("studio.result.\($0)"), selected: false) },
            year: ShanghaiClock.today().year, canRun: scope.role.managesOrgs, canRecord: scope.role.editsOwnOrg && s.state == .named,
            error: error, done: req.query[String.self, at: "done"] != nil))
    }

    @Sendable func studio(req: Request) async throws -> View { try await renderStudio(req, id: try req.idParameter()) }

    func attempt(_ req: Request, to path: String, render: (String) async throws -> View, _ body: () async throws -> Void) async throws -> Response {
        do {
            try await body()
            return req.redirect(to: path + "?done=1")
        } catch let error as AppError where error.status != .notFound && error.status != .forbidden {
            let message = req.fieldMessages(error).values.first ?? req.t(error.detailKey ?? error.titleKey, error.args)
            return try await render(message).encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable func studioAction(req: Request) async throws -> Response {
        let id = try req.idParameter()
        struct Form: Content { var action: String?, year: String?, reason: String? }
        let f = try req.content.decode(Form.self)
        return try await attempt(req, to: "/console/development/studios/\(id)", render: { try await renderStudio(req, id: id, error: $0) }) {
            let (s, org) = try await Studios.find(req, id)
            let year = f.year.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            if f.year?.isEmpty == false && year == nil { throw AppError.invalid([FieldIssue("year", "number", "error.field.number")]) }
            try await Studios.perform(req, s, org, StudioActionInput(action: f.action, year: year, reason: f.reason))
        }
    }

    @Sendable func studioResult(req: Request) async throws -> Response {
        let id = try req.idParameter()
        struct Form: Content { var year: String?, kind: String?, title: String? }
        let f = try req.content.decode(Form.self)
        return try await attempt(req, to: "/console/development/studios/\(id)", render: { try await renderStudio(req, id: id, error: $0) }) {
            let (s, _) = try await Studios.find(req, id)
            _ = try await Studios.addResult(req, s, StudioResultInput(year: f.year.flatMap { Int($0) }, kind: f.kind, title: f.title))
        }
    }

    // MARK: contests

    struct ContestForm: Content {
        var trade: String?, name: String?, level: String?, capacity: String?, registrationClosesAt: String?, goldYuan: String?, silverYuan: String?, bronzeYuan: String?
    }

    func contestFields(_ req: Request, _ f: ContestForm, _ errors: [String: String]) -> [FormField] {
        [FormField("trade", req.t("field.trade"), value: f.trade, required: true, errors: errors),
         FormField("level", req.t("field.level"), type: "select", value: nil,
                   choices: Contest.levels.map { .init(value: $0, label: req.t("contest.level.\($0)"), selected: $0 == (f.level ?? "district")) }, errors: errors),
         FormField("name", req.t("field.name"), value: f.name, wide: true, errors: errors),
         FormField("capacity", req.t("field.capacity"), type: "number", value: f.capacity, required: true, errors: errors),
         FormField("registrationClosesAt", req.t("field.registrationClosesAt"), type: "date", value: f.registrationClosesAt, required: true, errors: errors),
         FormField("goldYuan", req.t("field.goldYuan"), value: f.goldYuan, errors: errors),
         FormField("silverYuan", req.t("field.silverYuan"), value: f.silverYuan, errors: errors),
         FormField("bronzeYuan", req.t("field.bronzeYuan"), value: f.bronzeYuan, errors: errors)]
    }

    @Sendable func newContest(req: Request) async throws -> View {
        try await req.view.render("outreach/form", FormPage(page: req.pageContext(), title: req.t("development.newContest"), action: "/console/development/contests", cancel: "/console/development", summary: nil, fields: contestFields(req, ContestForm(), [:])))
    }

    @Sendable func createContest(req: Request) async throws -> Response {
        let f = try req.content.decode(ContestForm.self)
        func yuan(_ s: String?) -> Decimal? { s.flatMap { $0.isEmpty ? nil : Decimal(string: $0.replacingOccurrences(of: ",", with: "")) } }
        do {
            var v = Validator()
            let capacity = f.capacity.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            if f.capacity?.isEmpty == false && capacity == nil { v.add("capacity", "number", "error.field.number") }
            try v.check()
            let c = try await Contests.create(req, ContestInput(orgId: nil, name: f.name?.isEmpty == true ? nil : f.name, trade: f.trade, level: f.level, capacity: capacity,
                                                                registrationClosesAt: f.registrationClosesAt, stages: nil, goldYuan: yuan(f.goldYuan),
                                                                silverYuan: yuan(f.silverYuan), bronzeYuan: yuan(f.bronzeYuan), prizeBudgetYuan: nil, promoteTop: nil, passMark: nil))
            return req.redirect(to: "/console/development/contests/\(c.id ?? 0)")
        } catch let error as AppError where error.status != .forbidden {
            return try await req.view.render("outreach/form", FormPage(page: req.pageContext(), title: req.t("development.newContest"), action: "/console/development/contests", cancel: "/console/development", summary: nil, fields: contestFields(req, f, req.fieldMessages(error))))
                .encodeResponse(status: error.status, for: req)
        }
    }

    struct ContestPage: Encodable {
        struct Line: Encodable {
            let registrationId: Int
            let rank: String
            let name: String
            let union: String
            let scores: String
            let total: String
            let medal: String
            let promoted: Bool
        }

        let page: PageContext
        let contest: ContestDTO
        let level: String
        let closes: String
        let stages: [FormField.Choice]
        let lines: [Line]
        let published: Bool
        let canEdit: Bool
        let error: String?
        let done: Bool
    }

    func renderContest(_ req: Request, id: Int, error: String? = nil) async throws -> View {
        let scope = try req.scope
        let (c, org) = try await Contests.find(req, id)
        let results = try await Contests.results(c, live: true, on: req.db)
        let ranked = Set(results.results.map(\.registrationId))
        let waiting = try await ContestRegistration.query(on: req.db).filter(\.$contestID == id).sort(\.$id).limit(500).all().filter { !ranked.contains($0.id ?? 0) }
        let stages = c.stageList
        let f = DateFormatter()
        f.timeZone = ShanghaiClock.zone
        f.dateFormat = "yyyy-MM-dd HH:mm"
        var lines = results.results.prefix(500).map { r in
            ContestPage.Line(registrationId: r.registrationId, rank: r.rank.map(String.init) ?? "", name: r.name, union: r.unionName,
                             scores: stages.map { "\($0.name) \(r.scores[$0.code].map { "\($0)" } ?? "—")" }.joined(separator: " · "),
                             total: r.total.map { String(format: "%.2f", NSDecimalNumber(decimal: $0).doubleValue) } ?? "", medal: r.medal.map { req.t("contest.medal.\($0)") } ?? "", promoted: r.promoted)
        }
        let unions = try await ApplicationService.orgNames(waiting.map(\.orgID), on: req.db)
        lines += waiting.map { r in
            ContestPage.Line(registrationId: r.id ?? 0, rank: "", name: r.name, union: unions[r.orgID]?.name ?? "", scores: "", total: "", medal: "", promoted: false)
        }
        return try await req.view.render("development/contest", ContestPage(
            page: req.pageContext(), contest: ContestDTO(c, orgName: org.name), level: req.t("contest.level.\(c.level)"),
            closes: f.string(from: c.registrationClosesAt), stages: stages.map { .init(value: $0.code, label: "\($0.name)（\($0.weight)%）", selected: false) },
            lines: lines, published: c.state == .published, canEdit: scope.role.editsOwnOrg && c.state == .open, error: error,
            done: req.query[String.self, at: "done"] != nil))
    }

    @Sendable func contest(req: Request) async throws -> View { try await renderContest(req, id: try req.idParameter()) }

    @Sendable func score(req: Request) async throws -> Response {
        let id = try req.idParameter()
        struct Form: Content { var registrationId: String?, stage: String?, score: String? }
        let f = try req.content.decode(Form.self)
        return try await attempt(req, to: "/console/development/contests/\(id)", render: { try await renderContest(req, id: id, error: $0) }) {
            let (c, _) = try await Contests.find(req, id)
            let score = f.score.flatMap { Decimal(string: $0.trimmingCharacters(in: .whitespaces)) }
            if score == nil { throw AppError.invalid([FieldIssue("score", "number", "error.field.number")]) }
            _ = try await Contests.score(req, c, ContestScoresInput(registrationId: f.registrationId.flatMap { Int($0) }, memberId: nil, stage: f.stage,
                                                                    score: score, scores: nil))
        }
    }

    @Sendable func publish(req: Request) async throws -> Response {
        let id = try req.idParameter()
        return try await attempt(req, to: "/console/development/contests/\(id)", render: { try await renderContest(req, id: id, error: $0) }) {
            let (c, org) = try await Contests.find(req, id)
            try await Contests.publish(req, c, org)
        }
    }
}

/// `/member/contests`: the contests a signed-in member may enter, and registering from the phone.
struct MemberContestPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("member", "contests", use: list)
        routes.post("member", "contests", ":id", use: register)
    }

    struct Item: Encodable {
        let id: Int
        let name: String
        let org: String
        let seats: String
        let closes: String
        let registered: Bool
        let full: Bool
    }

    struct Page: Encodable {
        let page: PageContext
        let signedIn: Bool
        let items: [Item]
        let error: String?
        let done: Bool
    }

    func render(_ req: Request, error: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        guard let member = try await PublicPages().signedIn(req), let union = try await Organization.find(member.orgID, on: req.db) else {
            return try await req.view.render("development/member-contests", Page(page: req.pageContext(), signedIn: false, items: [], error: nil, done: false))
                .encodeResponse(for: req)
        }
        // contests run by a node above the member's union, still taking registrations
        let now = Date()
        let open = try await Contest.query(on: req.db).filter(\.$orgID ~~ union.treePath.ids).filter(\.$state == .open)
            .filter(\.$registrationClosesAt >= now).sort(\.$registrationClosesAt).limit(50).all()
        let mine = Set(try await ContestRegistration.query(on: req.db).filter(\.$memberID == member.requireID()).all().map(\.contestID))
        let orgs = try await ApplicationService.orgNames(open.map(\.orgID), on: req.db)
        let f = DateFormatter()
        f.timeZone = ShanghaiClock.zone
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return try await req.view.render("development/member-contests", Page(
            page: req.pageContext(), signedIn: true,
            items: open.map { c in
                Item(id: c.id ?? 0, name: c.name, org: orgs[c.orgID]?.name ?? "",
                     seats: req.t("contest.seats", ["registered": String(c.registered), "capacity": String(c.capacity)]), closes: f.string(from: c.registrationClosesAt),
                     registered: mine.contains(c.id ?? 0), full: c.registered >= c.capacity)
            },
            error: error, done: req.query[String.self, at: "done"] != nil)).encodeResponse(status: status, for: req)
    }

    @Sendable func list(req: Request) async throws -> Response { try await render(req) }

    @Sendable func register(req: Request) async throws -> Response {
        guard let member = try await PublicPages().signedIn(req) else { return req.redirect(to: "/member") }
        do {
            _ = try await Contests.register(req, contestID: try req.idParameter(), member: member)
            return req.redirect(to: "/member/contests?done=1")
        } catch let error as AppError where error.status != .notFound {
            let message = req.fieldMessages(error).values.first ?? req.t(error.detailKey ?? error.titleKey, error.args)
            return try await render(req, error: message, status: error.status)
        }
    }
}
