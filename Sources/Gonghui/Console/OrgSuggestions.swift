import Fluent
import GonghuiCore
import Vapor

/// The console's search picker for an organisation: instead of a select of every union or street in
/// scope (400 options at city scope, copied into every booth card), a text field that asks
/// `/console/org-suggestions` as one types (`Public/js/picker.js`). The page renders only the value
/// already chosen, so a form works as before when nothing is changed.
///
/// `GET /console/org-suggestions?kind=unions|places&under=ID&q=TEXT`: up to 20 nodes of the caller's
/// subtree (below `under` when given) whose name holds the text; unions are the grassroots kinds,
/// places the city, districts and streets.
struct OrgSuggestions: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("console", "org-suggestions", use: suggest)
    }

    enum Kind: String, CaseIterable, Sendable {
        case unions, places

        var kinds: [OrgKind] { self == .unions ? OrgKind.grassrootsKinds : [.city, .district, .street] }
    }

    struct Suggestion: Content {
        let id: Int
        let name: String
        /// The node above it, to tell apart two unions of one name.
        let parent: String?
    }

    struct Suggestions: Content {
        let items: [Suggestion]
    }

    static let limit = 20

    @Sendable func suggest(req: Request) async throws -> Suggestions {
        let scope = try req.scope
        var v = Validator()
        let kind: Kind = EnterpriseService.choice(req, "kind", &v) ?? .unions
        let under = req.optionalID("under", &v)
        let q = v.text(req.query[String.self, at: "q"], "q", required: false, max: 50) ?? ""
        try v.check()
        let root = try await scope.org(under ?? scope.rootID, on: req.db)
        return Suggestions(items: try await Self.find(q, kind: kind, under: root, on: req.db))
    }

    static func find(_ q: String, kind: Kind, under root: Organization, on db: any Database) async throws -> [Suggestion] {
        var query = Organization.query(on: db).inSubtree(root.treePath).filter(\.$kind ~~ kind.kinds)
        if !q.isEmpty { query = query.filter(\.$name ~~ q) }
        let rows = try await query.sort(kind == .places ? \.$path : \.$name).limit(limit).all()
        let parents = try await ApplicationService.orgNames(rows.compactMap(\.parentID), on: db)
        return rows.map { Suggestion(id: $0.id ?? 0, name: $0.name, parent: $0.parentID.flatMap { parents[$0]?.name }) }
    }
}

extension OrgSuggestions {
    /// A small scope keeps a plain list in the picker's `<select>`; past this many candidates the
    /// select holds only the one already chosen, and the script searches the rest.
    static let listed = 20

    /// What a picker's `<select>` starts with: every candidate when there are at most `listed`, else
    /// the one already chosen; with `matching` (a search sent without JavaScript), up to 50 whose
    /// name holds it. The chosen one is always there, if it is in the subtree and of the kind.
    static func choices(_ kind: Kind, under root: Organization, selected: Int?, matching: String? = nil,
                        excluding: Int? = nil, on db: any Database) async throws -> [Suggestion] {
        var query = Organization.query(on: db).inSubtree(root.treePath).filter(\.$kind ~~ kind.kinds)
        if let excluding { query = query.filter(\.$id != excluding) }
        let searching = !(matching ?? "").isEmpty
        if let matching, searching { query = query.filter(\.$name ~~ matching) }
        var rows = try await query.sort(kind == .places ? \.$path : \.$name).limit(searching ? 50 : listed + 1).all()
        if !searching, rows.count > listed { rows = [] }
        if let selected, !rows.contains(where: { $0.id == selected }),
           let chosen = try await Organization.query(on: db).inSubtree(root.treePath).filter(\.$id == selected)
               .filter(\.$kind ~~ kind.kinds).first() {
            rows.insert(chosen, at: 0)
        }
        // Places read as the tree, in the one official order (see OrgOrder); unions by name.
        if kind == .places { rows = OrgOrder.sorted(rows) }
        return rows.map { Suggestion(id: $0.id ?? 0, name: ($0.kind == .street && kind == .places ? "　" : "") + $0.name, parent: nil) }
    }
}
