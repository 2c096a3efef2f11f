import Fluent
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// The console's meetings: the list, the planning calendar, one meeting with its booth, counts,
/// visits and follow-ups; the statistics with charts and export; the service catalogue.
struct MeetingPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let m = routes.grouped("console", "meetings")
        m.get(use: list)
        m.get("calendar", use: calendar)
        m.get("new", use: newForm)
        m.post("new", use: create)
        m.get(":id", use: detail)
        m.post(":id", "record", use: record)
        m.post(":id", "visits", use: visit)
        m.post(":id", "tasks", use: addTask)
        routes.post("console", "tasks", ":id", "done", use: taskDone)
        routes.get("console", "outreach-stats", use: stats)
        routes.get("console", "outreach-stats", "export", use: exportStats)
        routes.get("console", "services", use: services)
        routes.post("console", "services", use: addService)
        routes.post("console", "services", ":id", "active", use: toggleService)
    }

    // MARK: the list

    struct Row: Encodable {
        let id: Int
        let when: String
        let kind: String
        let series: String
        let orgName: String
        let place: String
        let title: String
    }

    struct ListPage: Encodable {
        let page: PageContext
        let rows: [Row]
        let total: Int
        let filters: [FormField]
        let prevHref: String?
        let nextHref: String?
        let month: String
    }

    @Sendable func list(req: Request) async throws -> View {
        var v = Validator()
        let filter = MeetingService.filter(from: req, &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        let result = try await MeetingService(request: req).page(filter, paging)
        let all = req.t("common.all")
        var query: [String] = []
        if let kind = filter.kind { query.append("kind=\(kind.rawValue)") }
        if let from = filter.from { query.append("from=\(from)") }
        if let to = filter.to { query.append("to=\(to)") }
        if let org = filter.orgID { query.append("orgId=\(org)") }
        let base = "/console/meetings?" + query.map { $0 + "&" }.joined()
        return try await req.view.render("outreach/meetings", ListPage(
            page: req.pageContext(),
            rows: result.items.map { Row(id: $0.id, when: MeetingTime.local($0.startsAt), kind: req.t("meeting.kind.\($0.kind.rawValue)"),
                                         series: req.t("meeting.series.\($0.series.rawValue)"), orgName: $0.orgName ?? "", place: $0.place, title: $0.title ?? "") },
            total: result.total,
            filters: [
                FormField("kind", req.t("field.kind"), type: "select", value: nil,
                          choices: FormField.choices(MeetingKind.self, prefix: "meeting.kind", selected: filter.kind?.rawValue, blank: all, req), errors: [:]),
                FormField("from", req.t("field.from"), type: "date", value: filter.from?.description, errors: [:]),
                FormField("to", req.t("field.to"), type: "date", value: filter.to?.description, errors: [:]),
            ],
            prevHref: paging.page > 1 ? base + "page=\(paging.page - 1)" : nil,
            nextHref: paging.offset + paging.per < result.total ? base + "page=\(paging.page + 1)" : nil,
            month: String(ShanghaiClock.today().description.prefix(7))))
    }

    // MARK: the calendar

    struct CalendarPage: Encodable {
        struct Cell: Encodable {
            let label: String
            let css: String
            let href: String
        }

        struct Line: Encodable {
            let name: String
            let orgId: Int
            let cells: [Cell]
            let missing: Int
        }

        let page: PageContext
        let month: String
        let prev: String
        let next: String
        let weeks: [String]
        let districts: [Line]
        let streets: [Line]
        let missingWeeks: Int
        let missingDays: Int
    }

    @Sendable func calendar(req: Request) async throws -> View {
        let (orgID, year, month) = try OutreachController.calendarQuery(req)
        let cal = try await OutreachStats(request: req).calendar(orgID: orgID, year: year, month: month)
        let prev = month == 1 ? String(format: "%04d-12", year - 1) : String(format: "%04d-%02d", year, month - 1)
        let next = month == 12 ? String(format: "%04d-01", year + 1) : String(format: "%04d-%02d", year, month + 1)
        func label(_ state: String, _ n: Int) -> String { n > 0 ? (n > 1 ? "✓ \(n)" : "✓") : req.t("calendar.\(state)") }
        return try await req.view.render("outreach/calendar", CalendarPage(
            page: req.pageContext(), month: cal.month, prev: prev, next: next, weeks: cal.weekStarts.map { String($0.dropFirst(5)) },
            districts: cal.districts.map { d in
                .init(name: d.name, orgId: d.orgId, cells: [.init(label: label(d.state, d.held), css: d.state,
                                                                  href: "/console/meetings/new?orgId=\(d.orgId)")], missing: d.state == "missing" ? 1 : 0)
            },
            streets: cal.streets.map { s in
                .init(name: s.name, orgId: s.orgId, cells: s.weeks.map { w in
                    .init(label: label(w.state, w.held), css: w.state, href: w.held > 0
                          ? "/console/meetings?orgId=\(s.orgId)&from=\(w.weekStart)&to=\((try? CalendarDate(parsing: w.weekStart))?.adding(days: 6).description ?? w.weekStart)"
                          : "/console/meetings/new?orgId=\(s.orgId)&day=\(w.weekStart)")
                }, missing: s.missing)
            },
            missingWeeks: cal.missingWeeks, missingDays: cal.missingDays))
    }

    // MARK: the form

    func fields(_ req: Request, _ f: [String: String], _ errors: [String: String], places: [FormField.Choice]) -> [FormField] {
        [
            FormField("kind", req.t("field.kind"), type: "select", value: nil,
                      choices: FormField.choices(MeetingKind.self, prefix: "meeting.kind", selected: f["kind"] ?? "worker", req), required: true, errors: errors),
            FormField("series", req.t("field.series"), type: "select", value: nil,
                      choices: FormField.choices(MeetingSeries.self, prefix: "meeting.series", selected: f["series"], blank: req.t("meetings.seriesAuto"), req), errors: errors),
            FormField("orgId", req.t("meetings.organiser"), type: "select", value: nil,
                      choices: places.map { .init(value: $0.value, label: $0.label, selected: $0.value == f["orgId"]) }, required: true, errors: errors),
            FormField("title", req.t("field.title"), value: f["title"], errors: errors),
            FormField("startsAt", req.t("field.startsAt"), type: "datetime-local", value: f["startsAt"], required: true, errors: errors),
            FormField("endsAt", req.t("field.endsAt"), type: "datetime-local", value: f["endsAt"], errors: errors),
            FormField("place", req.t("field.place"), value: f["place"], required: true, wide: true, errors: errors),
            FormField("lat", req.t("field.lat"), value: f["lat"], hint: "WGS-84", errors: errors),
            FormField("lng", req.t("field.lng"), value: f["lng"], hint: "WGS-84", errors: errors),
            FormField("staffPresent", req.t("field.staffPresent"), value: f["staffPresent"], wide: true, hint: req.t("meetings.namesHint"), errors: errors),
            FormField("enterprises", req.t("field.enterpriseIds"), type: "textarea", value: f["enterprises"], wide: true,
                      hint: req.t("meetings.enterprisesHint"), errors: errors),
            FormField("note", req.t("field.note"), type: "textarea", value: f["note"], wide: true, errors: errors),
        ]
    }

    @Sendable func newForm(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.keepsLedger)
        let places = try await Self.organisers(req)
        var defaults = ["orgId": req.query[String.self, at: "orgId"] ?? String(scope.rootID), "kind": req.query[String.self, at: "kind"] ?? "worker"]
        if let day = req.query[String.self, at: "day"].flatMap({ try? CalendarDate(parsing: $0) }) {
            defaults["startsAt"] = day.adding(days: 2).description + "T14:00" // Wednesday afternoon, a usual slot
        }
        return try await req.renderForm(title: req.t("meetings.new"), action: "/console/meetings/new", cancel: "/console/meetings") {
            fields(req, defaults, $0, places: places)
        }
    }

    static func organisers(_ req: Request) async throws -> [FormField.Choice] {
        let scope = try req.scope
        let nodes = OrgOrder.sorted(try await scope.orgs(on: req.db).filter(\.$kind ~~ [.city, .district, .street]).sort(\.$path).limit(1000).all())
        return nodes.map { .init(value: String($0.id ?? 0), label: ($0.kind == .street ? "　" : "") + $0.name, selected: false) }
    }

    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.formFields()
        do {
            var input = MeetingInput()
            input.kind = form.text("kind")
            input.series = form.text("series")
            input.orgId = form.int("orgId")
            input.title = form.text("title")
            input.startsAt = form.text("startsAt") ?? ""
            input.endsAt = form.text("endsAt")
            input.place = form["place"] ?? ""
            input.lat = form.double("lat")
            input.lng = form.double("lng")
            input.staffPresent = form.list("staffPresent")
            input.note = form.text("note")
            // Firms by credit code or exact name, one per line (a column pasted from Excel).
            let wanted = form.list("enterprises")
            if !wanted.isEmpty {
                var ids: [Int] = []
                var unknown: [String] = []
                for entry in wanted {
                    if let e = try await Self.findFirm(req, entry) { ids.append(e.id ?? 0) } else { unknown.append(entry) }
                }
                if !unknown.isEmpty {
                    throw AppError.invalid([FieldIssue("enterprises", "notFound", "error.meeting.firmsUnknown", ["names": unknown.joined(separator: "、")])])
                }
                input.enterpriseIds = ids
            }
            let m = try await MeetingService(request: req).create(input)
            return req.redirect(to: "/console/meetings/\(m.id ?? 0)")
        } catch let error as AppError where error.status == .unprocessableEntity {
            let places = try await Self.organisers(req)
            return try await req.renderForm(title: req.t("meetings.new"), action: "/console/meetings/new", cancel: "/console/meetings", error: error) {
                fields(req, form, $0, places: places)
            }.encodeResponse(status: error.status, for: req)
        }
    }

    /// A firm in scope by credit code or exact name.
    static func findFirm(_ req: Request, _ text: String) async throws -> Enterprise? {
        let scope = try req.scope
        let query = scope.records(Enterprise.self, orgField: \.$orgID, on: req.db)
        if let code = try? CreditCode(parsing: text) { return try await query.filter(\.$creditCode == code.value).first() }
        return try await query.filter(\.$name == Normalize.singleLine(text)).first()
    }

    // MARK: one meeting

    struct VisitRow: Encodable {
        let enterpriseId: Int
        let name: String
        let before: String
        let now: String
        let nowCss: String
        let outcomes: [FormField.Choice]
        let services: [FormField.Choice]
        let note: String
    }

    struct TaskRow: Encodable {
        let id: Int
        let title: String
        let firm: String
        let owner: String
        let dueOn: String
        let done: Bool
        let overdue: Bool
    }

    struct DetailPage: Encodable {
        let page: PageContext
        let id: Int
        let title: String
        let facts: [FormField.Choice]
        let isWorker: Bool
        let stats: MeetingStatsDTO
        let boothHref: String
        let joinLink: String
        let qr: String?
        let consultations: Int
        let recordsCollected: Int
        let staffPresent: String
        let note: String
        let visits: [VisitRow]
        let tasks: [TaskRow]
        let firms: [FormField.Choice]
        let owners: [FormField.Choice]
        let canEdit: Bool
        let problem: String?
        let flash: String?
    }

    @Sendable func detail(req: Request) async throws -> View {
        try await renderDetail(req, id: try req.idParameter(), problem: nil)
    }

    func renderDetail(_ req: Request, id: Int, problem: String?) async throws -> View {
        let scope = try req.scope
        let service = MeetingService(request: req)
        let m = try await service.find(id)
        let dto = try await service.detail(m)
        let catalogue = try await ServiceItem.query(on: req.db).sort(\.$sortOrder).all()
        let linkBase = req.application.gonghui.linkBase
        let link = linkBase + dto.joinPath
        let org = try await Organization.find(m.orgID, on: req.db)
        let chain = (org?.treePath.ids ?? []).filter { id in scope.root.ids.last == id || !scope.root.ids.contains(id) }
        let staff = try await StaffUser.query(on: req.db).filter(\.$orgID ~~ chain).sort(\.$displayName).limit(200).all()
        let firmNames = Dictionary(uniqueKeysWithValues: (dto.enterprises ?? []).map { ($0.enterpriseId, $0.name) })
        let facts: [(String, String?)] = [
            ("field.kind", req.t("meeting.kind.\(dto.kind.rawValue)") + " · " + req.t("meeting.series.\(dto.series.rawValue)")),
            ("meetings.organiser", dto.orgName),
            ("field.startsAt", MeetingTime.local(dto.startsAt) + (dto.endsAt.map { " – " + String(MeetingTime.local($0).suffix(5)) } ?? "")),
            ("field.place", dto.place), ("ledger.coordinates", dto.lat.map { String(format: "%.6f, %.6f", $0, dto.lng ?? 0) }),
            ("field.staffPresent", dto.staffPresent.joined(separator: "、")), ("field.note", dto.note),
        ]
        return try await req.view.render("outreach/meeting", DetailPage(
            page: req.pageContext(), id: id, title: dto.title ?? (dto.orgName ?? "") + " " + req.t("meeting.series.\(dto.series.rawValue)"),
            facts: facts.compactMap { k, v in v.flatMap { $0.isEmpty ? nil : FormField.Choice(value: $0, label: req.t(k), selected: false) } },
            isWorker: dto.kind == .worker, stats: dto.stats!,
            boothHref: "/console/booth?org=\(dto.orgId)&meeting=\(id)", joinLink: link,
            qr: dto.kind == .worker ? (try? QRCode(text: link, correction: .medium))?.svg(pixels: 160, title: req.t("booth.qrTitle")) : nil,
            consultations: dto.consultations, recordsCollected: dto.recordsCollected, staffPresent: dto.staffPresent.joined(separator: "、"),
            note: dto.note ?? "",
            visits: (dto.enterprises ?? []).map { v in
                VisitRow(enterpriseId: v.enterpriseId, name: v.name, before: req.t("unionStatus.\(v.statusBefore.rawValue)"),
                         now: req.t("unionStatus.\(v.unionStatus.rawValue)"), nowCss: EnterprisePages.statusCss(v.unionStatus),
                         outcomes: FormField.choices(VisitOutcome.self, prefix: "visit.outcome", selected: v.outcome.rawValue, req),
                         services: catalogue.filter { $0.active || v.services.contains($0.id ?? 0) }
                             .map { .init(value: String($0.id ?? 0), label: $0.name, selected: v.services.contains($0.id ?? 0)) },
                         note: v.note ?? "")
            },
            tasks: (dto.tasks ?? []).map { t in
                TaskRow(id: t.id, title: t.title, firm: t.enterpriseId.flatMap { firmNames[$0] } ?? "", owner: t.ownerName ?? "", dueOn: t.dueOn,
                        done: t.done, overdue: t.overdue)
            },
            firms: [.init(value: "", label: "—", selected: true)] + (dto.enterprises ?? []).map { .init(value: String($0.enterpriseId), label: $0.name, selected: false) },
            owners: staff.map { .init(value: String($0.id ?? 0), label: $0.displayName, selected: $0.id == scope.staffID) },
            canEdit: scope.role.keepsLedger, problem: problem,
            flash: req.query[String.self, at: "done"].flatMap { ["saved", "visit", "task"].contains($0) ? req.t("meetings.done.\($0)") : nil }))
    }

    private func act(_ req: Request, _ id: Int, done: String, _ body: () async throws -> Void) async throws -> Response {
        do {
            try await body()
            return req.redirect(to: "/console/meetings/\(id)?done=\(done)")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await renderDetail(req, id: id, problem: req.refusal(error)).encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable func record(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.formFields()
        var input = MeetingInput()
        input.consultations = form.int("consultations") ?? 0
        input.recordsCollected = form.int("recordsCollected") ?? 0
        input.staffPresent = form.list("staffPresent")
        input.note = form["note"] ?? ""
        return try await act(req, id, done: "saved") { _ = try await MeetingService(request: req).update(id, input) }
    }

    @Sendable func visit(req: Request) async throws -> Response {
        let id = try req.idParameter()
        // Checkboxes repeat a name: read them from the raw body.
        let body = req.body.string ?? ""
        var services: [Int] = []
        var form: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            guard parts.count == 2 else { continue }
            if parts[0] == "services" { if let n = Int(parts[1]) { services.append(n) } } else { form[parts[0]] = parts[1] }
        }
        return try await act(req, id, done: "visit") {
            var enterpriseID = form.int("enterpriseId")
            if enterpriseID == nil, let text = form.text("firm") {
                guard let firm = try await Self.findFirm(req, text) else {
                    throw AppError.invalid([FieldIssue("enterpriseId", "notFound", "error.meeting.firmsUnknown", ["names": text])])
                }
                enterpriseID = firm.id
            }
            _ = try await MeetingService(request: req).recordVisit(id, VisitInput(enterpriseId: enterpriseID, outcome: form.text("outcome"),
                                                                                  services: services, note: form.text("note")))
        }
    }

    @Sendable func addTask(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.formFields()
        return try await act(req, id, done: "task") {
            _ = try await MeetingService(request: req).addTask(id, TaskInput(title: form["title"], enterpriseId: form.int("enterpriseId"),
                                                                             ownerStaffId: form.int("ownerStaffId"), dueOn: form.text("dueOn")))
        }
    }

    @Sendable func taskDone(req: Request) async throws -> Response {
        let form = try req.formFields()
        let task = try await MeetingService(request: req).completeTask(try req.idParameter(), done: form["done"] != "false")
        return req.redirect(to: task.meetingID.map { "/console/meetings/\($0)?done=task" } ?? "/console/meetings")
    }
}
