import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct AssistanceStatsDTO: Content {
    struct Count: Content {
        let key: String
        let label: String
        let households: Int
    }

    struct Unit: Content {
        let orgId: Int
        let label: String
        let households: Int
        let deep: Int
        let relative: Int
        let accident: Int
    }

    struct Flow: Content {
        let period: String
        var approved = 0
        var lifted = 0
        var cancelled = 0
        var reopened = 0
    }

    struct Aid: Content {
        let fundId: Int
        let programId: Int?
        let kind: String?
        let name: String
        let year: Int
        let households: Int
        let lines: Int
        let amountYuan: Decimal
    }

    struct Programme: Content {
        let households: Int
        let people: Int
        let amountYuan: Decimal
    }

    let orgId: Int
    let orgName: String
    let from: String
    let to: String
    /// Active (在档) files now, by category, cause (a file counts once per cause) and unit below the node.
    let active: Int
    let byCategory: [Count]
    let byCause: [Count]
    let byUnit: [Unit]
    /// Approved (new), lifted, cancelled and reopened in the period, by month, from the timeline.
    let flows: [Flow]
    let flowTotal: Flow
    /// Paid in the period and not reversed, by relief fund.
    let aid: [Aid]
    /// 两节送温暖: households; 金秋助学: students (paid lines) and amounts.
    let festivalVisit: Programme
    let autumnSchooling: Programme
}

/// The archive's statistics in the caller's subtree: what stands now, what moved in a period, and
/// the aid the ledger paid. The files and the ledger are read directly; the archive is small
/// (Beijing: under 10,000 files), unlike the member roster.
struct AssistanceStats {
    let db: any Database
    let lang: Lang
    let t: @Sendable (String) -> String

    func report(root: Organization, from: CalendarDate, to: CalendarDate) async throws -> AssistanceStatsDTO {
        let sql = db.sql
        let sub: SQLQueryString = "o.path >= \(bind: root.path) AND o.path < \(bind: root.treePath.upperBound)"
        struct Cell: Decodable { let path: String; let category: String; let n: Int }
        let cells = try await sql.raw("""
            SELECT o.path, h.category, COUNT(*) AS n FROM hardship_households h JOIN organizations o ON o.id = h.org_id
            WHERE h.state = 'active' AND \(sub) GROUP BY o.path, h.category
            """).all(decoding: Cell.self)
        var byCategory: [String: Int] = [:]
        var units: [Int: [String: Int]] = [:]
        let depth = root.treePath.ids.count
        let rootID = try root.requireID()
        for c in cells {
            byCategory[c.category, default: 0] += c.n
            let ids = TreePath(c.path).ids
            units[ids.count > depth ? ids[depth] : rootID, default: [:]][c.category, default: 0] += c.n
        }
        struct Causes: Decodable { let causes: String }
        var byCause: [String: Int] = [:]
        for row in try await sql.raw("""
            SELECT h.causes FROM hardship_households h JOIN organizations o ON o.id = h.org_id WHERE h.state = 'active' AND \(sub)
            """).all(decoding: Causes.self) {
            for code in Set(row.causes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) where !code.isEmpty {
                byCause[code, default: 0] += 1
            }
        }
        let nodes = try await Organization.query(on: db).filter(\.$id ~~ Array(units.keys)).all()
        let named = Dictionary(nodes.compactMap { o in o.id.map { ($0, o) } }, uniquingKeysWith: { a, _ in a })
        let unitRows = OrgOrder.sorted(Array(units.keys), node: { named[$0] }).map { id in
            let c = units[id] ?? [:]
            return AssistanceStatsDTO.Unit(orgId: id, label: named[id]?.name ?? String(id), households: c.values.reduce(0, +),
                                           deep: c["deep"] ?? 0, relative: c["relative"] ?? 0, accident: c["accident"] ?? 0)
        }
        let (flows, flowTotal) = try await self.flows(root: root, from: from, to: to)
        let (aid, festival, schooling) = try await self.aid(root: root, from: from, to: to)
        return AssistanceStatsDTO(
            orgId: rootID, orgName: root.name, from: from.description, to: to.description, active: byCategory.values.reduce(0, +),
            byCategory: HouseholdCategory.allCases.map { c in
                .init(key: c.rawValue, label: t("archive.category.\(c.rawValue)"), households: byCategory[c.rawValue] ?? 0)
            },
            byCause: byCause.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { c in
                .init(key: c.key, label: causeLabel(c.key), households: c.value)
            },
            byUnit: unitRows, flows: flows, flowTotal: flowTotal, aid: aid, festivalVisit: festival, autumnSchooling: schooling)
    }

    /// The lead's cause names when they are there, else the code.
    func causeLabel(_ code: String) -> String {
        let key = "assistance.cause.\(code)"
        let text = t(key)
        return text == key ? code : text
    }

