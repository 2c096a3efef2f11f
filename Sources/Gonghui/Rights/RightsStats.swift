import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct RightsStatsDTO: Content {
    struct Contracts: Content {
        let unionisedEnterprises: Int
        let covered: Int
        let coverageRate: Double
        let wageCovered: Int
        let wageCoverageRate: Double
        let expiringWithin90Days: Int
        let filingsLate: Int
        let byState: [String: Int]
    }

    struct Democracy: Content {
        let congressCovered: Int
        let congressRate: Double
        let disclosureCovered: Int
        let disclosureRate: Double
        /// A congress in its term and a 厂务公开 disclosure in the last twelve months.
        let democraticCovered: Int
        let democraticRate: Double
        let congressesWithoutSession: Int
    }

    struct Mediation: Content {
        let received: Int
        let closed: Int
        let mediated: Int
        let successRate: Double
        let recoveredYuan: Decimal
    }

    struct KindLine: Content {
        let kind: String
        let cases: Int
        let closed: Int
        let recoveredYuan: Decimal
    }

    struct LegalAid: Content {
        let cases: Int
        let closed: Int
        let recoveredYuan: Decimal
        /// Closed arbitration and litigation cases that recovered something, of all closed ones.
        let winRate: Double
        let migrantShare: Double
        let groupCases: Int
        let byKind: [KindLine]
    }

    let orgId: Int
    let from: String
    let to: String
    let contracts: Contracts
    let democracy: Democracy
    let mediation: Mediation
    let legalAid: LegalAid
}

/// The rates of rights work for a subtree, read with a few indexed queries: contracts from the
/// enterprises they cover, democratic management from the unions' congresses and disclosures,
/// cases opened in the period.
struct RightsStats {
    let db: any Database

    static func rate(_ n: Int, _ d: Int) -> Double { d == 0 ? 0 : (Double(n) / Double(d) * 10_000).rounded() / 10_000 }

