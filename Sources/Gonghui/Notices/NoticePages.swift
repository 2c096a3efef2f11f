import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The public notice pages (no account): `/notices` lists what stands in notice today, names
/// masked; `/notices/{id}` shows one with a form to object under a real name and phone. The
/// objection holds its entry until the unit answers. Rate-limited per address like every public form.
struct NoticePages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("notices", use: list)
        routes.get("notices", ":id", use: show)
        routes.grouped(AddressLimit("objection")).post("notices", ":id", use: object)
    }

    struct ListPage: Encodable {
        let page: PageContext
        let notices: [PublicNoticeDTO]
    }

    struct Page: Encodable {
        let page: PageContext
        let n: PublicNoticeDTO
        let errors: [String: String]
        let form: [String: String]
        let alert: String?
        let done: Bool
    }

    @Sendable func list(req: Request) async throws -> View {
        try await req.view.render("public/notices", ListPage(page: req.pageContext(), notices: try await NoticeController().list(req: req)))
    }

    @Sendable func show(req: Request) async throws -> View {
        try await render(req, errors: [:], form: [:], alert: nil, done: req.query[String.self, at: "done"] != nil)
    }

    func render(_ req: Request, errors: [String: String], form: [String: String], alert: String?, done: Bool) async throws -> View {
        let n = try await NoticeController().show(req: req)
        return try await req.view.render("public/notice", Page(page: req.pageContext(), n: n, errors: errors, form: form, alert: alert, done: done))
    }

    @Sendable func object(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.formFields()
        do {
            _ = try await PublicNotices.object(noticeID: id, entryID: form["entryId"].flatMap { Int($0) }, name: form["name"], phone: form["phone"],
                                               text: form["text"], on: req.db)
            return req.redirect(to: "/notices/\(id)?done=1")
        } catch let error as AppError where error.status == .unprocessableEntity {
            return try await render(req, errors: req.fieldMessages(error), form: form, alert: req.t("error.invalid.detail"), done: false)
                .encodeResponse(status: error.status, for: req)
        }
    }
}
