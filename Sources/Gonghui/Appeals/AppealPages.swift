import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The console: the unit's queue (and its supervision queue, 督办), one appeal with its timeline
/// and actions, the hotline agent's intake, the statistics and the working-day calendar.
struct AppealPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let appeals = routes.grouped("console", "appeals")
        appeals.get(use: queue)
        appeals.get("export", use: export)
        appeals.get("new", use: intake)
        appeals.post("new", use: record)
        appeals.get(":id", use: show)
        appeals.post(":id", use: act)
        routes.get("console", "appeal-stats", use: stats)
        routes.get("console", "calendar", use: calendar)
        routes.post("console", "calendar", use: addDay)
        routes.post("console", "calendar", ":day", "delete", use: removeDay)
        routes.post("console", "calendar", "tier", use: setTier)
        routes.post("console", "calendar", "route", use: setRoute)
        routes.post("console", "calendar", "route", ":id", "delete", use: removeRoute)
    }

    /// A deadline falls at midnight after its last day: shown as that day.
    static func dueDay(_ due: Date) -> String { ShanghaiClock.today(due.addingTimeInterval(-1)).description }

    static func registerNav(_ app: Application) {
        app.consoleNav.add(.init(labelKey: "nav.appeals", href: "/console/appeals", visible: { $0.worksAppeals }))
        app.consoleNav.add(.init(labelKey: "nav.appealIntake", href: "/console/appeals/new", visible: { $0.worksAppeals }))
        app.consoleNav.add(.init(labelKey: "nav.appealStats", href: "/console/appeal-stats", visible: { $0.worksAppeals }))
        app.consoleNav.add(.init(labelKey: "nav.calendar", href: "/console/calendar", visible: { $0.keepsAppealSettings }))
    }

    struct Row: Encodable {
        let id: Int
        let trackingNumber: String
        let subject: String
        let employer: String
        let orgName: String
        let state: String
        let due: String
        let overdue: Bool
        let supervised: Bool
        let received: String
        let urgent: Bool
    }

    struct QueuePage: Encodable {
        let page: PageContext
        let total: Int
        let query: String
        let q: String
        let filters: [FormField]
        let tabs: [FormField.Choice]
        let rows: [Row]
        let prevHref: String?
        let nextHref: String?
    }

    func rows(_ req: Request, _ list: [AppealDTO]) -> [Row] {
        list.map { a in
            Row(id: a.id, trackingNumber: TrackingNumber.display(a.trackingNumber), subject: a.subjectName, employer: a.employerName ?? "",
                orgName: a.orgName ?? "", state: req.t("appeal.state.\(a.state.rawValue)"), due: Self.dueDay(a.dueAt), overdue: a.overdue,
                supervised: a.supervisorOrgId != nil, received: MeetingTime.local(a.receivedAt), urgent: a.urgency == .urgent)
        }
    }

    @Sendable func queue(req: Request) async throws -> View {
        var v = Validator()
        var filter = AppealService.filter(from: req, &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        let tab = req.query[String.self, at: "tab"] ?? (filter.states.isEmpty && filter.supervised == nil ? "open" : "")
        if tab == "open", filter.states.isEmpty { filter.states = AppealState.allCases.filter(\.isOpen) }
        if tab == "callback" { filter.states = [.waiting, .resolved] }
        let result = try await AppealService(request: req).page(filter, paging)
        let subjects = try await AppealSubject.query(on: req.db).sort(\.$sortOrder).all()
        let all = req.t("common.all")
        let base = "/console/appeals?" + (filter.query.isEmpty ? "" : filter.query + "&") + (tab.isEmpty ? "" : "tab=\(tab)&")
        return try await req.view.render("appeals/queue", QueuePage(
            page: req.pageContext(), total: result.total, query: filter.query, q: filter.q ?? "",
            filters: [
                FormField("state", req.t("field.state"), type: "select", value: nil,
                          choices: [.init(value: "", label: all, selected: filter.states.count != 1)]
                            + AppealState.allCases.map { .init(value: $0.rawValue, label: req.t("appeal.state.\($0.rawValue)"), selected: filter.states == [$0]) }, errors: [:]),
                FormField("subject", req.t("field.subject"), type: "select", value: nil,
                          choices: [.init(value: "", label: all, selected: filter.subject == nil)]
                            + subjects.map { .init(value: $0.id ?? "", label: $0.name(req.lang), selected: $0.id == filter.subject) }, errors: [:]),
                FormField("overdue", req.t("field.overdue"), type: "select", value: nil,
                          choices: [.init(value: "", label: all, selected: filter.overdue == nil), .init(value: "true", label: req.t("appeal.overdueOnly"), selected: filter.overdue == true)], errors: [:]),
                FormField("olderThanDays", req.t("field.olderThanDays"), type: "select", value: nil,
                          choices: [.init(value: "", label: all, selected: filter.olderThanDays == nil)]
                            + [3, 7, 15, 30].map { .init(value: String($0), label: req.t("appeal.olderThan", ["n": String($0)]), selected: filter.olderThanDays == $0) }, errors: [:]),
            ],
            tabs: [("open", "appeal.tab.open"), ("supervised", "appeal.tab.supervised"), ("callback", "appeal.tab.callback"), ("all", "appeal.tab.all")].map {
                .init(value: $0.0 == "supervised" ? "/console/appeals?supervised=true&tab=supervised" : "/console/appeals?tab=\($0.0)", label: req.t($0.1), selected: tab == $0.0)
            },
            rows: rows(req, result.items),
            prevHref: paging.page > 1 ? base + "page=\(paging.page - 1)" : nil,
            nextHref: paging.offset + paging.per < result.total ? base + "page=\(paging.page + 1)" : nil))
    }

    @Sendable func export(req: Request) async throws -> Response {
        var v = Validator()
        let filter = AppealService.filter(from: req, &v)
        try v.check()
        let format = try RosterFiles.format(req)
        let service = AppealService(request: req)
        try await req.audit.record("appeal.export", details: ["format": format, "filter": filter.query])
        let header = ["field.trackingNumber", "field.channel", "field.category", "field.subject", "field.employerName", "appeal.unit", "field.state",
                      "appeal.received", "appeal.due", "field.outcome", "field.amountRecoveredYuan", "field.rating"].map { req.t($0) }
        let subjects = Dictionary(uniqueKeysWithValues: try await AppealSubject.query(on: req.db).all().map { ($0.id ?? "", $0.name(req.lang)) })
        return try await RosterFiles.download(req, name: "appeals", format: format, header: header, widths: [16, 8, 10, 12, 28, 22, 10, 17, 17, 14, 12, 6]) { add in
            var lastID = Int.max
            var names: [Int: String] = [:]
            while true {
                let batch = try await service.query(filter).filter(\.$id < lastID).sort(\.$id, .descending).limit(2000).all()
                if batch.isEmpty { break }
                for (id, org) in try await ApplicationService.orgNames(batch.map(\.orgID).filter { names[$0] == nil }, on: req.db) { names[id] = org.name }
                for a in batch {
                    try add([.text(TrackingNumber.display(a.trackingNumber)), .text(req.t("appeal.channel.\(a.channel.rawValue)")),
                             .text(req.t("appeal.category.\(a.category.rawValue)")), .text(subjects[a.subjectCode] ?? a.subjectCode), .text(a.employerName ?? ""),
                             .text(names[a.orgID] ?? ""), .text(req.t("appeal.state.\(a.state.rawValue)")), .text(MeetingTime.local(a.receivedAt)),
                             .text(MeetingTime.local(a.dueAt)), .text(a.outcome.map { req.t("appeal.outcome.\($0.rawValue)") } ?? ""),
                             .number(a.recoveredFen.yuan), a.rating.map { .integer(Int64($0)) } ?? .empty])
                }
                lastID = batch.last?.id ?? 0
            }
        }
    }

    // MARK: one appeal

    struct Event: Encodable {
        let at: String
        let label: String
        let text: String
        let internalNote: Bool
        let move: String
        let staff: String
    }

    struct DetailPage: Encodable {
        let page: PageContext
        let a: AppealDTO
        let trackingNumber: String
        let channel: String
        let category: String
        let stateLabel: String
        let outcomeLabel: String?
        let received: String
        let due: String
        let tierLabel: String
        let events: [Event]
        let actions: [FormField.Choice]
        let units: [FormField.Choice]
        let outcomes: [FormField.Choice]
        let staff: [FormField.Choice]
        let supervisorName: String?
        let alert: String?
        let errors: [String: String]
        let form: [String: String]
    }

    func render(_ req: Request, _ id: Int, alert: String? = nil, error: AppError? = nil, form: [String: String] = [:]) async throws -> Response {
        let scope = try req.scope
        let service = AppealService(request: req)
        let a = try await service.dto(try await service.find(id), whole: true, events: true)
        let units = try await scope.orgs(on: req.db).filter(\.$kind !~ [.city]).sort(\.$path).limit(1000).all()
        let staff = try await scope.records(StaffUser.self, orgField: \.$orgID, on: req.db).limit(500).all()
        let available = AppealAction.allCases.filter { AppealRules.next(a.state, $0) != nil }
        let page = DetailPage(
            page: req.pageContext(), a: a, trackingNumber: TrackingNumber.display(a.trackingNumber), channel: req.t("appeal.channel.\(a.channel.rawValue)"),
            category: req.t("appeal.category.\(a.category.rawValue)"), stateLabel: req.t("appeal.state.\(a.state.rawValue)"),
            outcomeLabel: a.outcome.map { req.t("appeal.outcome.\($0.rawValue)") }, received: MeetingTime.local(a.receivedAt), due: Self.dueDay(a.dueAt),
            tierLabel: req.t("appeal.tier.\(a.tier.rawValue)"),
            events: (a.events ?? []).map { e in
                Event(at: MeetingTime.local(e.at), label: req.t("appeal.event.\(e.kind)"), text: e.text ?? "", internalNote: e.isInternal,
                      move: [e.fromOrgName, e.toOrgName].compactMap { $0 }.joined(separator: " → "), staff: e.staffName ?? "")
            },
            actions: available.map { .init(value: $0.rawValue, label: req.t("appeal.action.\($0.rawValue)"), selected: form["action"] == $0.rawValue) },
            units: units.map { .init(value: String($0.id ?? 0), label: ($0.kind == .street || $0.kind.isGrassroots ? "　" : "") + $0.name, selected: form["orgId"] == String($0.id ?? 0)) },
            outcomes: AppealOutcome.allCases.map { .init(value: $0.rawValue, label: req.t("appeal.outcome.\($0.rawValue)"), selected: form["outcome"] == $0.rawValue) },
            staff: staff.map { .init(value: String($0.id ?? 0), label: $0.displayName, selected: form["assigneeId"] == String($0.id ?? 0)) },
            supervisorName: try await a.supervisorOrgId.asyncMap { try await Organization.find($0, on: req.db)?.name } ?? nil,
            alert: alert ?? req.query[String.self, at: "done"].map { req.t("appeal.done.\($0)") },
            errors: error.map { req.fieldMessages($0) } ?? [:], form: form)
        return try await req.view.render("appeals/detail", page).encodeResponse(status: error?.status ?? .ok, for: req)
    }

    @Sendable func show(req: Request) async throws -> Response { try await render(req, try req.idParameter()) }

    @Sendable func act(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let f = try req.formFields()
        var input = AppealActionInput()
        input.action = f.text("action")
        input.text = f.text("text")
        input.orgId = f.int("orgId")
        input.outcome = f.text("outcome")
        input.amountRecoveredYuan = f.double("amountRecoveredYuan").map { $0.isNaN ? -1 : $0 }
        input.assigneeId = f.int("assigneeId")
        do {
            _ = try await AppealService(request: req).act(id, input)
            return req.redirect(to: "/console/appeals/\(id)?done=\(input.action ?? "saved")")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await render(req, id, alert: req.refusal(error), error: error, form: f)
        } catch let error as AppError where error.status == .notFound {
            // Rerouted out of the caller's subtree: it is no longer theirs to see.
            throw error
        }
    }

    // MARK: the hotline agent's intake

    struct IntakePage: Encodable {
        struct Earlier: Encodable {
            let id: Int
            let trackingNumber: String
            let subject: String
            let employer: String
            let state: String
            let open: Bool
            let received: String
        }

        let page: PageContext
        let form: [String: String]
        let errors: [String: String]
        let alert: String?
        let channels: [FormField.Choice]
        let categories: [FormField.Choice]
        let subjects: [FormField.Choice]
        let places: [FormField.Choice]
        let looked: Bool
        let member: String?
        let earlier: [Earlier]
        let sameOpen: Earlier?
        let key: String
    }

    func renderIntake(_ req: Request, form: [String: String], error: AppError? = nil) async throws -> Response {
        let subjects = try await AppealSubject.query(on: req.db).sort(\.$sortOrder).all()
        var earlier: [IntakePage.Earlier] = []
        var member: String?
        let phone = form["phone"].flatMap { try? PhoneNumber(parsing: $0) }
        if let phone {
            // Caller look-up: earlier appeals anywhere (the agent answers for the whole city) and membership.
            let list = try await Appeal.query(on: req.db).filter(\.$phone == phone.value).sort(\.$receivedAt, .descending).limit(10).all()
            let names = Dictionary(uniqueKeysWithValues: subjects.map { ($0.id ?? "", $0.name(req.lang)) })
            earlier = list.map { .init(id: $0.id ?? 0, trackingNumber: TrackingNumber.display($0.trackingNumber), subject: names[$0.subjectCode] ?? $0.subjectCode,
                                       employer: $0.employerName ?? "", state: req.t("appeal.state.\($0.state.rawValue)"), open: $0.state.isOpen,
                                       received: MeetingTime.local($0.receivedAt)) }
            if let m = try await Member.query(on: req.db).filter(\.$phone == phone.value).first() {
                let union = try await Organization.find(m.orgID, on: req.db)
                member = req.t("appeal.isMember", ["name": m.name, "union": union?.name ?? "", "status": req.t("member.status.\(m.status.rawValue)")])
            }
        }
        let employer = Normalize.singleLine(form["employerName"] ?? "")
        let sameOpen = earlier.first { $0.open && !employer.isEmpty && $0.employer == employer }
        let page = IntakePage(
            page: req.pageContext(), form: form, errors: error.map { req.fieldMessages($0) } ?? [:], alert: error.map { req.refusal($0) },
            channels: AppealChannel.allCases.map { .init(value: $0.rawValue, label: req.t("appeal.channel.\($0.rawValue)"), selected: (form["channel"] ?? "hotline") == $0.rawValue) },
            categories: AppealCategory.allCases.map { .init(value: $0.rawValue, label: req.t("appeal.category.\($0.rawValue)"), selected: (form["category"] ?? "request") == $0.rawValue) },
            subjects: subjects.map { .init(value: $0.id ?? "", label: $0.name(req.lang), selected: form["subject"] == $0.id) },
            places: try await AppealPublicPages.places(req, selected: form["orgId"]), looked: phone != nil, member: member, earlier: earlier, sameOpen: sameOpen,
            key: form["_key"] ?? UUID().uuidString)
        return try await req.view.render("appeals/intake", page).encodeResponse(status: error?.status ?? .ok, for: req)
    }

    @Sendable func intake(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.worksAppeals)
        var form: [String: String] = [:]
        for key in ["phone", "employerName"] { if let v = req.query[String.self, at: key] { form[key] = v } }
        return try await renderIntake(req, form: form)
    }

    @Sendable func record(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.worksAppeals)
        let form = try req.formFields()
        // "查询来电" only looks the caller up; a second press with the same open appeal on screen is a deliberate new one.
        if form["lookup"] != nil { return try await renderIntake(req, form: form) }
        do {
            let (a, _) = try await AppealService(request: req).submit(AppealPublicPages.input(form, channel: "hotline"), idempotencyKey: form.text("_key"))
            return req.redirect(to: "/console/appeals/\(a.id ?? 0)?done=recorded")
        } catch let error as AppError where error.status == .unprocessableEntity {
            return try await renderIntake(req, form: form, error: error)
        }
    }
}
