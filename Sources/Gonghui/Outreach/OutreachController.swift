import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/api/v1/enterprises`, `/api/v1/meetings`, `/api/v1/service-items`, `/api/v1/outreach-stats` and
/// `/api/v1/meeting-calendar`, for staff.
struct OutreachController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let enterprises = routes.grouped("enterprises")
        enterprises.get(use: listEnterprises)
        enterprises.post(use: createEnterprise)
        enterprises.get("coverage", use: coverage)
        enterprises.get(":id", use: showEnterprise)
        enterprises.patch(":id", use: updateEnterprise)
        enterprises.post(":id", "contacts", use: addContact)
        enterprises.post(":id", "founding", use: found)

        let meetings = routes.grouped("meetings")
        meetings.get(use: listMeetings)
        meetings.post(use: createMeeting)
        meetings.get(":id", use: showMeeting)
        meetings.patch(":id", use: updateMeeting)
        meetings.get(":id", "stats", use: meetingStats)
        meetings.post(":id", "enterprises", use: recordVisit)
        meetings.post(":id", "tasks", use: addTask)
        routes.post("follow-up-tasks", ":id", "done", use: taskDone)

        routes.get("service-items", use: serviceItems)
        routes.post("service-items", use: addServiceItem)
        routes.get("outreach-stats", use: stats)
        routes.get("meeting-calendar", use: calendar)
    }

    // MARK: enterprises

    @Sendable func listEnterprises(req: Request) async throws -> Paged<EnterpriseDTO> {
        var v = Validator()
        let filter = EnterpriseService.filter(from: req, &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        return try await EnterpriseService(request: req).page(filter, paging)
    }

    @Sendable func createEnterprise(req: Request) async throws -> Response {
        let service = EnterpriseService(request: req)
        let e = try await service.create(try req.content.decode(EnterpriseInput.self))
        let response = try await service.detail(e).encodeResponse(status: .created, for: req)
        response.headers.replaceOrAdd(name: .location, value: "/api/v1/enterprises/\(e.id ?? 0)")
        return response
    }

    @Sendable func showEnterprise(req: Request) async throws -> EnterpriseDTO {
        let service = EnterpriseService(request: req)
        return try await service.detail(try await service.find(try req.idParameter()))
    }

    @Sendable func updateEnterprise(req: Request) async throws -> EnterpriseDTO {
        let service = EnterpriseService(request: req)
        return try await service.detail(try await service.update(try req.idParameter(), try req.content.decode(EnterpriseInput.self)))
    }

    @Sendable func addContact(req: Request) async throws -> Response {
        let service = EnterpriseService(request: req)
        let id = try req.idParameter()
        _ = try await service.addContact(id, try req.content.decode(ContactInput.self))
        return try await service.detail(try await service.find(id)).encodeResponse(status: .created, for: req)
    }

    @Sendable func found(req: Request) async throws -> Response {
        let (e, union) = try await EnterpriseService(request: req).found(try req.idParameter(), try req.content.decode(FoundingInput.self))
        return try await FoundingResult(enterpriseId: e.id ?? 0, unionOrgId: union.id ?? 0, unionStatus: e.unionStatus)
            .encodeResponse(status: .created, for: req)
    }

    @Sendable func coverage(req: Request) async throws -> CoverageDTO {
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        try v.check()
        return try await EnterpriseService(request: req).coverage(orgID: orgID)
    }

    // MARK: meetings

    @Sendable func listMeetings(req: Request) async throws -> Paged<MeetingDTO> {
        var v = Validator()
        let filter = MeetingService.filter(from: req, &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        return try await MeetingService(request: req).page(filter, paging)
    }

    @Sendable func createMeeting(req: Request) async throws -> Response {
        let service = MeetingService(request: req)
        let m = try await service.create(try req.content.decode(MeetingInput.self))
        let response = try await service.detail(m).encodeResponse(status: .created, for: req)
        response.headers.replaceOrAdd(name: .location, value: "/api/v1/meetings/\(m.id ?? 0)")
        return response
    }

    @Sendable func showMeeting(req: Request) async throws -> MeetingDTO {
        let service = MeetingService(request: req)
        return try await service.detail(try await service.find(try req.idParameter()))
    }

    @Sendable func updateMeeting(req: Request) async throws -> MeetingDTO {
        let service = MeetingService(request: req)
        return try await service.detail(try await service.update(try req.idParameter(), try req.content.decode(MeetingInput.self)))
    }

    @Sendable func meetingStats(req: Request) async throws -> MeetingStatsDTO {
        let service = MeetingService(request: req)
        return try await service.stats(try await service.find(try req.idParameter()))
    }

    @Sendable func recordVisit(req: Request) async throws -> MeetingDTO {
        let service = MeetingService(request: req)
        let id = try req.idParameter()
        _ = try await service.recordVisit(id, try req.content.decode(VisitInput.self))
        return try await service.detail(try await service.find(id))
    }

    @Sendable func addTask(req: Request) async throws -> Response {
        let service = MeetingService(request: req)
        let id = try req.idParameter()
        _ = try await service.addTask(id, try req.content.decode(TaskInput.self))
        return try await service.detail(try await service.find(id)).encodeResponse(status: .created, for: req)
    }

    struct DoneInput: Content { var done: Bool? }

    struct TaskDTO: Content {
        let id: Int
        let title: String
        let dueOn: String
        let done: Bool
    }

    @Sendable func taskDone(req: Request) async throws -> TaskDTO {
        let input = (try? req.content.decode(DoneInput.self)) ?? DoneInput()
        let task = try await MeetingService(request: req).completeTask(try req.idParameter(), done: input.done ?? true)
        return TaskDTO(id: task.id ?? 0, title: task.title, dueOn: task.dueOn, done: task.doneAt != nil)
    }

    // MARK: the service catalogue

    struct ServiceItemDTO: Content {
        let id: Int
        let name: String
        let active: Bool
    }

    struct ServiceItemInput: Content { var name: String? }

    @Sendable func serviceItems(req: Request) async throws -> [ServiceItemDTO] {
        let scope = try req.scope
        try scope.require(scope.role.readsLedger)
        return try await ServiceItem.query(on: req.db).sort(\.$sortOrder).sort(\.$id).all()
            .map { ServiceItemDTO(id: $0.id ?? 0, name: $0.name, active: $0.active) }
    }

    @Sendable func addServiceItem(req: Request) async throws -> Response {
        let item = try await ServiceCatalogue.add(req, name: try req.content.decode(ServiceItemInput.self).name)
        return try await ServiceItemDTO(id: item.id ?? 0, name: item.name, active: item.active).encodeResponse(status: .created, for: req)
    }

    // MARK: statistics and the calendar

    @Sendable func stats(req: Request) async throws -> OutreachStats.Report {
        let (orgID, from, to, by) = try Self.statsQuery(req)
        return try await OutreachStats(request: req).report(orgID: orgID, from: from, to: to, by: by)
    }

    /// `orgId`, `from`, `to` (default: this year so far) and `by` (street, district or month).
    static func statsQuery(_ req: Request) throws -> (Int?, CalendarDate, CalendarDate, OutreachStats.GroupBy) {
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let today = ShanghaiClock.today()
        var from = try CalendarDate(year: today.year, month: 1, day: 1), to = today
        for name in ["from", "to"] {
            guard let raw = req.query[String.self, at: name], !raw.isEmpty else { continue }
            if let date = try? CalendarDate(parsing: raw) {
                if name == "from" { from = date } else { to = date }
            } else { v.add(name, "format", "error.field.date") }
        }
        if to < from { v.add("to", "beforeStart", "error.stats.toBeforeFrom") }
        let by: OutreachStats.GroupBy = EnterpriseService.choice(req, "by", &v) ?? .street
        try v.check()
        return (orgID, from, to, by)
    }

    @Sendable func calendar(req: Request) async throws -> OutreachStats.PlanCalendar {
        let (orgID, year, month) = try Self.calendarQuery(req)
        return try await OutreachStats(request: req).calendar(orgID: orgID, year: year, month: month)
    }

    static func calendarQuery(_ req: Request) throws -> (Int?, Int, Int) {
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let today = ShanghaiClock.today()
        var (year, month) = (today.year, today.month)
        if let raw = req.query[String.self, at: "month"], !raw.isEmpty {
            let parts = raw.split(separator: "-")
            if parts.count == 2, let y = Int(parts[0]), let m = Int(parts[1]), (2000...2100).contains(y), (1...12).contains(m) {
                (year, month) = (y, m)
            } else { v.add("month", "format", "error.field.month") }
        }
        try v.check()
        return (orgID, year, month)
    }
}

/// The catalogue of services offered to firms; city and district staff keep it.
enum ServiceCatalogue {
    static func add(_ req: Request, name raw: String?) async throws -> ServiceItem {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin || scope.role == .districtStaff)
        var v = Validator()
        let name = v.text(raw, "name", required: true, max: 50)
        try v.check()
        if try await ServiceItem.query(on: req.db).filter(\.$name == name!).count() > 0 {
            throw AppError.conflict("error.service.exists", fields: [FieldIssue("name", "taken", "error.field.service.taken")])
        }
        let item = ServiceItem()
        item.name = name!
        item.active = true
        item.sortOrder = (try await ServiceItem.query(on: req.db).max(\.$sortOrder) ?? 0) + 1
        try await req.db.transaction { tx in
            try await item.create(on: tx)
            try await req.audit.record("service.create", targetType: "serviceItem", targetID: item.id, details: ["name": item.name], on: tx)
        }
        return item
    }

    static func setActive(_ req: Request, id: Int, active: Bool) async throws {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin || scope.role == .districtStaff)
        guard let item = try await ServiceItem.find(id, on: req.db) else { throw AppError.notFound }
        item.active = active
        try await req.db.transaction { tx in
            try await item.save(on: tx)
            try await req.audit.record(active ? "service.activate" : "service.retire", targetType: "serviceItem", targetID: id, on: tx)
        }
    }
}
