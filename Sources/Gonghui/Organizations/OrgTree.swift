import Fluent
import FluentSQL
import GonghuiCore

/// The tree operations that keep `path` and `depth` true: insert under a parent, move a subtree.
enum OrgTree {
    /// Saves `node` under `parent` (nil: the root) and writes its path from the id it was given.
    static func insert(_ node: Organization, under parent: Organization?, on db: any Database) async throws {
        node.parentID = parent?.id
        node.depth = (parent?.depth ?? -1) + 1
        node.path = ""
        try await node.create(on: db)
        let id = try node.requireID()
        node.path = (parent.map { $0.treePath.child(id: id) } ?? .root(id: id)).value
        try await node.save(on: db)
    }

    /// Moves `node` and everything below it under `newParent`, in one statement for the subtree.
    /// (The casts matter: PostgreSQL has no `substr(text, bigint)`, and binds are 64-bit.)
    static func move(_ node: Organization, under newParent: Organization, on db: any Database) async throws {
        let oldPath = node.treePath
        let newPath = newParent.treePath.child(id: try node.requireID())
        let delta = newParent.depth + 1 - node.depth
        try await db.sql.raw("""
            UPDATE organizations
            SET path = \(bind: newPath.value) || substr(path, CAST(\(bind: oldPath.value.count + 1) AS INTEGER)),
                depth = depth + CAST(\(bind: delta) AS INTEGER)
            WHERE path >= \(bind: oldPath.value) AND path < \(bind: oldPath.upperBound)
            """).run()
        node.parentID = newParent.id
        node.path = newPath.value
        node.depth += delta
        try await node.save(on: db)
    }
}

extension QueryBuilder where Model == Organization {
    /// The nodes of the subtree rooted at `path` (the root included).
    func inSubtree(_ path: TreePath) -> Self {
        filter(\.$path >= path.value).filter(\.$path < path.upperBound)
    }
}
