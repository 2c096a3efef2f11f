import Fluent
import Foundation
import GonghuiCore
import Vapor

struct PublicNoticeDTO: Content {
    struct Entry: Content {
        let id: Int
        let name: String
        let unit: String
        let summary: String
        let held: Bool
    }

    let id: Int
    let kind: String
    let title: String
    let orgName: String
    let startsOn: String
    let endsOn: String
    let dayRule: String
    let days: Int
    let entries: [Entry]
}

struct ObjectionInput: Content {
    var entryId: Int?
    var name: String?
    var phone: String?
    var text: String?
}

struct ObjectionDTO: Content {
    let id: Int
    let noticeId: Int
    let entryId: Int
    let name: String
    let phoneMasked: String
    let text: String
    let state: String
    let answer: String?
    let createdAt: Date?
}

struct AnswerInput: Content {
    var answer: String?
}

/// `/api/v1/public-notices`: what stands in notice (no account), objections to it, and the owning
/// unit's answers (staff of that unit's tree).
struct NoticeController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let notices = routes.grouped("public-notices")
        notices.get(use: list)
        notices.get(":id", use: show)
        notices.post(":id", "objections", use: object)
    }

    func bootProtected(routes: any RoutesBuilder) {
        let notices = routes.grouped("public-notices", ":id", "objections")
        notices.get(use: objections)
        notices.post(":objectionId", "answer", use: answer)
    }

    static func dto(_ n: PublicNotice, orgName: String, on db: any Database) async throws -> PublicNoticeDTO {
        let entries = try await PublicNoticeEntry.query(on: db).filter(\.$noticeID == n.requireID()).sort(\.$id).all()
        return PublicNoticeDTO(id: try n.requireID(), kind: n.kind, title: n.title, orgName: orgName, startsOn: n.startsOn, endsOn: n.endsOn,
                               dayRule: n.dayRule, days: n.days,
                               entries: entries.map { .init(id: $0.id ?? 0, name: $0.displayName, unit: $0.unitName, summary: $0.summary, held: $0.held) })
    }

    /// Every notice standing today, newest first.
    @Sendable func list(req: Request) async throws -> [PublicNoticeDTO] {
        let today = ShanghaiClock.today().description
        let running = try await PublicNotice.query(on: req.db).filter(\.$endsOn >= today).filter(\.$startsOn <= today)
            .sort(\.$id, .descending).limit(200).all()
        let orgs = try await ApplicationService.orgNames(running.map(\.orgID), on: req.db)
        var out: [PublicNoticeDTO] = []
        for n in running { out.append(try await Self.dto(n, orgName: orgs[n.orgID]?.name ?? "", on: req.db)) }
        return out
    }

    @Sendable func show(req: Request) async throws -> PublicNoticeDTO {
        guard let n = try await PublicNotice.find(try req.idParameter(), on: req.db), n.isRunning(today: ShanghaiClock.today()) else {
            throw AppError.notFound
        }
        return try await Self.dto(n, orgName: try await Organization.find(n.orgID, on: req.db)?.name ?? "", on: req.db)
    }

    @Sendable func object(req: Request) async throws -> Response {
        let input = try req.content.decode(ObjectionInput.self)
        let o = try await PublicNotices.object(noticeID: try req.idParameter(), entryID: input.entryId, name: input.name, phone: input.phone,
                                               text: input.text, on: req.db)
        return try await Self.objectionDTO(o).encodeResponse(status: .created, for: req)
    }

    static func objectionDTO(_ o: PublicNoticeObjection) -> ObjectionDTO {
        ObjectionDTO(id: o.id ?? 0, noticeId: o.noticeID, entryId: o.entryID, name: o.name, phoneMasked: PhoneNumber.mask(o.phone), text: o.text,
                     state: o.state, answer: o.answer, createdAt: o.createdAt)
    }

    /// The notice, if its unit is in the caller's subtree.
    static func scoped(_ req: Request) async throws -> PublicNotice {
        let scope = try req.scope
        guard let n = try await PublicNotice.find(try req.idParameter(), on: req.db) else { throw AppError.notFound }
        _ = try await scope.org(n.orgID, on: req.db)
        return n
    }

    @Sendable func objections(req: Request) async throws -> [ObjectionDTO] {
        let n = try await Self.scoped(req)
        return try await PublicNoticeObjection.query(on: req.db).filter(\.$noticeID == n.requireID()).sort(\.$id).all().map(Self.objectionDTO)
    }

    @Sendable func answer(req: Request) async throws -> ObjectionDTO {
        let n = try await Self.scoped(req)
        let scope = try req.scope
        guard let o = try await PublicNoticeObjection.find(try req.idParameter("objectionId"), on: req.db), o.noticeID == n.id else {
            throw AppError.notFound
        }
        try await PublicNotices.answer(o, text: try req.content.decode(AnswerInput.self).answer, staffID: scope.staffID, on: req.db)
        try await req.audit.record("notice.answer", targetType: "publicNotice", targetID: n.id, details: ["objection": String(o.id ?? 0)])
        return Self.objectionDTO(o)
    }
}

/// Public notices as a module.
enum NoticesModule: AppModule {
    static func configure(_ app: Application) throws {
        app.addMigrations([CreatePublicNotices()])
    }

    static func routes(_ routes: ModuleRoutes) throws {
        try routes.api.register(collection: NoticeController())
        NoticeController().bootProtected(routes: routes.staffAPI)
        try routes.pages.register(collection: NoticePages())
    }
}
