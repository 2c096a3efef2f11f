import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The worker's phone pages, no account: `/join` (apply), `/join/status` (by one-time code) and
/// `/member` (the electronic card, a new number, a transfer).
struct PublicPages: RouteCollection {
    static let memberKey = "member"

    func boot(routes: any RoutesBuilder) throws {
        routes.get("join", use: joinForm)
        routes.grouped(AddressLimit("join")).post("join", use: join)
        routes.get("join", "done", use: joined)
        routes.get("join", "status", use: statusForm)
        routes.grouped(AddressLimit("joinStatus")).post("join", "status", "code", use: statusCode)
        routes.grouped(AddressLimit("joinStatus")).post("join", "status", use: status)
        routes.get("member", use: member)
        routes.grouped(AddressLimit("memberSignIn")).post("member", "code", use: memberCode)
        routes.grouped(AddressLimit("memberSignIn")).post("member", "login", use: memberLogin)
        routes.post("member", "logout", use: memberLogout)
        routes.post("member", "phone", use: memberPhone)
        routes.post("member", "transfer", use: memberTransfer)
    }

    struct JoinForm: Codable {
        var name: String?
        var idNumber: String?
        var phone: String?
        var employerName: String?
        var employerCreditCode: String?
        var orgId: String?
        var meetingId: String?
    }

    struct Choice: Encodable {
        let id: Int
        let name: String
        let selected: Bool
    }

    struct JoinPage: Encodable {
        let page: PageContext
        let form: JoinForm
        let errors: [String: String]
        let alert: String?
        let orgId: Int?
        let orgName: String?
        let meetingId: Int?
        let districts: [Choice]
    }

    func renderJoin(_ req: Request, form: JoinForm, errors: [String: String] = [:], alert: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        let orgID = form.orgId.flatMap { Int($0) }
        let booth = try await orgID.asyncMap { try await Organization.find($0, on: req.db) } ?? nil
        var districts: [Choice] = []
        if booth == nil {
            districts = OrgOrder.sorted(try await Organization.query(on: req.db).filter(\.$kind == .district).all())
                .map { Choice(id: $0.id ?? 0, name: $0.name, selected: $0.id == orgID) }
        }
        let page = JoinPage(page: req.pageContext(), form: form, errors: errors, alert: alert, orgId: booth?.id, orgName: booth?.name,
                            meetingId: form.meetingId.flatMap { Int($0) }, districts: districts)
        return try await req.view.render("public/join", page).encodeResponse(status: status, for: req)
    }

    /// `/join?org=ID&meeting=ID`: the booth's QR code opens it with the union or street filled in.
    @Sendable func joinForm(req: Request) async throws -> Response {
        var form = JoinForm()
        form.orgId = req.query[String.self, at: "org"]
        form.meetingId = req.query[String.self, at: "meeting"]
        return try await renderJoin(req, form: form)
    }

    @Sendable func join(req: Request) async throws -> Response {
        let form = try req.content.decode(JoinForm.self)
        var input = ApplicationInput(name: form.name, idNumber: form.idNumber, phone: form.phone,
                                     employerName: form.employerName, employerCreditCode: form.employerCreditCode)
        var issues: [FieldIssue] = []
        if let raw = form.orgId, !raw.isEmpty {
            if let id = Int(raw) { input.orgId = id } else { issues.append(FieldIssue("orgId", "format")) }
        }
        if let raw = form.meetingId, !raw.isEmpty { input.meetingId = Int(raw) }
        do {
            if !issues.isEmpty { throw AppError.invalid(issues) }
            let application = try await ApplicationService(request: req).submit(input)
            return req.redirect(to: "/join/done?id=\(application.id ?? 0)")
        } catch let error as AppError where error.status == .unprocessableEntity {
            return try await renderJoin(req, form: form, errors: req.fieldMessages(error), status: .unprocessableEntity)
        } catch let error as AppError where error.status == .conflict {
            return try await renderJoin(req, form: form, alert: error.detailKey.map { req.t($0) }, status: .conflict)
        }
    }

    struct Joined: Encodable {
        let page: PageContext
        let id: Int
    }

    @Sendable func joined(req: Request) async throws -> View {
        try await req.view.render("public/joined", Joined(page: req.pageContext(), id: req.query[Int.self, at: "id"] ?? 0))
    }

    struct StatusItem: Encodable {
        let id: Int
        let status: String
        let css: String
        let orgName: String
        let reason: String?
        let card: String?
        let createdAt: String
    }

