import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// The figures the seeds report (meetings held, consultations, applications on site, member records
/// collected, enterprises reached, of which without a union, intents, unions founded) by street,
/// district or month; and the planning calendar of weekly meetings and monthly days.
struct OutreachStats {
    let request: Request
    var db: any Database { request.db }

    enum GroupBy: String, CaseIterable, Codable, Sendable { case street, district, month }

    struct Figures: Content, Equatable {
        var workerMeetings = 0
        var enterpriseMeetings = 0
        var consultations = 0
        var applications = 0
        var approved = 0
        var recordsCollected = 0
        var enterprisesReached = 0
        var withoutUnion = 0
        var intents = 0
        var unionsFounded = 0

        mutating func add(_ o: Figures) {
            workerMeetings += o.workerMeetings
            enterpriseMeetings += o.enterpriseMeetings
            consultations += o.consultations
            applications += o.applications
            approved += o.approved
            recordsCollected += o.recordsCollected
            enterprisesReached += o.enterprisesReached
            withoutUnion += o.withoutUnion
            intents += o.intents
            unionsFounded += o.unionsFounded
        }

        static let columns = ["workerMeetings", "enterpriseMeetings", "consultations", "applications", "approved", "recordsCollected",
                              "enterprisesReached", "withoutUnion", "intents", "unionsFounded"]
        var values: [Int] { [workerMeetings, enterpriseMeetings, consultations, applications, approved, recordsCollected,
                             enterprisesReached, withoutUnion, intents, unionsFounded] }
    }

    struct Row: Content {
        let key: String
        let label: String
        let orgId: Int?
        let figures: Figures
    }

    struct Report: Content {
        let orgId: Int
        let orgName: String
        let from: String
        let to: String
        let by: GroupBy
        let totals: Figures
        let rows: [Row]
    }

