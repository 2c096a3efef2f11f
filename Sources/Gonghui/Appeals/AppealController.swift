import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// `/api/v1/appeals…`: intake and following for anyone, the queues and actions for staff.
struct AppealController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.grouped(AddressLimit("appeal")).post("appeals", use: submit)
        routes.get("appeal-subjects", use: subjects)
        routes.grouped(AddressLimit("appealFollow")).post("appeals", "follow", "code", use: followCode)
        routes.grouped(AddressLimit("appealFollow")).post("appeals", "follow", use: follow)
        routes.post("appeals", "follow", "respond", use: respond)
    }

    func bootProtected(routes: any RoutesBuilder) {
        routes.get("appeals", use: list)
        routes.get("appeals", ":id", use: show)
        routes.post("appeals", ":id", "actions", use: act)
        routes.get("appeal-stats", use: stats)
    }

    /// 201 with the tracking number; the same submission again answers 200 with the first one.
    @Sendable func submit(req: Request) async throws -> Response {
        let input = try req.content.decode(AppealInput.self)
        try await req.limitPerson("appeal", phone: input.phone, idNumber: nil)
        let (a, fresh) = try await AppealService(request: req).submit(input)
        let body = AppealCreatedDTO(id: try a.requireID(), trackingNumber: a.trackingNumber, state: a.state, orgId: a.orgID, dueAt: a.dueAt)
        let response = try await body.encodeResponse(status: fresh ? .created : .ok, for: req)
        response.headers.replaceOrAdd(name: .location, value: "/api/v1/appeals/\(a.id ?? 0)")
        return response
    }

    @Sendable func subjects(req: Request) async throws -> CatalogDTO {
        CatalogDTO(items: try await AppealSubject.query(on: req.db).sort(\.$sortOrder).all().map {
            CatalogItemDTO(code: $0.id ?? "", name: $0.name(req.lang), nameZh: $0.nameZh, nameEn: $0.nameEn, icon: "")
        })
    }

    struct FollowInput: Content {
        var trackingNumber: String?
        var phone: String?
        var code: String?
    }

    static func appeal(_ req: Request, _ input: FollowInput) async throws -> (Appeal?, PhoneNumber) {
        var v = Validator()
        let number = input.trackingNumber.flatMap(TrackingNumber.parse)
        if number == nil { v.add("trackingNumber", input.trackingNumber == nil ? "required" : "format", input.trackingNumber == nil ? nil : "error.appeal.trackingNumber") }
        var phone: PhoneNumber?
        if let raw = input.phone, !raw.isEmpty { phone = try? PhoneNumber(parsing: raw); if phone == nil { v.add("phone", "format", "error.member.phone.format") } } else {
            v.add("phone", "required", "error.member.phone.required")
        }
        try v.check()
        let a = try await Appeal.query(on: req.db).filter(\.$trackingNumber == number!).filter(\.$phone == phone!.value).first()
        return (a, phone!)
    }

    /// Always 202 with the same body: the answer does not say whether the number and phone match.
    @Sendable func followCode(req: Request) async throws -> Response {
        let (a, phone) = try await Self.appeal(req, try req.content.decode(FollowInput.self))
        try await req.oneTimeCodes.send(to: phone, purpose: .appeal, deliver: a != nil)
        return try await CodeSent(sent: true, expiresInSeconds: Int(OneTimeCodes.lifetime)).encodeResponse(status: .accepted, for: req)
    }

    @Sendable func follow(req: Request) async throws -> AppealFollowDTO {
        let input = try req.content.decode(FollowInput.self)
        let (a, phone) = try await Self.appeal(req, input)
        try await req.oneTimeCodes.verify(phone, purpose: .appeal, code: input.code)
        guard let a else { throw AppError.notFound }
        return try await AppealService(request: req).followView(a)
    }

    struct RespondInput: Content {
        var token: String?
        var accept: Bool?
        var rating: Int?
        var comment: String?
    }

    @Sendable func respond(req: Request) async throws -> AppealFollowDTO {
        let input = try req.content.decode(RespondInput.self)
        guard let id = AppealService.appealID(fromToken: input.token, app: req.application), let a = try await Appeal.find(id, on: req.db) else {
            throw AppError.invalid([FieldIssue("token", "expired", "error.appeal.token")])
        }
        let service = AppealService(request: req)
        return try await service.followView(try await service.respond(a, accept: input.accept, rating: input.rating, comment: input.comment))
    }

    // MARK: staff

    @Sendable func list(req: Request) async throws -> Paged<AppealDTO> {
        var v = Validator()
        let filter = AppealService.filter(from: req, &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        return try await AppealService(request: req).page(filter, paging)
    }

    @Sendable func show(req: Request) async throws -> AppealDTO {
        let service = AppealService(request: req)
        return try await service.dto(try await service.find(try req.idParameter()), whole: true, events: true)
    }

    @Sendable func act(req: Request) async throws -> AppealDTO {
        let service = AppealService(request: req)
        let a = try await service.act(try req.idParameter(), try req.content.decode(AppealActionInput.self))
        return try await service.dto(a, whole: true, events: true)
    }

    @Sendable func stats(req: Request) async throws -> AppealStatsDTO {
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let from = req.query[String.self, at: "from"].flatMap { $0.isEmpty ? nil : $0 }
        let to = req.query[String.self, at: "to"].flatMap { $0.isEmpty ? nil : $0 }
        var fromDate: CalendarDate?, toDate: CalendarDate?
        if let from { fromDate = try? CalendarDate(parsing: from); if fromDate == nil { v.add("from", "format", "error.field.date") } }
        if let to { toDate = try? CalendarDate(parsing: to); if toDate == nil { v.add("to", "format", "error.field.date") } }
        let by = req.query[String.self, at: "by"] ?? "subject"
        if !["subject", "unit", "month"].contains(by) { v.add("by", "unknown", "error.field.oneOf", ["values": "subject, unit, month"]) }
        try v.check()
        let today = ShanghaiClock.today()
        return try await AppealStats(request: req).report(orgID: orgID, from: fromDate ?? today.adding(days: -364), to: toDate ?? today, by: by)
    }
}
