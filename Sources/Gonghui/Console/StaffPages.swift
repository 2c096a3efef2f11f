import Fluent
import GonghuiCore
import Vapor

/// `/console/staff`: the accounts of the user's subtree.
struct StaffPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let staff = routes.grouped("console", "staff")
        staff.get(use: list)
        staff.get("new", use: newForm)
        staff.post("new", use: create)
        staff.get(":id", use: editForm)
        staff.post(":id", use: update)
    }

    struct Row: Encodable {
        let id: Int
        let username: String
        let displayName: String
        let role: String
        let orgName: String
        let orgId: Int
        let state: String
        let stateClass: String
        let lastLogin: String
    }

    struct ListPage: Encodable {
        let page: PageContext
        let rows: [Row]
        let orgName: String?
        let orgId: Int?
        let total: Int
        let prevHref: String?
        let nextHref: String?
        let flash: String?
    }

    @Sendable func list(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.managesAccounts)
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let paging = (try? PageRequest(from: req, defaultPer: 100)) ?? PageRequest(page: 1, per: 100)
        let (items, total) = try await StaffService(request: req).list(orgID: orgID, paging: paging)
        let orgs = try await Organization.query(on: req.db).filter(\.$id ~~ Set(items.map(\.orgID))).all()
        let names = Dictionary(uniqueKeysWithValues: orgs.map { ($0.id!, $0.name) })
        let now = Date().timeIntervalSince1970
        let rows = items.map { s in
            let (state, css) = s.disabledAt != nil ? ("staff.state.disabled", "muted")
                : s.lockState.isLocked(at: now) ? ("staff.state.locked", "warn") : ("staff.state.active", "ok")
            return Row(id: s.id!, username: s.username, displayName: s.displayName, role: req.t("role.\(s.role.rawValue)"),
                       orgName: names[s.orgID] ?? "", orgId: s.orgID, state: req.t(state), stateClass: css,
                       lastLogin: s.lastLoginAt.map(ShanghaiClock.format) ?? "—")
        }
        let base = "/console/staff?" + (orgID.map { "orgId=\($0)&" } ?? "")
        return try await req.view.render("staff/list", ListPage(
            page: req.pageContext(), rows: rows, orgName: orgID.flatMap { id in orgs.first { $0.id == id }?.name },
            orgId: orgID, total: total,
            prevHref: paging.page > 1 ? base + "page=\(paging.page - 1)" : nil,
            nextHref: paging.offset + paging.per < total ? base + "page=\(paging.page + 1)" : nil,
            flash: req.query[String.self, at: "done"].flatMap { ["created", "saved"].contains($0) ? req.t("flash.\($0)") : nil }))
    }

    struct StaffForm: Codable {
        var username: String?
        var displayName: String?
        var password: String?
        var currentPassword: String?
        var role: String?
        var orgId: String?
        var disabled: String?
        var unlock: String?

        var input: StaffInput {
            StaffInput(username: username, password: password, currentPassword: currentPassword, displayName: displayName, role: role,
                       orgId: orgId.flatMap { Int($0) } ?? (orgId == nil ? nil : -1),
                       disabled: disabled.map { $0 == "on" || $0 == "true" } ?? false, unlock: unlock == "on" || unlock == "true")
        }
    }

    struct Option: Encodable { let value: String; let label: String; let selected: Bool }

    struct FormPage: Encodable {
        let page: PageContext
        let editing: Bool
        let id: Int?
        let title: String
        let action: String
        let form: StaffForm
        let roles: [Option]
        let orgs: [Option]
        let locked: Bool
        let isSelf: Bool
        let errors: [String: String]
        let summary: String?
    }

    @Sendable func newForm(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.managesAccounts)
        var v = Validator()
        var form = StaffForm()
        form.orgId = String(req.optionalID("orgId", &v) ?? scope.rootID)
        return try await render(req, form: form, staff: nil, errors: [:], summary: nil)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.content.decode(StaffForm.self)
        do {
            _ = try await StaffService(request: req).create(form.input)
            return req.redirect(to: "/console/staff?done=created")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await render(req, form: form, staff: nil, error: error).encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable func editForm(req: Request) async throws -> View {
        let staff = try await StaffService(request: req).find(try req.idParameter())
        let form = StaffForm(username: staff.username, displayName: staff.displayName, password: nil, currentPassword: nil, role: staff.role.rawValue,
                             orgId: String(staff.orgID), disabled: staff.disabledAt == nil ? nil : "on", unlock: nil)
        return try await render(req, form: form, staff: staff, errors: [:], summary: nil)
    }

    @Sendable func update(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.content.decode(StaffForm.self)
        var input = form.input
        if id == (try req.scope).staffID {
            // One's own form holds no role, node, disabling or unlocking (the page does not show them).
            (input.role, input.orgId, input.disabled, input.unlock) = (nil, nil, nil, nil)
        }
        do {
            _ = try await StaffService(request: req).update(id, input)
            return req.redirect(to: "/console/staff?done=saved")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            let staff = try await StaffService(request: req).find(id)
            return try await render(req, form: form, staff: staff, error: error).encodeResponse(status: error.status, for: req)
        }
    }

    private func render(_ req: Request, form: StaffForm, staff: StaffUser?, error: AppError) async throws -> View {
        return try await render(req, form: form, staff: staff, errors: req.fieldMessages(error),
                                summary: req.t(error.fields.isEmpty ? (error.detailKey ?? error.titleKey) : "error.invalid.detail", error.args))
    }

    private func render(_ req: Request, form: StaffForm, staff: StaffUser?, errors: [String: String], summary: String?) async throws -> View {
        let scope = try req.scope
        let roles = StaffRole.allCases.filter(scope.role.canGrant).map {
            Option(value: $0.rawValue, label: req.t("role.\($0.rawValue)"), selected: $0.rawValue == form.role)
        }
        let orgs = try await scope.orgs(on: req.db).filter(\.$kind ~~ [.city, .district, .street]).sort(\.$path).limit(2000).all()
        var options = orgs.map { o in
            Option(value: String(o.id!), label: String(repeating: "　", count: max(0, o.depth - scope.root.depth)) + o.name,
                   selected: String(o.id!) == form.orgId)
        }
        // A grassroots node chosen elsewhere (a union's page) is offered too.
        if let chosen = form.orgId.flatMap({ Int($0) }), !orgs.contains(where: { $0.id == chosen }),
           let org = try? await scope.org(chosen, on: req.db) {
            options.append(Option(value: String(chosen), label: org.name, selected: true))
        }
        return try await req.view.render("staff/form", FormPage(
            page: req.pageContext(), editing: staff != nil, id: staff?.id,
            title: staff.map { req.t("staff.edit.title", ["name": $0.displayName]) } ?? req.t("staff.new.title"),
            action: staff.map { "/console/staff/\($0.id!)" } ?? "/console/staff/new",
            form: form, roles: roles, orgs: options,
            locked: staff?.lockState.isLocked(at: Date().timeIntervalSince1970) ?? false,
            isSelf: staff?.id == scope.staffID, errors: errors, summary: summary))
    }
}
