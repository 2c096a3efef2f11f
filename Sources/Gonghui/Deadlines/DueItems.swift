import Fluent
import Foundation
import GonghuiCore
import Vapor

struct DueItemDTO: Content {
    let subjectKind: String
    let subjectId: Int
    let clock: String
    /// The clock in the reader's language: 答复要约, 报送审查, …
    let label: String
    let title: String
    let orgId: Int
    let orgName: String?
    let dueOn: String
    let rule: String
    /// Days left (negative when overdue), counted in calendar days.
    let daysLeft: Int
    let overdue: Bool
    /// The console page of the record.
    let href: String
}

/// `GET /api/v1/due-items` and `/console/due-items`: every open clock of the caller's subtree that
/// is overdue, due within `withinDays` (30 unless asked), or past its warning day (a renewal three
/// months ahead), soonest first.
enum DueItems {
    /// Where each kind of record is shown in the console; modules add theirs.
    static let pages: [String: String] = [
        "collectiveContract": "/console/rights/contracts/", "congress": "/console/rights/congresses/", "legalCase": "/console/rights/cases/",
    ]

    static func items(_ req: Request) async throws -> (Organization, [DueItemDTO], Int) {
        let scope = try req.scope
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let within = PageRequest.int(req, "withinDays", default: 30, range: 0...3650, &v)
        try v.check()
        let root = try await scope.org(orgID ?? scope.rootID, on: req.db)
        let today = ShanghaiClock.today()
        let horizon = today.adding(days: within).description
        let rows = try await Deadline.query(on: req.db).join(Organization.self, on: \Deadline.$orgID == \Organization.$id).joinedUnder(root)
            .filter(\.$doneOn == nil)
            .group(.or) { g in
                g.filter(\.$dueOn <= horizon)
                g.filter(\.$warnFrom <= today.description)
            }
            .sort(\.$dueOn).sort(\.$id).limit(1000).all()
        let items = rows.map { d -> DueItemDTO in
            let due = (try? CalendarDate(parsing: d.dueOn)) ?? today
            let org = try? d.joined(Organization.self)
            return DueItemDTO(subjectKind: d.subjectKind, subjectId: d.subjectID, clock: d.clock, label: req.t("deadline.clock.\(d.clock)"),
                              title: d.title, orgId: d.orgID, orgName: org?.name, dueOn: d.dueOn, rule: d.rule,
                              daysLeft: due.dayNumber - today.dayNumber, overdue: due < today,
                              href: (pages[d.subjectKind] ?? "/console/") + String(d.subjectID))
        }
        return (root, items, within)
    }

    @Sendable static func api(req: Request) async throws -> [DueItemDTO] { try await items(req).1 }

    struct Row: Encodable {
        let item: DueItemDTO
        let kind: String
        let rule: String
        let when: String
        let tone: String
    }

    struct Page: Encodable {
        let page: PageContext
        let orgName: String
        let withinDays: Int
        let rows: [Row]
        let overdue: Int
    }

    @Sendable static func page(req: Request) async throws -> View {
        let (root, items, within) = try await items(req)
        let rows = items.map { i in
            Row(item: i, kind: req.t("deadline.kind.\(i.subjectKind)"), rule: req.t("deadline.rule.\(i.rule)"),
                when: i.overdue ? req.t("deadline.overdue", ["days": String(-i.daysLeft)]) : req.t("deadline.left", ["days": String(i.daysLeft)]),
                tone: i.overdue ? "bad" : (i.daysLeft <= 7 ? "warn" : "ok"))
        }
        return try await req.view.render("rights/due", Page(page: req.pageContext(), orgName: root.name, withinDays: within, rows: rows,
                                                             overdue: items.filter(\.overdue).count))
    }
}
