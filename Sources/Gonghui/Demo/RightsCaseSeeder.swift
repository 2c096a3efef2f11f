import Fluent
import FluentSQL
import Foundation
import GonghuiCore

extension RightsSeeder {
    static let kindMix: [LegalCaseKind] = [.consultation, .consultation, .consultation, .consultation, .drafting, .mediation, .mediation,
                                           .mediation, .arbitration, .arbitration, .litigation, .mediation]
    static let claimMix = ["wage", "wage", "wage", "injury", "contract", "socialInsurance", "other", "wage"]

    /// `perYear` cases a year for `years` years, spread over the streets; the demo's first unpaid-wages
    /// appeals become cases of their own. Answers how many were made.
    func legalCases(perYear: Int, years: Int) async throws -> Int {
        let today = ShanghaiClock.today()
        let streets = try await Organization.query(on: db).filter(\.$kind == .street).sort(\.$id).all()
        guard !streets.isEmpty else { return 0 }
        let lawyers = try await lawyers(streets: streets)
        let appeals = perYear > 1000 ? [] : try await Appeal.query(on: db).filter(\.$subjectCode == "unpaidWages").sort(\.$id).limit(12).all()
        let total = perYear * years
        let batch = 200
        for start in stride(from: 0, to: total, by: batch * 10) {
            try await db.transaction { tx in
                for chunk in stride(from: start, to: min(start + batch * 10, total), by: batch) {
                    var insert = tx.sql.insert(into: LegalCase.schema).columns(
                        "org_id", "appeal_id", "kind", "state", "applicant_name", "phone", "migrant", "employer_name", "claim_type", "claim_fen", "workers",
                        "knew_on", "limitation_ends_on", "opened_on", "decision_due_on", "suggested", "eligible", "decided_on", "lawyer_id", "mediation_on",
                        "mediation_due_on", "arbitration_on", "award_due_on", "extended", "outcome", "recovered_fen", "closed_on", "report", "refusal", "created_at", "updated_at")
                    for n in chunk..<min(chunk + batch, total) {
                        let a = n < appeals.count ? appeals[n] : nil
                        let street = streets[(n &* 31) % streets.count]
                        let opened = today.adding(days: -((n &* 7_919) % (365 * years)))
                        let kind = a == nil ? Self.kindMix[n % Self.kindMix.count] : .mediation
                        let person = MemberSeeder.person(300_000_000 + n)
                        let claimType = a == nil ? Self.claimMix[n % Self.claimMix.count] : "wage"
                        let claim = a.map { Int64($0.amountFen) } ?? Int64(100_000 + (n &* 104_729) % 9_000_000)
                        let age = today.dayNumber - opened.dayNumber
                        // Older cases are closed; the last two months' are in every open state.
                        let open = age < 60 && n % 3 != 0
                        let state: LegalCaseState = !open ? (n % 29 == 0 && a == nil ? .refused : .closed)
                            : [.received, .accepted, .mediating, .arbitrating, .litigating][n % 5]
                        // Every day recorded lies on or before today.
                        let cap = { (d: CalendarDate?) in d.map { min($0, today) } }
                        let decided = state == .received ? nil : cap(opened.adding(days: 2))
                        let live = state != .refused
                        let mediation = live && (kind == .mediation || state == .mediating) ? decided : nil
                        let arbitration = live && (kind == .arbitration || kind == .litigation || state == .arbitrating || state == .litigating) && state != .mediating
                            ? cap(decided?.adding(days: 16)) : nil
                        let outcome: LegalOutcome? = state != .closed ? nil : kind == .consultation || kind == .drafting ? .advised
                            : kind == .mediation ? (n % 10 < 7 ? .mediated : .withdrawn) : (kind == .arbitration ? .award : .judgment)
                        // One contested case in six recovers nothing (lost, or the award not paid).
                        let won = outcome == .mediated || ((outcome == .award || outcome == .judgment) && n % 6 != 0)
                        let recovered = won ? claim * Int64(60 + n % 41) / 100 : 0
                        let knew = opened.adding(days: -(10 + n % 90))
                        let closed = state == .closed ? cap([arbitration, mediation, decided].compactMap { $0 }.max().map { $0.adding(days: 5 + n % 50) }) : nil
                        let employer = a?.employerName ?? "北京" + String(OutreachSeeder.prefixes[n % OutreachSeeder.prefixes.count]) + "有限公司"
                        insert = insert.values(
                            SQLBind(a?.orgID ?? street.id!), SQLBind(a?.id), SQLBind(kind.rawValue), SQLBind(state.rawValue), SQLBind(a?.name ?? person.name),
                            SQLBind(a?.phone ?? person.phone), SQLBind(n % 3 == 0), SQLBind(employer), SQLBind(claimType), SQLBind(claim),
                            SQLBind(a?.peopleAffected ?? (n % 12 == 0 ? 5 + n % 26 : 1)), SQLBind(knew.description), SQLBind(knew.adding(years: 1).description),
                            SQLBind(opened.description), SQLBind(opened.adding(days: 7).description), SQLBind(true), SQLBind(state == .received ? nil : state != .refused),
                            SQLBind(decided?.description), SQLBind(a != nil || state == .received || state == .refused ? nil : lawyers[street.parentID ?? 0]?[n % 2]),
                            SQLBind(mediation?.description), SQLBind(mediation?.adding(days: RightsRules.mediationDays).description), SQLBind(arbitration?.description),
                            SQLBind(arbitration?.adding(days: RightsRules.awardDays).description), SQLBind(false), SQLBind(outcome?.rawValue), SQLBind(recovered),
                            SQLBind(closed?.description), SQLBind(state == .closed ? "已结案，文书归档。" : nil),
                            SQLBind(state == .refused ? "家庭月人均收入高于本市最低工资标准，不符合法律援助条件，已书面告知。" : nil), SQLBind(Date()), SQLBind(Date()))
                    }
                    try await insert.run()
                }
            }
            progress("legal cases: \(min(start + batch * 10, total)) / \(total)")
        }
        return total
    }

    /// Two lawyers on each district's roster.
    private func lawyers(streets: [Organization]) async throws -> [Int: [Int]] {
        let districts = try await Organization.query(on: db).filter(\.$kind == .district).sort(\.$id).all()
        var ids: [Int: [Int]] = [:]
        for (i, d) in districts.enumerated() {
            for k in 0..<2 {
                let l = Lawyer()
                l.orgID = try d.requireID()
                l.name = MemberSeeder.person(400_000_000 + i * 2 + k).name
                l.firm = ["北京市京师律师事务所", "北京市中银律师事务所", "北京大成律师事务所", "北京市盈科律师事务所"][(i + k) % 4]
                l.phone = "010-6\(String(format: "%07d", 5_100_000 + i * 2 + k))"
                l.active = true
                try await l.create(on: db)
                ids[try d.requireID(), default: []].append(try l.requireID())
            }
        }
        return ids
    }
}