    func report(orgID: Int?, from: CalendarDate, to: CalendarDate, by: GroupBy) async throws -> Report {
        let scope = try request.scope
        try scope.require(scope.role.readsLedger)
        let root = try await scope.org(orgID ?? scope.rootID, on: db)
        let lower = root.path, upper = root.treePath.upperBound
        let (f, t) = (from.description, to.description)
        var cells: [Pair: Figures] = [:]
        // Grouped in SQL at the level the report shows: by the organiser (rolled up to its district or
        // street below) or by month, not by both (a city's year is 4,700 organiser-months, 360 organisers).
        let byMonth = by == .month
        let org: SQLQueryString = byMonth ? "0" : "m.org_id"
        let mon: SQLQueryString = byMonth ? "substr(m.held_on, 1, 7)" : "''"
        let key: SQLQueryString = byMonth ? mon : org
        let electionKey = byMonth ? "substr(u.held_on, 1, 7)" : "e.org_id"

        for row in try await db.sql.raw("""
            SELECT \(org) AS org, \(mon) AS mon, m.kind AS kind, COUNT(*) AS n,
                   CAST(SUM(m.consultations) AS BIGINT) AS c, CAST(SUM(m.records_collected) AS BIGINT) AS r
            FROM meetings m JOIN organizations o ON o.id = m.org_id
            WHERE o.path >= \(bind: lower) AND o.path < \(bind: upper) AND m.held_on >= \(bind: f) AND m.held_on <= \(bind: t)
            GROUP BY \(key), m.kind
            """).all() {
            let key = Pair(org: try row.decode(column: "org", as: Int.self), month: try row.decode(column: "mon", as: String.self))
            let n = try row.decode(column: "n", as: Int.self)
            if try row.decode(column: "kind", as: String.self) == MeetingKind.worker.rawValue { cells[key, default: .init()].workerMeetings += n } else {
                cells[key, default: .init()].enterpriseMeetings += n
            }
            cells[key, default: .init()].consultations += try row.decode(column: "c", as: Int?.self) ?? 0
            cells[key, default: .init()].recordsCollected += try row.decode(column: "r", as: Int?.self) ?? 0
        }
        for row in try await db.sql.raw("""
            SELECT \(org) AS org, \(mon) AS mon, COUNT(a.id) AS n,
                   SUM(CASE WHEN a.status = 'approved' THEN 1 ELSE 0 END) AS ok
            FROM member_applications a JOIN meetings m ON m.id = a.meeting_id JOIN organizations o ON o.id = m.org_id
            WHERE o.path >= \(bind: lower) AND o.path < \(bind: upper) AND m.held_on >= \(bind: f) AND m.held_on <= \(bind: t)
            GROUP BY \(key)
            """).all() {
            let key = Pair(org: try row.decode(column: "org", as: Int.self), month: try row.decode(column: "mon", as: String.self))
            cells[key, default: .init()].applications += try row.decode(column: "n", as: Int.self)
            cells[key, default: .init()].approved += try row.decode(column: "ok", as: Int?.self) ?? 0
        }
        let covered = UnionStatus.coveredStatuses.map { "'\($0.rawValue)'" }.joined(separator: ",")
        for row in try await db.sql.raw("""
            SELECT \(org) AS org, \(mon) AS mon, COUNT(*) AS n,
                   SUM(CASE WHEN v.status_before NOT IN (\(unsafeRaw: covered)) THEN 1 ELSE 0 END) AS without,
                   SUM(CASE WHEN v.outcome = 'intent' THEN 1 ELSE 0 END) AS intents
            FROM meeting_enterprises v JOIN meetings m ON m.id = v.meeting_id JOIN organizations o ON o.id = m.org_id
            WHERE o.path >= \(bind: lower) AND o.path < \(bind: upper) AND m.held_on >= \(bind: f) AND m.held_on <= \(bind: t)
            GROUP BY \(key)
            """).all() {
            let key = Pair(org: try row.decode(column: "org", as: Int.self), month: try row.decode(column: "mon", as: String.self))
            cells[key, default: .init()].enterprisesReached += try row.decode(column: "n", as: Int.self)
            cells[key, default: .init()].withoutUnion += try row.decode(column: "without", as: Int?.self) ?? 0
            cells[key, default: .init()].intents += try row.decode(column: "intents", as: Int?.self) ?? 0
        }
        for row in try await db.sql.raw("""
            SELECT \(unsafeRaw: byMonth ? "0" : "e.org_id") AS org, \(unsafeRaw: byMonth ? "substr(u.held_on, 1, 7)" : "''") AS mon, COUNT(*) AS n
            FROM union_elections u JOIN enterprises e ON e.id = u.enterprise_id JOIN organizations o ON o.id = e.org_id
            WHERE o.path >= \(bind: lower) AND o.path < \(bind: upper) AND u.held_on >= \(bind: f) AND u.held_on <= \(bind: t)
            GROUP BY \(unsafeRaw: electionKey)
            """).all() {
            let key = Pair(org: try row.decode(column: "org", as: Int.self), month: try row.decode(column: "mon", as: String.self))
            cells[key, default: .init()].unionsFounded += try row.decode(column: "n", as: Int.self)
        }

        // Roll the cells up by street, district or month.
        let orgs = byMonth ? [:] : try await Self.nodes(cells.keys.map(\.org), on: db)
        var ancestorIDs = Set<Int>()
        for org in orgs.values { ancestorIDs.formUnion(org.treePath.ids) }
        let ancestors = try await Self.nodes(Array(ancestorIDs), on: db)
        var grouped: [String: (label: String, orgId: Int?, figures: Figures)] = [:]
        var totals = Figures()
        for (pair, figures) in cells {
            totals.add(figures)
            let key: String, label: String, orgId: Int?
            switch by {
            case .month:
                (key, label, orgId) = (pair.month, pair.month, nil)
            case .district, .street:
                let ids = orgs[pair.org]?.treePath.ids ?? []
                let depth = by == .district ? 1 : 2
                if ids.count > depth, let node = ancestors[ids[depth]] {
                    (key, label, orgId) = (String(ids[depth]), node.name, ids[depth])
                } else {
                    // A meeting the district (or the city) held itself.
                    let node = orgs[pair.org]
                    (key, label, orgId) = (String(pair.org), (node?.name ?? "") + request.t("stats.ownLevel"), pair.org)
                }
            }
            grouped[key, default: (label, orgId, Figures())].figures.add(figures)
        }
        let unsorted = grouped.map { Row(key: $0.key, label: $0.value.label, orgId: $0.value.orgId, figures: $0.value.figures) }
        // Months in time; districts and streets in the one official order (see OrgOrder).
        let rows = by == .month ? unsorted.sorted { $0.key < $1.key }
            : OrgOrder.sorted(unsorted, node: { $0.orgId.flatMap { ancestors[$0] ?? orgs[$0] } }, ancestors: Array(ancestors.values))
        return Report(orgId: try root.requireID(), orgName: root.name, from: f, to: t, by: by, totals: totals, rows: rows)
    }

    struct Node: OrderedNode {
        let id: Int?
        let name: String
        let treePath: TreePath
        let divisionCode: String?
    }

