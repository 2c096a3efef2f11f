import Fluent
import GonghuiCore
import Vapor

/// Finding any node of the caller's subtree by name, for the console's organisation pickers: the
/// staff form's, and whatever else must reach 56,000 grassroots unions without a capped list.
/// Pages render the matches into a `<select>` after a plain search submit; `/js/orgpick.js`
/// refreshes them from `GET /console/orgs/pick` while the user types.
enum OrgPicker {
    /// One match: the node, and the units above it (below the caller's root) so that two unions
    /// of the same name can be told apart.
    struct Choice: Content {
        let id: Int
        let name: String
        let kind: String
        let context: String
        let selected: Bool

        /// What a `<select>` shows.
        var label: String { context.isEmpty ? name : name + " · " + context }
    }

    static let limit = 30

    /// Nodes whose name contains `q` in the subtree, of `kinds` when given, nearest the root first.
    static func search(_ q: String, kinds: [OrgKind]?, scope: Scope, on db: any Database) async throws -> [Organization] {
        var query = scope.orgs(on: db).filter(\.$name ~~ q)
        if let kinds { query = query.filter(\.$kind ~~ kinds) }
        return try await query.sort(\.$depth).sort(\.$name).limit(limit).all()
    }

    /// The kinds an account of `role` may sit at (nil: any).
    static func kinds(for role: StaffRole?) -> [OrgKind]? {
        role.map { role in OrgKind.allCases.filter { role.fits($0) } }
    }

    /// The nodes as choices, their ancestors named, `selected` marked.
    static func choices(_ orgs: [Organization], selected: Int?, scope: Scope, req: Request) async throws -> [Choice] {
        let rootIDs = Set(scope.root.ids)
        let ancestorIDs = Set(orgs.flatMap { $0.treePath.ids.dropLast() }).subtracting(rootIDs)
        let ancestors = ancestorIDs.isEmpty ? [] : try await Organization.query(on: req.db).filter(\.$id ~~ ancestorIDs).all()
        let names = Dictionary(uniqueKeysWithValues: ancestors.map { ($0.id ?? 0, $0.name) })
        return orgs.map { org in
            let context = org.treePath.ids.dropLast().compactMap { names[$0] }.joined(separator: " › ")
            return Choice(id: org.id ?? 0, name: org.name, kind: req.t("org.kind.\(org.kind.rawValue)"),
                          context: context, selected: org.id == selected)
        }
    }

    struct Matches: Content {
        let q: String
        let items: [Choice]
        /// True when more nodes match than are listed: the user should type more.
        let more: Bool
    }

    /// `GET /console/orgs/pick?q=&role=`: the picker's matches as JSON, scoped to the caller.
    @Sendable static func pick(req: Request) async throws -> Matches {
        let scope = try req.scope
        var v = Validator()
        let q = v.text(req.query[String.self, at: "q"], "q", required: true, max: 50)
        var role: StaffRole?
        if let raw = req.query[String.self, at: "role"], !raw.isEmpty {
            role = StaffRole(rawValue: raw)
            if role == nil {
                v.add("role", "unknown", "error.field.oneOf", ["values": StaffRole.allCases.map(\.rawValue).joined(separator: ", ")])
            }
        }
        try v.check()
        let found = try await search(q ?? "", kinds: kinds(for: role), scope: scope, on: req.db)
        return Matches(q: q ?? "", items: try await choices(found, selected: nil, scope: scope, req: req), more: found.count >= limit)
    }
}
