import Fluent
import GonghuiCore
import FluentSQL
import NIOConcurrencyHelpers
import Vapor

/// Records of other modules that hang on an organisation (staff accounts now, members later).
/// A module registers itself here; the tree counts them per node and refuses to delete a node
/// that still holds any, without the Organizations module knowing their tables.
struct OrgDependent: Sendable {
    /// Column header on the tree page, e.g. `org.counts.staff`.
    let labelKey: String
    /// The 409 message when a node still holds some, with `{count}`.
    let blocksDeleteKey: String
    /// The table and its column that names the organisation.
    let table: String
    let orgColumn: String

    /// How many sit directly on the node.
    func count(_ db: any Database, _ orgID: Int) async throws -> Int {
        let row = try await db.sql.raw("SELECT COUNT(*) AS n FROM \(ident: table) WHERE \(ident: orgColumn) = \(bind: orgID)").first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    /// How many sit in each child's subtree, for the children of `parentID`.
    func countByChild(_ db: any Database, parentID: Int) async throws -> [Int: Int] {
        let rows = try await db.sql.raw("""
            SELECT c.id AS id, COUNT(x.\(ident: orgColumn)) AS n
            FROM organizations c
            JOIN organizations d ON d.path >= c.path AND d.path < c.path || '~'
            JOIN \(ident: table) x ON x.\(ident: orgColumn) = d.id
            WHERE c.parent_id = \(bind: parentID)
            GROUP BY c.id
            """).all()
        return try Dictionary(uniqueKeysWithValues: rows.map { (try $0.decode(column: "id", as: Int.self), try $0.decode(column: "n", as: Int.self)) })
    }

    /// How many sit in the subtree at `path`.
    func countInSubtree(_ db: any Database, path: String) async throws -> Int {
        let row = try await db.sql.raw("""
            SELECT COUNT(*) AS n FROM \(ident: table) x JOIN organizations d ON x.\(ident: orgColumn) = d.id
            WHERE d.path >= \(bind: path) AND d.path < \(bind: path + "~")
            """).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }
}

final class OrgDependents: Sendable {
    private let box = NIOLockedValueBox<[OrgDependent]>([])
    var all: [OrgDependent] { box.withLockedValue { $0 } }
    func register(_ dependent: OrgDependent) { box.withLockedValue { $0.append(dependent) } }
}

extension Application {
    private struct OrgDependentsKey: StorageKey { typealias Value = OrgDependents }

    var orgDependents: OrgDependents {
        if let existing = storage[OrgDependentsKey.self] { return existing }
        let made = OrgDependents()
        storage[OrgDependentsKey.self] = made
        return made
    }
}

/// Counts of the tree itself: how many nodes and grassroots unions under each child.
enum OrgCounts {

    struct Row: Sendable {
        let descendants: Int
        let grassroots: Int
    }

    static func byChild(of parentID: Int, on db: any Database) async throws -> [Int: Row] {
        let rows = try await db.sql.raw("""
            SELECT c.id AS id, COUNT(d.id) - 1 AS descendants,
                   SUM(CASE WHEN d.kind IN ('enterprise','community','building','industry','other') AND d.id <> c.id THEN 1 ELSE 0 END) AS grassroots
            FROM organizations c
            JOIN organizations d ON d.path >= c.path AND d.path < c.path || '~'
            WHERE c.parent_id = \(bind: parentID)
            GROUP BY c.id
            """).all()
        var result: [Int: Row] = [:]
        for row in rows {
            result[try row.decode(column: "id", as: Int.self)] = Row(
                descendants: try row.decode(column: "descendants", as: Int.self),
                grassroots: try row.decode(column: "grassroots", as: Int?.self) ?? 0)
        }
        return result
    }

    static func of(_ org: Organization, on db: any Database, dependents: [OrgDependent]) async throws -> OrgDTO.Counts {
        let path = org.treePath
        let children = try await Organization.query(on: db).filter(\.$parentID == org.id).count()
        let descendants = try await Organization.query(on: db).inSubtree(path).count() - 1
        let grassroots = try await Organization.query(on: db).inSubtree(path)
            .filter(\.$kind ~~ OrgKind.grassrootsKinds).filter(\.$id != (org.id ?? 0)).count()
        let staff = try await dependents.first { $0.table == StaffUser.schema }?.countInSubtree(db, path: path.value) ?? 0
        return .init(children: children, descendants: descendants, grassroots: grassroots, staff: staff)
    }
}
