import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Of the appeals received in a period, in the caller's subtree: how many, how many resolved and
/// on time, the worker's satisfaction (4 or 5 of 5), the money recovered; by subject, by unit (the
/// node's children) or by month. Read from the same rows the timeline changes, so they agree.
struct AppealStats {
    let request: Request
    var db: any Database { request.db }

    struct Line: Decodable {
        let k: String
        let received: Int
        let resolved: Int
        let ontime: Int
        let rated: Int
        let satisfied: Int
        let recovered: Int
        /// Not a column of the tallies: filled from the open appeals afterwards.
        var overdue: Int = 0

        enum CodingKeys: String, CodingKey { case k, received, resolved, ontime, rated, satisfied, recovered }
    }

    struct Overdue: Decodable {
        let k: String
        let n: Int
    }

    func report(orgID: Int?, from: CalendarDate, to: CalendarDate, by: String) async throws -> AppealStatsDTO {
        let scope = try request.scope
        try scope.require(scope.role.worksAppeals)
        let root = try await scope.org(orgID ?? scope.rootID, on: db)
        let sql = db as! any SQLDatabase
        let lines: [Line]
        let fromTallies = root.parentID == nil
        if fromTallies {
            // The whole city: the tallies kept per day, subject and district.
            let key: SQLQueryString = switch by {
            case "month": "SUBSTR(day, 1, 7)"
            case "unit": "CAST(district_id AS TEXT)"
            default: "subject_code"
            }
            lines = try await sql.raw("""
                SELECT \(key) AS k, CAST(SUM(received) AS BIGINT) AS received, CAST(SUM(resolved) AS BIGINT) AS resolved,
                  CAST(SUM(on_time) AS BIGINT) AS ontime, CAST(SUM(rated) AS BIGINT) AS rated, CAST(SUM(satisfied) AS BIGINT) AS satisfied,
                  CAST(SUM(recovered_fen) AS BIGINT) AS recovered
                FROM appeal_tallies WHERE day >= \(bind: from.description) AND day <= \(bind: to.description)
                GROUP BY \(key)
                """).all(decoding: Line.self)
        } else {
            // A district or below: the appeals themselves, through the covering index by unit and day.
            let key: SQLQueryString = switch by {
            case "month": "SUBSTR(a.received_on, 1, 7)"
            case "unit": "o.path"
            default: "a.subject_code"
            }
            lines = try await sql.raw("""
                SELECT \(key) AS k, COUNT(*) AS received,
                  CAST(SUM(CASE WHEN a.resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS resolved,
                  CAST(SUM(CASE WHEN a.on_time = \(bind: true) THEN 1 ELSE 0 END) AS BIGINT) AS ontime,
                  CAST(SUM(CASE WHEN a.rating IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS rated,
                  CAST(SUM(CASE WHEN a.rating >= 4 THEN 1 ELSE 0 END) AS BIGINT) AS satisfied,
                  CAST(SUM(a.recovered_fen) AS BIGINT) AS recovered
                FROM appeals a \(by == "unit" ? "JOIN organizations o ON o.id = a.org_id" as SQLQueryString : "")
                WHERE a.org_id IN (SELECT id FROM organizations WHERE path >= \(bind: root.path) AND path < \(bind: root.treePath.upperBound))
                  AND a.received_on >= \(bind: from.description) AND a.received_on <= \(bind: to.description)
                GROUP BY \(key)
                """).all(decoding: Line.self)
        }
        // Still open and past the deadline, by the same key: read from the appeals (the open-and-due
        // index holds only the backlog, a small set even for the city), counted at the moment of asking.
        let running = AppealState.allCases.filter(\.clockRuns).map(\.rawValue)
        let overdueKey: SQLQueryString = switch by {
        case "month": "SUBSTR(a.received_on, 1, 7)"
        case "unit": "o.path"
        default: "a.subject_code"
        }
        let overdueLines = try await sql.raw("""
            SELECT \(overdueKey) AS k, COUNT(*) AS n FROM appeals a JOIN organizations o ON o.id = a.org_id
            WHERE a.state IN (\(SQLList(running.map { SQLBind($0) }))) AND a.due_at < \(bind: Date())
              AND o.path >= \(bind: root.path) AND o.path < \(bind: root.treePath.upperBound)
              AND a.received_on >= \(bind: from.description) AND a.received_on <= \(bind: to.description)
            GROUP BY \(overdueKey)
            """).all(decoding: Overdue.self)
        var rows: [String: Line] = [:]
        var labels: [String: String] = [:]
        var units: [String: Organization] = [:]
        switch by {
        case "unit":
            // Each unit folded into the child of the node it lies under (the tallies are already by district).
            let children = try await Organization.query(on: db).filter(\.$parentID == root.id).all()
            let depth = root.treePath.ids.count
            for l in lines {
                let child = fromTallies ? (Int(l.k) ?? 0) : { let ids = TreePath(l.k).ids; return ids.count > depth ? ids[depth] : (root.id ?? 0) }()
                rows[String(child)] = Self.add(rows[String(child)], l, key: String(child))
            }
            for o in overdueLines {
                let ids = TreePath(o.k).ids
                let child = String(ids.count > depth ? ids[depth] : (root.id ?? 0))
                rows[child, default: Line(k: child, received: 0, resolved: 0, ontime: 0, rated: 0, satisfied: 0, recovered: 0)].overdue += o.n
            }
            for c in children + [root] {
                labels[String(c.id ?? 0)] = c.name
                units[String(c.id ?? 0)] = c
            }
        case "subject":
            for l in lines { rows[l.k] = l }
            for o in overdueLines { rows[o.k, default: Line(k: o.k, received: 0, resolved: 0, ontime: 0, rated: 0, satisfied: 0, recovered: 0)].overdue += o.n }
            for s in try await AppealSubject.query(on: db).all() { labels[s.id ?? ""] = s.name(request.lang) }
        default:
            for l in lines { rows[l.k] = l; labels[l.k] = l.k }
            for o in overdueLines { rows[o.k, default: Line(k: o.k, received: 0, resolved: 0, ontime: 0, rated: 0, satisfied: 0, recovered: 0)].overdue += o.n }
        }
        func dto(_ key: String, _ l: Line?) -> AppealStatsDTO.Row {
            let l = l ?? Line(k: key, received: 0, resolved: 0, ontime: 0, rated: 0, satisfied: 0, recovered: 0)
            // On time ÷ (resolved + still open past the deadline): the backlog counts against the rate,
            // and an appeal resolved late is late.
            let due = l.resolved + l.overdue
            return .init(key: key, label: labels[key] ?? key, received: l.received, resolved: l.resolved, onTime: l.ontime, overdueOpen: l.overdue,
                         onTimeRate: due == 0 ? nil : Self.rate(l.ontime, due), rated: l.rated, satisfied: l.satisfied,
                         satisfaction: l.rated == 0 ? nil : Self.rate(l.satisfied, l.rated), recoveredYuan: l.recovered.yuan)
        }
        // Months in time, units in the one official order (see OrgOrder), subjects by how many.
        let keys = by == "unit" ? OrgOrder.sorted(rows.keys.sorted(), node: { units[$0] })
            : rows.keys.sorted { by == "month" ? $0 < $1 : (rows[$0]?.received ?? 0, $1) > (rows[$1]?.received ?? 0, $0) }
        var total = lines.reduce(nil as Line?) { Self.add($0, $1, key: "total") }
        let overdueTotal = overdueLines.reduce(0) { $0 + $1.n }
        if overdueTotal > 0 {
            if total == nil { total = Line(k: "total", received: 0, resolved: 0, ontime: 0, rated: 0, satisfied: 0, recovered: 0) }
            total?.overdue = overdueTotal
        }
        labels["total"] = request.t("sites.totalRow")
        return AppealStatsDTO(from: from.description, to: to.description, by: by, rows: keys.map { dto($0, rows[$0]) }, total: dto("total", total))
    }

    static func add(_ a: Line?, _ b: Line, key: String) -> Line {
        guard let a else { return Line(k: key, received: b.received, resolved: b.resolved, ontime: b.ontime, rated: b.rated, satisfied: b.satisfied, recovered: b.recovered) }
        return Line(k: key, received: a.received + b.received, resolved: a.resolved + b.resolved, ontime: a.ontime + b.ontime,
                    rated: a.rated + b.rated, satisfied: a.satisfied + b.satisfied, recovered: a.recovered + b.recovered)
    }

    /// A percentage with one decimal.
    static func rate(_ part: Int, _ whole: Int) -> Double { (Double(part) / Double(whole) * 1000).rounded() / 10 }
}
