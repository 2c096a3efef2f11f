import Fluent
import Vapor

/// `/console`: what waits for the signed-in user (the modules' work tiles) and what they did lately.
struct HomePages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("console", use: home)
    }

    struct HomePage: Encodable {
        let page: PageContext
        let org: OrgRow
        let work: [WorkTileRow]
        let recent: [AuditRow]
    }

    @Sendable func home(req: Request) async throws -> View {
        let scope = try req.scope
        let org = try await scope.org(scope.rootID, on: req.db)
        let work = try await WorkTileRow.rows(for: req)
        let recent = try await AuditEvent.query(on: req.db).filter(\.$actorID == scope.staffID)
            .sort(\.$occurredAt, .descending).sort(\.$id, .descending).limit(8).all()
        return try await req.view.render("console/home", HomePage(
            page: req.pageContext(), org: OrgRow(org, req), work: work, recent: recent.map { AuditRow($0, req) }))
    }
}

/// An organisation as a table row or a detail panel shows it, labels already in the user's language.
struct OrgRow: Encodable {
    let id: Int
    let name: String
    let kind: String
    let kindLabel: String
    let divisionCode: String?
    let creditCode: String?
    let creditWarning: String?
    let foundedOn: String?
    let chairName: String?
    let contactName: String?
    let contactPhone: String?
    let address: String?
    let termEndsOn: String?
    let termExpired: Bool
    var descendants = 0
    var grassroots = 0
    var staff = 0

    init(_ org: Organization, _ req: Request) {
        id = org.id ?? 0
        name = org.name
        kind = org.kind.rawValue
        kindLabel = req.t("org.kind.\(org.kind.rawValue)")
        divisionCode = org.divisionCode.flatMap { $0.isEmpty ? nil : $0 }
        creditCode = org.creditCode.flatMap { $0.isEmpty ? nil : $0 }
        creditWarning = org.creditCodeChecksumFails ? req.t("warning.creditCode.checksum") : nil
        foundedOn = org.foundedOn.flatMap { $0.isEmpty ? nil : $0 }
        chairName = org.chairName.flatMap { $0.isEmpty ? nil : $0 }
        contactName = org.contactName.flatMap { $0.isEmpty ? nil : $0 }
        contactPhone = org.contactPhone.flatMap { $0.isEmpty ? nil : $0 }
        address = org.address.flatMap { $0.isEmpty ? nil : $0 }
        termEndsOn = org.termEndsOn.flatMap { $0.isEmpty ? nil : $0 }
        termExpired = org.termEndsOn.map { $0 < ShanghaiClock.today().description } ?? false
    }
}

struct AuditRow: Encodable {
    let id: Int
    let time: String
    let actor: String
    let action: String
    let actionLabel: String
    let target: String
    let ip: String
    let details: String

    init(_ event: AuditEvent, _ req: Request) {
        id = event.id ?? 0
        time = ShanghaiClock.format(event.occurredAt)
        actor = event.actorUsername ?? "—"
        action = event.action
        let label = req.t("audit.action.\(event.action)")
        actionLabel = label.hasPrefix("audit.action.") ? event.action : label
        target = [event.targetType, event.targetID].compactMap { $0 }.joined(separator: " #")
        ip = event.ip ?? ""
        details = event.details ?? ""
    }
}

extension ShanghaiClock {
    /// `2026-11-21 14:05:09`, Beijing time.
    static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let p = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", p.year!, p.month!, p.day!, p.hour!, p.minute!, p.second!)
    }
}
