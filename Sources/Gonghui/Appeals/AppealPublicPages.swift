import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The worker's phone pages, no account: `/appeal` (tell the union) and `/appeal/follow` (by
/// tracking number and a code to the phone: the replies, then confirm and rate, or reject).
struct AppealPublicPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("appeal", use: form)
        routes.grouped(AddressLimit("appeal")).post("appeal", use: submit)
        routes.get("appeal", "follow", use: followForm)
        routes.grouped(AddressLimit("appealFollow")).post("appeal", "follow", "code", use: followCode)
        routes.grouped(AddressLimit("appealFollow")).post("appeal", "follow", use: follow)
        routes.post("appeal", "follow", "respond", use: respond)
    }

    struct FormPage: Encodable {
        let page: PageContext
        let form: [String: String]
        let errors: [String: String]
        let alert: String?
        let categories: [FormField.Choice]
        let subjects: [FormField.Choice]
        let places: [FormField.Choice]
        let key: String
    }

    static func places(_ req: Request, selected: String?) async throws -> [FormField.Choice] {
        let nodes = OrgOrder.sorted(try await Organization.query(on: req.db).filter(\.$kind ~~ [.district, .street]).sort(\.$path).limit(2000).all())
        return [FormField.Choice(value: "", label: req.t("appeal.placeUnknown"), selected: (selected ?? "").isEmpty)]
            + nodes.map { FormField.Choice(value: String($0.id ?? 0), label: ($0.kind == .street ? "　" : "") + $0.name, selected: String($0.id ?? 0) == selected) }
    }

    func render(_ req: Request, form: [String: String], error: AppError? = nil) async throws -> Response {
        let subjects = try await AppealSubject.query(on: req.db).sort(\.$sortOrder).all()
        let page = FormPage(
            page: req.pageContext(), form: form, errors: error.map { req.fieldMessages($0) } ?? [:],
            alert: error.map { req.t($0.detailKey ?? $0.titleKey, $0.args) },
            categories: AppealCategory.allCases.map { .init(value: $0.rawValue, label: req.t("appeal.category.\($0.rawValue)"), selected: form["category"] == $0.rawValue) },
            subjects: subjects.map { .init(value: $0.id ?? "", label: $0.name(req.lang), selected: form["subject"] == $0.id) },
            places: try await Self.places(req, selected: form["orgId"]), key: form["_key"] ?? UUID().uuidString)
        return try await req.view.render("appeals/form", page).encodeResponse(status: error?.status ?? .ok, for: req)
    }

    @Sendable func form(req: Request) async throws -> Response {
        try await render(req, form: ["category": "request", "subject": "unpaidWages"])
    }

    static func input(_ f: [String: String], channel: String) -> AppealInput {
        var input = AppealInput()
        input.channel = f.text("channel") ?? channel
        input.category = f.text("category")
        input.subject = f.text("subject")
        input.name = f["name"]
        input.phone = f["phone"]
        input.anonymous = f["anonymous"] == "true"
        input.employerName = f["employerName"]
        input.employerCreditCode = f["employerCreditCode"]
        input.orgId = f.int("orgId")
        input.description = f["description"]
        input.peopleAffected = f.int("peopleAffected")
        input.amountYuan = f.double("amountYuan").map { $0.isNaN ? -1 : $0 }
        input.urgency = f.text("urgency")
        return input
    }

    struct DonePage: Encodable {
        let page: PageContext
        let trackingNumber: String
        let dueOn: String
        let orgName: String
    }

    @Sendable func submit(req: Request) async throws -> Response {
        let form = try req.formFields()
        do {
            try await req.limitPerson("appeal", phone: form.text("phone"), idNumber: nil)
            let (a, _) = try await AppealService(request: req).submit(Self.input(form, channel: "web"), idempotencyKey: form.text("_key"))
            let org = try await Organization.find(a.orgID, on: req.db)
            return try await req.view.render("appeals/done", DonePage(page: req.pageContext(), trackingNumber: TrackingNumber.display(a.trackingNumber),
                                                                      dueOn: ShanghaiClock.today(a.dueAt.addingTimeInterval(-1)).description,
                                                                      orgName: org?.name ?? "")).encodeResponse(status: .created, for: req)
        } catch let error as AppError where error.status == .unprocessableEntity {
            return try await render(req, form: form, error: error)
        }
    }

    // MARK: following

    struct FollowPage: Encodable {
        let page: PageContext
        let trackingNumber: String
        let phone: String
        /// Code sent: ask for it.
        let askCode: Bool
        let errors: [String: String]
        let notice: String?
        let view: AppealFollowDTO?
        let stateLabel: String?
        let outcomeLabel: String?
        let replies: [Reply]
        let canRespond: Bool
        /// As the worker was given it: `261203-0005-3`.
        let trackingDisplay: String?
        let dueOn: String?
        let received: String?
    }

    struct Reply: Encodable {
        let at: String
        let label: String
        let text: String
    }

    func renderFollow(_ req: Request, number: String = "", phone: String = "", askCode: Bool = false, error: AppError? = nil,
                      notice: String? = nil, view: AppealFollowDTO? = nil) async throws -> Response {
        let page = FollowPage(
            page: req.pageContext(), trackingNumber: number, phone: phone, askCode: askCode, errors: error.map { req.fieldMessages($0) } ?? [:],
            notice: notice, view: view, stateLabel: view.map { req.t("appeal.state.\($0.state.rawValue)") },
            outcomeLabel: view?.outcome.map { req.t("appeal.outcome.\($0.rawValue)") },
            replies: (view?.replies ?? []).map { Reply(at: MeetingTime.local($0.at), label: req.t("appeal.event.\($0.kind)"), text: $0.text ?? "") },
            canRespond: view?.state == .resolved,
            trackingDisplay: view.map { TrackingNumber.display($0.trackingNumber) },
            dueOn: view.map { ShanghaiClock.today($0.dueAt.addingTimeInterval(-1)).description },
            received: view.map { MeetingTime.local($0.receivedAt) })
        return try await req.view.render("appeals/follow", page).encodeResponse(status: error?.status ?? .ok, for: req)
    }

    @Sendable func followForm(req: Request) async throws -> Response {
        try await renderFollow(req, number: req.query[String.self, at: "n"] ?? "")
    }

    @Sendable func followCode(req: Request) async throws -> Response {
        let f = try req.formFields()
        let input = AppealController.FollowInput(trackingNumber: f["trackingNumber"], phone: f["phone"], code: nil)
        do {
            let (a, phone) = try await AppealController.appeal(req, input)
            try await req.oneTimeCodes.send(to: phone, purpose: .appeal, deliver: a != nil)
            return try await renderFollow(req, number: f["trackingNumber"] ?? "", phone: f["phone"] ?? "", askCode: true, notice: req.t("appeal.codeSent"))
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .tooManyRequests {
            return try await renderFollow(req, number: f["trackingNumber"] ?? "", phone: f["phone"] ?? "", askCode: error.status == .tooManyRequests, error: error,
                                          notice: error.status == .tooManyRequests ? req.refusal(error) : nil)
        }
    }

    @Sendable func follow(req: Request) async throws -> Response {
        let f = try req.formFields()
        let input = AppealController.FollowInput(trackingNumber: f["trackingNumber"], phone: f["phone"], code: f["code"])
        do {
            let (a, phone) = try await AppealController.appeal(req, input)
            try await req.oneTimeCodes.verify(phone, purpose: .appeal, code: input.code)
            guard let a else { throw AppError.invalid([FieldIssue("trackingNumber", "notFound", "appeal.notFound")]) }
            return try await renderFollow(req, view: try await AppealService(request: req).followView(a))
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .tooManyRequests {
            return try await renderFollow(req, number: f["trackingNumber"] ?? "", phone: f["phone"] ?? "", askCode: true, error: error)
        }
    }

    @Sendable func respond(req: Request) async throws -> Response {
        let f = try req.formFields()
        guard let id = AppealService.appealID(fromToken: f["token"], app: req.application), let a = try await Appeal.find(id, on: req.db) else {
            return try await renderFollow(req, error: AppError.invalid([FieldIssue("trackingNumber", "expired", "error.appeal.token")]))
        }
        let service = AppealService(request: req)
        do {
            let updated = try await service.respond(a, accept: f["accept"].map { $0 == "true" }, rating: f.int("rating"), comment: f["comment"])
            return try await renderFollow(req, notice: req.t(updated.state == .closed ? "appeal.thanks" : "appeal.reopenedNotice"), view: try await service.followView(updated))
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await renderFollow(req, error: error, notice: req.refusal(error), view: try await service.followView(a))
        }
    }
}
