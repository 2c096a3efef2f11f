import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// How many sites each child of a node has, by type, open and stale: where stations are missing.
struct SiteCoverage {
    let request: Request
    var db: any Database { request.db }

    func report(orgID: Int?) async throws -> SiteCoverageDTO {
        let scope = try request.scope
        let root = try await scope.org(orgID ?? scope.rootID, on: db)
        let children = OrgOrder.sorted(try await Organization.query(on: db).filter(\.$parentID == root.id).sort(\.$id).all())
        let types = try await SiteType.query(on: db).sort(\.$sortOrder).all().compactMap(\.id)
        struct Row: Decodable {
            let type_code: String
            let state: String
            let verified_on: String?
            let path: String
        }
        let rows = try await (db as! any SQLDatabase).raw("""
            SELECT s.type_code, s.state, s.verified_on, o.path FROM sites s JOIN organizations o ON o.id = s.org_id
            WHERE o.path >= \(bind: root.path) AND o.path < \(bind: root.treePath.upperBound) AND s.state <> 'retired'
            """).all(decoding: Row.self)
        let depth = root.treePath.ids.count
        let today = ShanghaiClock.today()
        var counts: [Int: (total: Int, open: Int, stale: Int, byType: [String: Int])] = [:]
        func add(_ key: Int, _ r: Row) {
            var c = counts[key] ?? (0, 0, 0, [:])
            c.total += 1
            if r.state == SiteState.open.rawValue { c.open += 1 }
            if SiteRules.isStale(verifiedOn: r.verified_on.flatMap { try? CalendarDate(parsing: $0) }, today: today) { c.stale += 1 }
            c.byType[r.type_code, default: 0] += 1
            counts[key] = c
        }
        for r in rows {
            let ids = TreePath(r.path).ids
            // Sites kept by the node itself count in a line of their own (key 0).
            add(ids.count > depth ? ids[depth] : 0, r)
            add(-1, r)
        }
        func line(_ id: Int, _ name: String, _ key: Int) -> SiteCoverageDTO.Row {
            let c = counts[key] ?? (0, 0, 0, [:])
            return .init(orgId: id, orgName: name, total: c.total, open: c.open, stale: c.stale, byType: c.byType)
        }
        var lines = children.map { line($0.id ?? 0, $0.name, $0.id ?? 0) }
        if counts[0] != nil { lines.insert(line(root.id ?? 0, root.name, 0), at: 0) }
        return SiteCoverageDTO(orgId: root.id ?? 0, orgName: root.name, types: types, rows: lines, total: line(root.id ?? 0, root.name, -1))
    }
}
