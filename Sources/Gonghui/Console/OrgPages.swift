import Fluent
import GonghuiCore
import Vapor

/// `/console/orgs`: browse the tree with counts, create, edit, move, delete, export.
struct OrgPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let orgs = routes.grouped("console", "orgs")
        orgs.get(use: browse)
        orgs.get("export.csv", use: export)
        orgs.get("new", use: newForm)
        orgs.get("pick", use: OrgPicker.pick)
        orgs.post("new", use: create)
        orgs.get(":id", "edit", use: editForm)
        orgs.post(":id", "edit", use: update)
        orgs.post(":id", "delete", use: delete)
    }

    struct Crumb: Encodable { let id: Int; let name: String }
    struct Option: Encodable { let value: String; let label: String; let selected: Bool }

    struct TreePage: Encodable {
        let page: PageContext
        let node: OrgRow
        let crumbs: [Crumb]
        let children: [OrgRow]
        let counts: OrgDTO.Counts
        let canManage: Bool
        let canEdit: Bool
        let canDelete: Bool
        let q: String
        let pageNumber: Int
        let pages: Int
        let prevHref: String?
        let nextHref: String?
        let flash: String?
        let refusal: String?
    }

    /// One node, its breadcrumbs, and its children with their counts; `q` searches the subtree.
    @Sendable func browse(req: Request) async throws -> View {
        let scope = try req.scope
        var v = Validator()
        let id = req.optionalID("id", &v) ?? scope.rootID
        let q = v.text(req.query[String.self, at: "q"], "q", required: false, max: 50)
        let paging = (try? PageRequest(from: req, defaultPer: 100)) ?? PageRequest(page: 1, per: 100)
        let node = try await scope.org(id, on: req.db)
        let crumbIDs = node.treePath.ids.filter { scope.root.ids.last! == $0 || !scope.root.ids.contains($0) }
        let ancestors = try await Organization.query(on: req.db).filter(\.$id ~~ crumbIDs).all()
        let crumbs = crumbIDs.compactMap { cid in ancestors.first { $0.id == cid } }
            .filter { scope.contains($0.path) }.map { Crumb(id: $0.id!, name: $0.name) }

        var query = Organization.query(on: req.db)
        if let q {
            query = query.inSubtree(node.treePath).filter(\.$name ~~ q).filter(\.$id != id)
        } else {
            query = query.filter(\.$parentID == id)
        }
        let total = try await query.count()
        let children: [Organization]
        if q == nil, node.kind.tier < .street {
            // A city's districts and a district's streets are few: in the official order.
            children = Array(OrgOrder.sorted(try await query.limit(2000).all()).dropFirst(paging.offset).prefix(paging.per))
        } else {
            children = try await query.sort(\.$name).range(paging.offset..<(paging.offset + paging.per)).all()
        }
        let tree = try await OrgCounts.byChild(of: id, on: req.db)
        let staffCounts = try await req.application.orgDependents.all.first { $0.table == StaffUser.schema }?
            .countByChild(req.db, parentID: id) ?? [:]
        let rows = children.map { child -> OrgRow in
            var row = OrgRow(child, req)
            row.descendants = tree[child.id!]?.descendants ?? 0
            row.grassroots = tree[child.id!]?.grassroots ?? 0
            row.staff = staffCounts[child.id!] ?? 0
            return row
        }
        let counts = try await OrgCounts.of(node, on: req.db, dependents: req.application.orgDependents.all)
        let pages = max(1, (total + paging.per - 1) / paging.per)
        func href(_ page: Int) -> String {
            "/console/orgs?id=\(id)&page=\(page)" + (q.map { "&q=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") } ?? "")
        }
        return try await req.view.render("orgs/tree", TreePage(
            page: req.pageContext(), node: OrgRow(node, req), crumbs: crumbs, children: rows, counts: counts,
            canManage: scope.role.managesOrgs && node.kind.holdsUnions,
            canEdit: scope.role.managesOrgs || (scope.role.editsOwnOrg && id == scope.rootID),
            canDelete: scope.role.managesOrgs && id != scope.rootID,
            q: q ?? "", pageNumber: paging.page, pages: pages,
            prevHref: paging.page > 1 ? href(paging.page - 1) : nil,
            nextHref: paging.page < pages ? href(paging.page + 1) : nil,
            flash: req.query[String.self, at: "done"].flatMap { ["created", "saved", "deleted"].contains($0) ? req.t("flash.\($0)") : nil },
            refusal: req.query[String.self, at: "refused"].flatMap { key in
                ["hasChildren", "hasStaff", "hasMembers"].contains(key)
                    ? req.t("error.org.\(key)", ["count": String(req.query[Int.self, at: "count"] ?? 0)]) : nil
            }))
    }

    /// The subtree below a node as a spreadsheet; every export is audited.
    @Sendable func export(req: Request) async throws -> Response {
        let scope = try req.scope
        var v = Validator()
        let id = req.optionalID("id", &v) ?? scope.rootID
        try v.check()
        let node = try await scope.org(id, on: req.db)
        let all = try await Organization.query(on: req.db).inSubtree(node.treePath).sort(\.$path).limit(200_000).all()
        let names = Dictionary(uniqueKeysWithValues: all.map { ($0.id!, $0.name) })
        try await req.audit.record("org.export", targetType: "org", targetID: id, org: node, details: ["rows": String(all.count)])
        let header = ["id", "kind", "name", "parentId", "parentName", "divisionCode", "creditCode", "foundedOn",
                      "chairName", "contactName", "contactPhone", "address", "termEndsOn"].map { req.t("org.field.\($0)") }
        let rows = all.map { o in
            [String(o.id!), req.t("org.kind.\(o.kind.rawValue)"), o.name, o.parentID.map(String.init) ?? "",
             o.parentID.flatMap { names[$0] } ?? "", o.divisionCode ?? "", o.creditCode ?? "", o.foundedOn ?? "",
             o.chairName ?? "", o.contactName ?? "", o.contactPhone ?? "", o.address ?? "", o.termEndsOn ?? ""]
        }
        return CSVExport.response(filename: "\(node.name)-\(ShanghaiClock.today()).csv", header: header, rows: rows)
    }

    // MARK: - forms

    struct OrgForm: Codable {
        var kind: String?
        var name: String?
        var parentId: String?
        var divisionCode: String?
        var creditCode: String?
        var foundedOn: String?
        var chairName: String?
        var contactName: String?
        var contactPhone: String?
        var address: String?
        var termEndsOn: String?

        var input: OrgInput {
            var input = OrgInput()
            input.kind = kind
            input.name = name
            input.parentId = parentId.flatMap { Int($0) }
            input.divisionCode = divisionCode
            input.creditCode = creditCode
            input.foundedOn = foundedOn
            input.chairName = chairName
            input.contactName = contactName
            input.contactPhone = contactPhone
            input.address = address
            input.termEndsOn = termEndsOn
            input.present = Set(OrgInput.CodingKeys.allCases.map(\.rawValue))
            if kind == nil { input.present.remove("kind") }
            if parentId == nil { input.present.remove("parentId") }
            return input
        }

        init(_ org: Organization?) {
            kind = org?.kind.rawValue
            name = org?.name
            parentId = org?.parentID.map(String.init)
            divisionCode = org?.divisionCode
            creditCode = org?.creditCode
            foundedOn = org?.foundedOn
            chairName = org?.chairName
            contactName = org?.contactName
            contactPhone = org?.contactPhone
            address = org?.address
            termEndsOn = org?.termEndsOn
        }
    }

    struct FormPage: Encodable {
        let page: PageContext
        let editing: Bool
        let id: Int?
        let title: String
        let action: String
        let form: OrgForm
        let kinds: [Option]
        let parents: [Option]
        let canMove: Bool
        let canChangeKind: Bool
        let errors: [String: String]
        let summary: String?
    }

    @Sendable func newForm(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.managesOrgs)
        var v = Validator()
        let parentID = req.optionalID("parent", &v) ?? scope.rootID
        let parent = try await scope.org(parentID, on: req.db)
        var form = OrgForm(nil)
        form.parentId = String(parentID)
        form.kind = OrgKind.allCases.first { $0.canSit(under: parent.kind) }?.rawValue
        return try await renderForm(req, form: form, org: nil, errors: [:])
    }

    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.content.decode(OrgForm.self)
        do {
            let org = try await OrgService(request: req).create(form.input)
            return req.redirect(to: "/console/orgs?id=\(org.parentID ?? org.id!)&done=created")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await renderForm(req, form: form, org: nil, error: error).encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable func editForm(req: Request) async throws -> View {
        let org = try await req.scope.org(try req.idParameter(), on: req.db)
        return try await renderForm(req, form: OrgForm(org), org: org, errors: [:])
    }

    @Sendable func update(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.content.decode(OrgForm.self)
        do {
            _ = try await OrgService(request: req).update(id, form.input)
            return req.redirect(to: "/console/orgs?id=\(id)&done=saved")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            let org = try await req.scope.org(id, on: req.db)
            return try await renderForm(req, form: form, org: org, error: error).encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable func delete(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let org = try await req.scope.org(id, on: req.db)
        do {
            try await OrgService(request: req).delete(id)
            return req.redirect(to: "/console/orgs?id=\(org.parentID ?? id)&done=deleted")
        } catch let error as AppError where error.status == .conflict {
            let key = (error.detailKey ?? "").replacingOccurrences(of: "error.org.", with: "")
            return req.redirect(to: "/console/orgs?id=\(id)&refused=\(key)&count=\(error.args["count"] ?? "")")
        }
    }

    private func renderForm(_ req: Request, form: OrgForm, org: Organization?, error: AppError) async throws -> View {
        let errors = req.fieldMessages(error)
        let summary = error.fields.isEmpty ? req.t(error.detailKey ?? error.titleKey, error.args) : req.t("error.invalid.detail")
        return try await renderForm(req, form: form, org: org, errors: errors, summary: summary)
    }

    private func renderForm(_ req: Request, form: OrgForm, org: Organization?, errors: [String: String], summary: String? = nil) async throws -> View {
        let scope = try req.scope
        let isRoot = org?.id == scope.rootID
        // Candidate parents: the federation levels and union federations in scope (bounded).
        let parents = OrgOrder.sorted(try await scope.orgs(on: req.db)
            .filter(\.$kind ~~ [.city, .district, .street, .building, .industry, .community])
            .sort(\.$path).limit(2000).all())
            .filter { p in org.map { !$0.treePath.contains(p.treePath) } ?? true }
        let parentOptions = parents.map { p in
            Option(value: String(p.id!), label: String(repeating: "　", count: max(0, p.depth - scope.root.depth)) + p.name,
                   selected: String(p.id!) == form.parentId)
        }
        let kinds = OrgKind.allCases.map { Option(value: $0.rawValue, label: req.t("org.kind.\($0.rawValue)"), selected: $0.rawValue == form.kind) }
        return try await req.view.render("orgs/form", FormPage(
            page: req.pageContext(), editing: org != nil, id: org?.id,
            title: org.map { req.t("org.edit.title", ["name": $0.name]) } ?? req.t("org.new.title"),
            action: org.map { "/console/orgs/\($0.id!)/edit" } ?? "/console/orgs/new",
            form: form, kinds: kinds, parents: parentOptions,
            canMove: scope.role.managesOrgs && !isRoot, canChangeKind: scope.role.managesOrgs && !isRoot,
            errors: errors, summary: summary))
    }
}
