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
        /// The organisation picker's search (a name fragment) and its submit button.
        var orgQ: String?
        var findOrg: String?

        var input: StaffInput {
            StaffInput(username: username, password: password, currentPassword: currentPassword, displayName: displayName, role: role,
                       orgId: orgId.flatMap { $0.isEmpty ? nil : Int($0) ?? -1 },
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
        let orgQ: String
        let orgHint: String?
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
        form.orgQ = req.query[String.self, at: "orgQ"]
        form.role = req.query[String.self, at: "role"]
        return try await render(req, form: form, staff: nil, errors: [:], summary: nil)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.content.decode(StaffForm.self)
        // The picker's search without JavaScript: the same form again, with the matches offered.
        if form.findOrg != nil {
            return try await render(req, form: form, staff: nil, errors: [:], summary: nil).encodeResponse(for: req)
        }
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
        if form.findOrg != nil {
            let staff = try await StaffService(request: req).find(id)
            return try await render(req, form: form, staff: staff, errors: [:], summary: nil).encodeResponse(for: req)
        }
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
        let (options, orgQ, hint) = try await orgOptions(req, form: form, scope: scope)
        return try await req.view.render("staff/form", FormPage(
            page: req.pageContext(), editing: staff != nil, id: staff?.id,
            title: staff.map { req.t("staff.edit.title", ["name": $0.displayName]) } ?? req.t("staff.new.title"),
            action: staff.map { "/console/staff/\($0.id!)" } ?? "/console/staff/new",
            form: form, roles: roles, orgs: options, orgQ: orgQ, orgHint: hint,
            locked: staff?.lockState.isLocked(at: Date().timeIntervalSince1970) ?? false,
            isSelf: staff?.id == scope.staffID, errors: errors, summary: summary))
    }

    /// The picker's options: the node chosen so far, then the search's matches in the whole
    /// subtree (any grassroots union included), or without a search the levels just below the
    /// account's node. Matches fit the chosen role.
    private func orgOptions(_ req: Request, form: StaffForm, scope: Scope) async throws -> ([Option], String, String?) {
        var v = Validator()
        let q = v.text(form.orgQ, "orgQ", required: false, max: 50)
        let role = form.role.flatMap(StaffRole.init(rawValue:))
        let chosenID = form.orgId.flatMap { Int($0) }
        var orgs: [Organization] = []
        if let chosenID, let chosen = try? await scope.org(chosenID, on: req.db) { orgs.append(chosen) }
        let found: [Organization]
        if let q {
            found = try await OrgPicker.search(q, kinds: OrgPicker.kinds(for: role), scope: scope, on: req.db)
        } else {
            let root = try await scope.org(scope.rootID, on: req.db)
            found = [root] + OrgOrder.sorted(try await Organization.query(on: req.db).filter(\.$parentID == scope.rootID)
                .sort(\.$id).limit(OrgPicker.limit).all())
        }
        orgs += found.filter { org in !orgs.contains { $0.id == org.id } }
        // A search just run picks its first match; otherwise what was chosen stays chosen.
        let selected = q != nil ? found.first?.id ?? chosenID : chosenID
        let choices = try await OrgPicker.choices(orgs, selected: selected, scope: scope, req: req)
        var options = choices.map { Option(value: String($0.id), label: $0.label, selected: $0.selected) }
        if !choices.contains(where: \.selected) {
            options.insert(Option(value: "", label: req.t("ux.picker.choose"), selected: true), at: 0)
        }
        let hint: String? = if q != nil {
            found.isEmpty ? req.t("ux.picker.none") : found.count >= OrgPicker.limit ? req.t("ux.picker.more") : nil
        } else { nil }
        return (options, q ?? "", hint)
    }
}
