import Fluent
import GonghuiCore
import Vapor

/// Who is asking and which part of the tree they may see: the one place scope is decided.
/// Every module reads records through `Scope`, so no route has to remember to filter.
struct Scope: Sendable {
    let staffID: Int
    let username: String
    let displayName: String
    let role: StaffRole
    let rootID: Int
    let root: TreePath
    let rootName: String

    func contains(_ path: String) -> Bool { root.contains(TreePath(path)) }

    /// The organisation, if it is inside the scope; otherwise "not found", as if it did not exist.
    func org(_ id: Int, on db: any Database) async throws -> Organization {
        guard let org = try await Organization.query(on: db).filter(\.$id == id).inSubtree(root).first() else {
            throw AppError.notFound
        }
        return org
    }

    func orgs(on db: any Database) -> QueryBuilder<Organization> {
        Organization.query(on: db).inSubtree(root)
    }

    /// Records of another module that belong to an organisation, limited to this subtree.
    func records<M: Model>(_ type: M.Type, orgField: KeyPath<M, FieldProperty<M, Int>>, on db: any Database) -> QueryBuilder<M> {
        M.query(on: db)
            .join(Organization.self, on: orgField == \Organization.$id)
            .filter(Organization.self, \.$path >= root.value)
            .filter(Organization.self, \.$path < root.upperBound)
    }

    func require(_ allowed: Bool) throws {
        if !allowed { throw AppError.forbidden }
    }
}

extension Request {
    private struct ScopeKey: StorageKey { typealias Value = Scope }

    /// The signed-in staff member's scope; 401 when nobody is signed in.
    var scope: Scope {
        get throws {
            guard let scope = storage[ScopeKey.self] else { throw AppError.unauthorized }
            return scope
        }
    }

    var optionalScope: Scope? { storage[ScopeKey.self] }

    func setScope(_ scope: Scope) { storage[ScopeKey.self] = scope }
}

extension QueryBuilder {
    /// Rows whose joined organisation lies in `root`'s subtree (the query joins `Organization` itself).
    func joinedUnder(_ root: Organization) -> Self {
        filter(Organization.self, \.$path >= root.path).filter(Organization.self, \.$path < root.treePath.upperBound)
    }
}
