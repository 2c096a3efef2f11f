import GonghuiCore
import Fluent
import Foundation
import Vapor

/// The audit log's filters, read from the query string by both the API and the console.
struct AuditFilter: Sendable {
    var action: String?
    var actor: String?
    var targetType: String?
    var targetID: String?
    var from: Date?
    var to: Date?
    var paging: PageRequest

    init(from req: Request) throws {
        var v = Validator()
        action = v.text(req.query[String.self, at: "action"], "action", required: false, max: 64)
        actor = v.text(req.query[String.self, at: "actor"], "actor", required: false, max: 64)
        targetType = v.text(req.query[String.self, at: "targetType"], "targetType", required: false, max: 32)
        targetID = v.text(req.query[String.self, at: "targetId"], "targetId", required: false, max: 32)
        from = Self.day(req, "from", &v)
        to = Self.day(req, "to", &v).map { $0.addingTimeInterval(86_400) }
        paging = PageRequest(from: req, &v)
        try v.check()
    }

    /// A `YYYY-MM-DD` day in Asia/Shanghai, as its first instant.
    private static func day(_ req: Request, _ name: String, _ v: inout Validator) -> Date? {
        guard let raw = req.query[String.self, at: name], !raw.isEmpty else { return nil }
        guard let day = try? CalendarDate(parsing: raw) else {
            v.add(name, "format", "error.field.date")
            return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = ShanghaiClock.zone
        return calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day))
    }

    /// The events in the caller's subtree and their own, newest first. Events tied to no
    /// organisation (a sign-in with an unknown username) belong to the whole city.
    func query(_ scope: Scope, on db: any Database) -> QueryBuilder<AuditEvent> {
        var query = AuditEvent.query(on: db).group(.or) { or in
            or.group(.and) { $0.filter(\.$orgPath >= scope.root.value).filter(\.$orgPath < scope.root.upperBound) }
            or.filter(\.$actorID == scope.staffID)
            if scope.root.depth == 0 { or.filter(\.$orgPath == nil) }
        }
        if let action { query = query.filter(\.$action ~~ action) }
        if let actor { query = query.filter(\.$actorUsername == actor.lowercased()) }
        if let targetType { query = query.filter(\.$targetType == targetType) }
        if let targetID { query = query.filter(\.$targetID == targetID) }
        if let from { query = query.filter(\.$occurredAt >= from) }
        if let to { query = query.filter(\.$occurredAt < to) }
        return query.sort(\.$occurredAt, .descending).sort(\.$id, .descending)
    }
}

struct AuditEventDTO: Content {
    let id: Int
    let occurredAt: Date
    let actorId: Int?
    let actorUsername: String?
    let action: String
    let targetType: String?
    let targetId: String?
    let orgId: Int?
    let ip: String?
    let requestId: String?
    let details: [String: String]?

    init(_ event: AuditEvent) {
        id = event.id ?? 0
        occurredAt = event.occurredAt
        actorId = event.actorID
        actorUsername = event.actorUsername
        action = event.action
        targetType = event.targetType
        targetId = event.targetID
        orgId = event.orgID
        ip = event.ip
        requestId = event.requestID
        details = event.details.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
    }
}

/// `GET /api/v1/audit`: the log for those allowed to read it, scoped like everything else.
struct AuditController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("audit", use: list)
    }

    @Sendable func list(req: Request) async throws -> Paged<AuditEventDTO> {
        let scope = try req.scope
        try scope.require(scope.role.readsAudit)
        let filter = try AuditFilter(from: req)
        let paging = filter.paging
        let query = filter.query(scope, on: req.db)
        let total = try await query.count()
        let items = try await query.range(paging.offset..<(paging.offset + paging.per)).all()
        return Paged(items: items.map(AuditEventDTO.init), page: paging.page, per: paging.per, total: total)
    }
}