    /// The instant a Shanghai day starts.
    static func start(of day: CalendarDate) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = ShanghaiClock.zone
        return calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day)) ?? Date()
    }

    static func month(of date: Date) -> String {
        let day = ShanghaiClock.today(date)
        return String(format: "%04d-%02d", day.year, day.month)
    }

    func flows(root: Organization, from: CalendarDate, to: CalendarDate) async throws -> ([AssistanceStatsDTO.Flow], AssistanceStatsDTO.Flow) {
        let events = try await HouseholdEvent.query(on: db)
            .join(HardshipHousehold.self, on: \HouseholdEvent.$householdID == \HardshipHousehold.$id)
            .join(Organization.self, on: \HardshipHousehold.$orgID == \Organization.$id).joinedUnder(root)
            .filter(\.$action ~~ ["approve", "lift", "cancel", "reopen"])
            .filter(\.$at >= Self.start(of: from)).filter(\.$at < Self.start(of: to.adding(days: 1)))
            .all()
        var months: [String: AssistanceStatsDTO.Flow] = [:]
        var total = AssistanceStatsDTO.Flow(period: "total")
        // Every month of the period, so a quiet month shows as nought.
        var cursor = try CalendarDate(year: from.year, month: from.month, day: 1)
        while cursor <= to, months.count < 240 {
            let key = String(format: "%04d-%02d", cursor.year, cursor.month)
            months[key] = .init(period: key)
            cursor = cursor.adding(days: CalendarDate.daysIn(month: cursor.month, year: cursor.year))
        }
        for e in events {
            let key = Self.month(of: e.at)
            var m = months[key] ?? .init(period: key)
            switch e.action {
            case "approve": m.approved += 1; total.approved += 1
            case "lift": m.lifted += 1; total.lifted += 1
            case "cancel": m.cancelled += 1; total.cancelled += 1
            default: m.reopened += 1; total.reopened += 1
            }
            months[key] = m
        }
        return (months.keys.sorted().compactMap { months[$0] }, total)
    }

    /// Whether the relief programmes' table is there (it comes with the relief module).
    func hasProgrammes() async throws -> Bool {
        struct N: Decodable { let n: Int }
        let query: SQLQueryString = db.isPostgres
            ? "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = 'relief_programs' AND table_schema = current_schema()"
            : "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'relief_programs'"
        return (try await db.sql.raw(query).first(decoding: N.self)?.n ?? 0) > 0
    }

    func aid(root: Organization, from: CalendarDate, to: CalendarDate) async throws
        -> ([AssistanceStatsDTO.Aid], AssistanceStatsDTO.Programme, AssistanceStatsDTO.Programme) {
        let programmes = try await hasProgrammes()
        let kind: SQLQueryString = programmes ? "rp.kind" : "CAST(NULL AS TEXT)"
        let join: SQLQueryString = programmes ? "LEFT JOIN relief_programs rp ON rp.id = f.ref_id" : ""
        // A payment counts unless it was reversed: the amount is pay minus reverse, line by line.
        let paid: SQLQueryString = """
            FROM fund_entries e JOIN funds f ON f.id = e.fund_id JOIN organizations o ON o.id = e.org_id \(join)
            WHERE f.kind = 'relief' AND e.kind = 'pay' AND NOT EXISTS (SELECT 1 FROM fund_entries r WHERE r.reverses_id = e.id)
              AND o.path >= \(bind: root.path) AND o.path < \(bind: root.treePath.upperBound)
              AND e.at >= \(bind: Self.start(of: from)) AND e.at < \(bind: Self.start(of: to.adding(days: 1)))
            """
        struct Row: Decodable {
            let fund_id: Int
            let ref_id: Int?
            let kind: String?
            let name: String
            let year: Int
            let households: Int
            let lines: Int
            let fen: Int64
        }
        let rows = try await db.sql.raw("""
            SELECT f.id AS fund_id, f.ref_id, \(kind) AS kind, f.name, f.year, COUNT(DISTINCT e.household_id) AS households, COUNT(*) AS lines,
              CAST(SUM(e.amount_fen) AS BIGINT) AS fen \(paid)
            GROUP BY f.id, f.ref_id, \(kind), f.name, f.year ORDER BY f.year DESC, f.id
            """).all(decoding: Row.self)
        let aid = rows.map { r in
            AssistanceStatsDTO.Aid(fundId: r.fund_id, programId: programmes ? r.ref_id : nil, kind: r.kind, name: r.name, year: r.year,
                                   households: r.households, lines: r.lines, amountYuan: Decimal(fen: r.fen))
        }
        struct Sum: Decodable { let households: Int; let lines: Int; let fen: Int64? }
        func programme(_ code: String) async throws -> AssistanceStatsDTO.Programme {
            guard programmes else { return .init(households: 0, people: 0, amountYuan: 0) }
            let s = try await db.sql.raw("""
                SELECT COUNT(DISTINCT e.household_id) AS households, COUNT(*) AS lines, CAST(SUM(e.amount_fen) AS BIGINT) AS fen \(paid)
                  AND rp.kind = \(bind: code)
                """).first(decoding: Sum.self)
            return .init(households: s?.households ?? 0, people: s?.lines ?? 0, amountYuan: Decimal(fen: s?.fen ?? 0))
        }
        return (aid, try await programme("festivalVisit"), try await programme("autumnSchooling"))
    }
}