    /// Names and paths only: the whole organisation models of a city's 360 organisers and their
    /// districts were a quarter of the page's time.
    static func nodes(_ ids: [Int], on db: any Database) async throws -> [Int: Node] {
        let unique = Array(Set(ids))
        guard !unique.isEmpty else { return [:] }
        var found: [Int: Node] = [:]
        for start in stride(from: 0, to: unique.count, by: 500) {
            let chunk = Array(unique[start..<min(start + 500, unique.count)])
            for row in try await db.sql.raw("SELECT id, name, path, division_code FROM organizations WHERE id IN (\(binds: chunk))").all() {
                let id = try row.decode(column: "id", as: Int.self)
                found[id] = Node(id: id, name: try row.decode(column: "name", as: String.self),
                                 treePath: TreePath(try row.decode(column: "path", as: String.self)),
                                 divisionCode: try row.decode(column: "division_code", as: String?.self))
            }
        }
        return found
    }

    private struct Pair: Hashable {
        let org: Int
        let month: String
    }

    // MARK: the planning calendar

    struct PlanCalendar: Content {
        struct Week: Content {
            let weekStart: String
            let held: Int
            /// held, planned (a meeting set for later), missing (past and none), open (not yet past, none yet)
            let state: String
        }

        struct StreetRow: Content {
            let orgId: Int
            let name: String
            let weeks: [Week]
            let missing: Int
        }

        struct DistrictRow: Content {
            let orgId: Int
            let name: String
            let held: Int
            let state: String
        }

        let month: String
        let weekStarts: [String]
        let streets: [StreetRow]
        let districts: [DistrictRow]
        let missingWeeks: Int
        let missingDays: Int
    }

    func calendar(orgID: Int?, year: Int, month: Int) async throws -> PlanCalendar {
        let scope = try request.scope
        try scope.require(scope.role.readsLedger)
        let root = try await scope.org(orgID ?? scope.rootID, on: db)
        let weeks = MeetingCalendar.weekStarts(year: year, month: month)
        let first = try CalendarDate(year: year, month: month, day: 1)
        let last = try CalendarDate(year: year, month: month, day: CalendarDate.daysIn(month: month, year: year))
        let rangeStart = min(first, weeks.first ?? first)
        let rangeEnd = max(last, (weeks.last ?? last).adding(days: 6))
        let nodes = OrgOrder.sorted(try await Organization.query(on: db).inSubtree(root.treePath).filter(\.$kind ~~ [.district, .street])
            .sort(\.$path).limit(2000).all())
        let meetings = try await scope.records(Meeting.self, orgField: \.$orgID, on: db).joinedUnder(root)
            .filter(\.$kind == .worker).filter(\.$heldOn >= rangeStart.description).filter(\.$heldOn <= rangeEnd.description)
            .all()
        let today = ShanghaiClock.today()
        var byOrg: [Int: [CalendarDate]] = [:]
        for m in meetings { if let d = try? CalendarDate(parsing: m.heldOn) { byOrg[m.orgID, default: []].append(d) } }
        var streets: [PlanCalendar.StreetRow] = []
        var districts: [PlanCalendar.DistrictRow] = []
        var missingWeeks = 0, missingDays = 0
        for node in nodes {
            let id = node.id ?? 0
            let dates = byOrg[id] ?? []
            if node.kind == .street {
                let held = MeetingCalendar.weeksCovered(year: year, month: month, meetings: dates)
                let cells = held.map { week, n -> PlanCalendar.Week in
                    let past = week.adding(days: 6) < today
                    let planned = dates.contains { MeetingCalendar.weekStart(of: $0) == week && $0 >= today }
                    let state = n == 0 ? (past ? "missing" : "open") : (planned ? "planned" : "held")
                    return .init(weekStart: week.description, held: n, state: state)
                }
                let missing = cells.filter { $0.state == "missing" }.count
                missingWeeks += missing
                streets.append(.init(orgId: id, name: node.name, weeks: cells, missing: missing))
            } else {
                let inMonth = dates.filter { $0 >= first && $0 <= last }
                let state = inMonth.isEmpty ? (last < today ? "missing" : "open") : (inMonth.contains { $0 >= today } ? "planned" : "held")
                if state == "missing" { missingDays += 1 }
                districts.append(.init(orgId: id, name: node.name, held: inMonth.count, state: state))
            }
        }
        return PlanCalendar(month: String(format: "%04d-%02d", year, month), weekStarts: weeks.map(\.description),
                        streets: streets, districts: districts, missingWeeks: missingWeeks, missingDays: missingDays)
    }
}