    func report(root: Organization, from: CalendarDate, to: CalendarDate, today: CalendarDate = ShanghaiClock.today()) async throws -> RightsStatsDTO {
        let sql = db as! any SQLDatabase
        let lo = root.path, hi = root.treePath.upperBound, t = today.description
        let unionised: SQLQueryString = "e.union_status IN ('founded', 'standard')"
        func count(_ q: SQLQueryString) async throws -> Int {
            try await sql.raw(q).first()?.decode(column: "n", as: Int?.self) ?? 0
        }
        let base: SQLQueryString = "FROM enterprises e JOIN organizations o ON o.id = e.org_id WHERE o.path >= \(bind: lo) AND o.path < \(bind: hi) AND \(unionised)"
        let enterprises = try await count("SELECT COUNT(*) AS n \(base)")
        // Uncorrelated IN (…) throughout: each set is read once (a hash on PostgreSQL, an ephemeral
        // index on SQLite). A correlated EXISTS made SQLite walk the contracts once per enterprise.
        func coveredBy(_ kind: ContractKind?) async throws -> Int {
            let k: SQLQueryString = kind.map { "AND c.kind = \(bind: $0.rawValue)" } ?? ""
            return try await count("""
                SELECT COUNT(*) AS n \(base) AND e.id IN (SELECT ce.enterprise_id FROM collective_contract_enterprises ce
                  JOIN collective_contracts c ON c.id = ce.contract_id WHERE c.state = 'inForce' \(k))
                """)
        }
        let covered = try await coveredBy(nil), wage = try await coveredBy(.wage)
        let contractBase: SQLQueryString = "FROM collective_contracts c JOIN organizations o ON o.id = c.org_id WHERE o.path >= \(bind: lo) AND o.path < \(bind: hi)"
        let expiring = try await count("""
            SELECT COUNT(*) AS n \(contractBase) AND c.state = 'inForce' AND c.successor_id IS NULL AND c.expires_on <= \(bind: today.adding(days: 90).description)
            """)
        let late = try await count("""
            SELECT COUNT(*) AS n \(contractBase) AND ((c.filed_on IS NOT NULL AND c.filed_on > c.filing_due_on) OR (c.state = 'signed' AND c.filing_due_on < \(bind: t)))
            """)
        var byState: [String: Int] = [:]
        for row in try await sql.raw("SELECT c.state AS state, COUNT(*) AS n \(contractBase) GROUP BY c.state").all() {
            byState[try row.decode(column: "state", as: String.self)] = try row.decode(column: "n", as: Int.self)
        }
        let live: SQLQueryString = "g.starts_on <= \(bind: t) AND g.ends_on >= \(bind: t)"
        let congress: SQLQueryString = """
            (e.id IN (SELECT g.enterprise_id FROM congresses g WHERE g.enterprise_id IS NOT NULL AND \(live))
             OR e.union_org_id IN (SELECT g.org_id FROM congresses g WHERE \(live)))
            """
        let since = today.adding(years: -1).description
        let disclosure: SQLQueryString = """
            (e.id IN (SELECT d.enterprise_id FROM workplace_disclosures d WHERE d.enterprise_id IS NOT NULL AND d.disclosed_on > \(bind: since))
             OR e.union_org_id IN (SELECT d.org_id FROM workplace_disclosures d WHERE d.disclosed_on > \(bind: since)))
            """
        let withCongress = try await count("SELECT COUNT(*) AS n \(base) AND \(congress)")
        let withDisclosure = try await count("SELECT COUNT(*) AS n \(base) AND \(disclosure)")
        let democratic = try await count("SELECT COUNT(*) AS n \(base) AND \(congress) AND \(disclosure)")
        let noSession = try await count("""
            SELECT COUNT(*) AS n FROM congresses g JOIN organizations o ON o.id = g.org_id WHERE o.path >= \(bind: lo) AND o.path < \(bind: hi)
              AND g.starts_on <= \(bind: t) AND g.ends_on >= \(bind: t)
              AND NOT EXISTS (SELECT 1 FROM congress_sessions s WHERE s.congress_id = g.id AND s.held_on >= \(bind: "\(today.year)-01-01"))
            """)
        // Cases opened in the period, by kind.
        let rows = try await sql.raw("""
            SELECT c.kind AS kind, COUNT(*) AS n, CAST(SUM(CASE WHEN c.state = 'closed' THEN 1 ELSE 0 END) AS BIGINT) AS closed,
              CAST(SUM(c.recovered_fen) AS BIGINT) AS recovered, CAST(SUM(CASE WHEN c.migrant THEN 1 ELSE 0 END) AS BIGINT) AS migrant,
              CAST(SUM(CASE WHEN c.workers >= 5 THEN 1 ELSE 0 END) AS BIGINT) AS grp,
              CAST(SUM(CASE WHEN c.state = 'closed' AND c.kind IN ('arbitration', 'litigation') THEN 1 ELSE 0 END) AS BIGINT) AS contested,
              CAST(SUM(CASE WHEN c.state = 'closed' AND c.kind IN ('arbitration', 'litigation') AND c.recovered_fen > 0 THEN 1 ELSE 0 END) AS BIGINT) AS won,
              CAST(SUM(CASE WHEN c.kind = 'mediation' OR c.mediation_on IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS m_received,
              CAST(SUM(CASE WHEN (c.kind = 'mediation' OR c.mediation_on IS NOT NULL) AND c.state = 'closed' THEN 1 ELSE 0 END) AS BIGINT) AS m_closed,
              CAST(SUM(CASE WHEN c.outcome = 'mediated' THEN 1 ELSE 0 END) AS BIGINT) AS m_ok,
              CAST(SUM(CASE WHEN c.kind = 'mediation' OR c.mediation_on IS NOT NULL THEN c.recovered_fen ELSE 0 END) AS BIGINT) AS m_recovered
            FROM legal_cases c JOIN organizations o ON o.id = c.org_id
            WHERE o.path >= \(bind: lo) AND o.path < \(bind: hi) AND c.opened_on >= \(bind: from.description) AND c.opened_on <= \(bind: to.description)
            GROUP BY c.kind
            """).all()
        var lines: [RightsStatsDTO.KindLine] = []
        var cases = 0, closed = 0, migrant = 0, group = 0, contested = 0, won = 0, mReceived = 0, mClosed = 0, mOK = 0
        var recovered: Int64 = 0, mRecovered: Int64 = 0
        for r in rows {
            func int(_ c: String) throws -> Int { try r.decode(column: c, as: Int?.self) ?? 0 }
            func fen(_ c: String) throws -> Int64 { try r.decode(column: c, as: Int64?.self) ?? 0 }
            let n = try int("n"), cl = try int("closed"), rec = try fen("recovered")
            lines.append(.init(kind: try r.decode(column: "kind", as: String.self), cases: n, closed: cl, recoveredYuan: Decimal(fen: rec)))
            cases += n; closed += cl; recovered += rec
            migrant += try int("migrant"); group += try int("grp"); contested += try int("contested"); won += try int("won")
            mReceived += try int("m_received"); mClosed += try int("m_closed"); mOK += try int("m_ok"); mRecovered += try fen("m_recovered")
        }
        let order = LegalCaseKind.allCases.map(\.rawValue)
        lines.sort { (order.firstIndex(of: $0.kind) ?? 9) < (order.firstIndex(of: $1.kind) ?? 9) }
        return RightsStatsDTO(
            orgId: try root.requireID(), from: from.description, to: to.description,
            contracts: .init(unionisedEnterprises: enterprises, covered: covered, coverageRate: Self.rate(covered, enterprises), wageCovered: wage,
                             wageCoverageRate: Self.rate(wage, enterprises), expiringWithin90Days: expiring, filingsLate: late, byState: byState),
            democracy: .init(congressCovered: withCongress, congressRate: Self.rate(withCongress, enterprises), disclosureCovered: withDisclosure,
                             disclosureRate: Self.rate(withDisclosure, enterprises), democraticCovered: democratic,
                             democraticRate: Self.rate(democratic, enterprises), congressesWithoutSession: noSession),
            mediation: .init(received: mReceived, closed: mClosed, mediated: mOK, successRate: Self.rate(mOK, mClosed), recoveredYuan: Decimal(fen: mRecovered)),
            legalAid: .init(cases: cases, closed: closed, recoveredYuan: Decimal(fen: recovered), winRate: Self.rate(won, contested),
                            migrantShare: Self.rate(migrant, cases), groupCases: group, byKind: lines))
    }
}