    struct StatusPage: Encodable {
        let page: PageContext
        let phone: String
        let askCode: Bool
        let action: String
        let errors: [String: String]
        let alert: String?
        let notice: String?
        let items: [StatusItem]?
    }

    struct PhoneForm: Codable {
        var phone: String?
        var code: String?
        var toOrgId: String?
        var reason: String?
    }

    @Sendable func statusForm(req: Request) async throws -> View {
        try await req.view.render("public/status", StatusPage(page: req.pageContext(), phone: "", askCode: false, action: "/join/status/code",
                                                             errors: [:], alert: nil, notice: nil, items: nil))
    }

    @Sendable func statusCode(req: Request) async throws -> Response {
        let form = try req.content.decode(PhoneForm.self)
        do {
            let phone = try ApplicationController.phone(form.phone)
            let applied = try await MemberApplication.query(on: req.db).filter(\.$phone == phone.value).first() != nil
            try await req.oneTimeCodes.send(to: phone, purpose: .status, deliver: applied)
            return try await req.view.render("public/status", StatusPage(page: req.pageContext(), phone: phone.value, askCode: true, action: "/join/status",
                                                                        errors: [:], alert: nil, notice: req.t("otp.sent"), items: nil)).encodeResponse(for: req)
        } catch let error as AppError {
            return try await req.view.render("public/status", StatusPage(page: req.pageContext(), phone: form.phone ?? "", askCode: false, action: "/join/status/code",
                                                                        errors: req.fieldMessages(error), alert: error.fields.isEmpty ? error.detailKey.map { req.t($0, error.args) } : nil,
                                                                        notice: nil, items: nil)).encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable func status(req: Request) async throws -> Response {
        let form = try req.content.decode(PhoneForm.self)
        do {
            let phone = try ApplicationController.phone(form.phone)
            try await req.oneTimeCodes.verify(phone, purpose: .status, code: form.code)
            let items = try await ApplicationService.statusFor(phone: phone, on: req.db).map { a in
                StatusItem(id: a.id, status: req.t("application.status.\(a.status.rawValue)"),
                           css: a.status == .approved ? "ok" : a.status == .rejected ? "" : "warn", orgName: a.orgName ?? "",
                           reason: a.reason, card: a.cardNumber.flatMap { try? CardNumber(parsing: $0) }?.grouped,
                           createdAt: a.createdAt.map(ShanghaiClock.format) ?? "")
            }
            return try await req.view.render("public/status", StatusPage(page: req.pageContext(), phone: phone.value, askCode: false, action: "",
                                                                        errors: [:], alert: nil, notice: nil, items: items)).encodeResponse(for: req)
        } catch let error as AppError {
            return try await req.view.render("public/status", StatusPage(page: req.pageContext(), phone: form.phone ?? "", askCode: true, action: "/join/status",
                                                                        errors: req.fieldMessages(error), alert: error.fields.isEmpty ? error.detailKey.map { req.t($0, error.args) } : nil,
                                                                        notice: nil, items: nil)).encodeResponse(status: error.status, for: req)
        }
    }

    // MARK: the member's own pages

    struct MemberPage: Encodable {
        let page: PageContext
        let card: MemberCardDTO?
        let cardState: String?
        let phone: String
        let askCode: Bool
        let action: String
        let errors: [String: String]
        let alert: String?
        let notice: String?
        let newPhone: String
        let askPhoneCode: Bool
        let unionQuery: String
        let unions: [UnionDTO]?
        let transfers: [TransferRow]
    }

    struct TransferRow: Encodable {
        let toOrgName: String
        let status: String
    }

    func signedIn(_ req: Request) async throws -> Member? {
        guard let raw = req.session.data[Self.memberKey], let id = Int(raw),
              let member = try await Member.find(id, on: req.db), member.status == .active else { return nil }
        return member
    }

    func renderMember(_ req: Request, _ member: Member?, phone: String = "", askCode: Bool = false, errors: [String: String] = [:],
                      alert: String? = nil, notice: String? = nil, newPhone: String = "", askPhoneCode: Bool = false,
                      status: HTTPStatus = .ok) async throws -> Response {
        var card: MemberCardDTO?
        var unions: [UnionDTO]?
        var transfers: [TransferRow] = []
        let unionQuery = Normalize.singleLine(req.query[String.self, at: "union"] ?? "")
        if let member {
            card = try await MemberAuth.card(member, on: req.db)
            if !unionQuery.isEmpty {
                unions = try await UnionSearch.byName(unionQuery, excluding: member.orgID, limit: 30, on: req.db)
            }
            for transfer in try await MemberTransfer.query(on: req.db).filter(\.$memberID == (member.id ?? 0)).sort(\.$id, .descending).limit(5).all() {
                let dto = try await Transfers.dto(transfer, on: req.db)
                transfers.append(TransferRow(toOrgName: dto.toOrgName ?? "", status: req.t("transfer.status.\(dto.status.rawValue)")))
            }
        }
        let page = MemberPage(page: req.pageContext(), card: card, cardState: card.map { req.t("member.card.\($0.cardState.rawValue)") },
                              phone: phone, askCode: askCode, action: askCode ? "/member/login" : "/member/code", errors: errors, alert: alert,
                              notice: notice, newPhone: newPhone, askPhoneCode: askPhoneCode, unionQuery: unionQuery, unions: unions, transfers: transfers)
        return try await req.view.render("public/member", page).encodeResponse(status: status, for: req)
    }

    func problem(_ req: Request, _ error: AppError) -> (errors: [String: String], alert: String?) {
        (req.fieldMessages(error), error.fields.isEmpty ? error.detailKey.map { req.t($0, error.args) } ?? req.t(error.titleKey) : nil)
    }

    @Sendable func member(req: Request) async throws -> Response {
        try await renderMember(req, try await signedIn(req))
    }

    @Sendable func memberCode(req: Request) async throws -> Response {
        let form = try req.content.decode(PhoneForm.self)
        do {
            let phone = try ApplicationController.phone(form.phone)
            try await MemberAuth.sendSignInCode(phone, on: req)
            return try await renderMember(req, nil, phone: phone.value, askCode: true, notice: req.t("otp.sent"))
        } catch let error as AppError {
            let (errors, alert) = problem(req, error)
            return try await renderMember(req, nil, phone: form.phone ?? "", errors: errors, alert: alert, status: error.status)
        }
    }

    @Sendable func memberLogin(req: Request) async throws -> Response {
        let form = try req.content.decode(PhoneForm.self)
        do {
            let phone = try ApplicationController.phone(form.phone)
            let member = try await MemberAuth.signIn(phone, code: form.code, on: req)
            try await req.renewSession()
            req.session.data[Self.memberKey] = String(try member.requireID())
            return req.redirect(to: "/member")
        } catch let error as AppError {
            let (errors, alert) = problem(req, error)
            return try await renderMember(req, nil, phone: form.phone ?? "", askCode: true, errors: errors, alert: alert, status: error.status)
        }
    }

    @Sendable func memberLogout(req: Request) async throws -> Response {
        req.session.data[Self.memberKey] = nil
        return req.redirect(to: "/member")
    }

    @Sendable func memberPhone(req: Request) async throws -> Response {
        guard let member = try await signedIn(req) else { return req.redirect(to: "/member") }
        let form = try req.content.decode(PhoneForm.self)
        do {
            let phone = try ApplicationController.phone(form.phone)
            if let code = form.code, !code.isEmpty {
                try await MemberAuth.changePhone(member, to: phone, code: code, on: req)
                return try await renderMember(req, member, notice: req.t("flash.saved"))
            }
            try await req.oneTimeCodes.send(to: phone, purpose: .changePhone)
            return try await renderMember(req, member, notice: req.t("otp.sent"), newPhone: phone.value, askPhoneCode: true)
        } catch let error as AppError {
            let (errors, alert) = problem(req, error)
            return try await renderMember(req, member, errors: errors, alert: alert, newPhone: form.phone ?? "",
                                          askPhoneCode: form.code != nil, status: error.status)
        }
    }

    @Sendable func memberTransfer(req: Request) async throws -> Response {
        guard let member = try await signedIn(req) else { return req.redirect(to: "/member") }
        let form = try req.content.decode(PhoneForm.self)
        do {
            let input = TransferInput(toOrgId: form.toOrgId.flatMap { Int($0) }, reason: form.reason)
            _ = try await Transfers.request(member: member, input: input, by: "member", staffID: nil, on: req)
            return try await renderMember(req, member, notice: req.t("member.self.transferAsked"))
        } catch let error as AppError {
            let (errors, alert) = problem(req, error)
            return try await renderMember(req, member, errors: errors, alert: alert, status: error.status)
        }
    }
}
