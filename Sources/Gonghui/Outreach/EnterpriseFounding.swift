import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Founding a union from the ledger, and the unionisation rate.
extension EnterpriseService {
    // MARK: founding a union

    /// Records the democratic election: creates the grassroots union under the enterprise's street
    /// (or the federation named), links the enterprise and marks it founded, in one transaction.
    func found(_ id: Int, _ input: FoundingInput) async throws -> (Enterprise, Organization) {
        let scope = try request.scope
        try scope.require(scope.role.keepsLedger)
        let e = try await find(id)
        if e.unionOrgID != nil || e.unionStatus.isCovered { throw AppError.conflict("error.enterprise.alreadyFounded") }
        var v = Validator()
        let today = ShanghaiClock.today()
        var held: CalendarDate?
        if let raw = input.heldOn, !raw.isEmpty {
            if let date = try? CalendarDate(parsing: raw) {
                if date > today { v.add("heldOn", "future", "error.field.date.future") } else { held = date }
            } else { v.add("heldOn", "format", "error.field.date") }
        } else { v.add("heldOn", "required") }
        let voters = input.voters ?? 0
        if input.voters == nil { v.add("voters", "required") } else if voters < 1 || voters > 1_000_000 {
            v.add("voters", "range", nil, ["min": "1", "max": "1000000"])
        }
        if let cast = input.votesCast {
            if cast < 0 || cast > voters { v.add("votesCast", "moreThanVoters", "error.election.votesCast") } else if voters > 0, cast * 3 < voters * 2 {
                // 应到会人数的三分之二以上出席，选举方为有效。
                v.add("votesCast", "quorum", "error.election.quorum")
            }
        } else { v.add("votesCast", "required") }
        let chair = v.text(input.chairName, "chairName", required: true, max: 50)
        if let chairVotes = input.chairVotes, let cast = input.votesCast {
            if chairVotes < 0 || chairVotes > cast { v.add("chairVotes", "range", nil, ["min": "0", "max": String(cast)]) } else if chairVotes * 2 <= cast {
                // 候选人获得赞成票超过实到会人数的半数，始得当选。
                v.add("chairVotes", "majority", "error.election.majority")
            }
        }
        let committee = (input.committee ?? []).map { Normalize.singleLine($0) }.filter { !$0.isEmpty }
        if committee.contains(where: { $0.count > 50 }) || committee.count > 50 { v.add("committee", "tooLong", nil, ["max": "50"]) }
        var termEnds: CalendarDate?
        if let raw = input.termEndsOn, !raw.isEmpty {
            if let date = try? CalendarDate(parsing: raw) {
                if let held, date <= held { v.add("termEndsOn", "beforeStart", "error.election.termBeforeElection") } else if let held, date > held.adding(days: 5 * 366) {
                    // 基层工会委员会每届任期三年至五年。
                    v.add("termEndsOn", "tooLong", "error.election.termTooLong")
                } else { termEnds = date }
            } else { v.add("termEndsOn", "format", "error.field.date") }
        } else { v.add("termEndsOn", "required") }
        let unionName = v.text(input.unionName, "unionName", required: false, max: 100) ?? e.name + "工会"
        var parent = try await Organization.find(e.orgID, on: db)
        if let parentID = input.parentOrgId {
            if let chosen = try? await scope.org(parentID, on: db), chosen.kind.holdsUnions, chosen.kind != .city, chosen.kind != .district || chosen.id == e.orgID {
                parent = chosen
            } else { v.add("parentOrgId", "notFound", "error.enterprise.parentKind") }
        }
        try v.check()
        guard let parent, let held, let termEnds, let chair else { throw AppError.notFound }
        let union = Organization(kind: .enterprise, name: unionName, parentID: parent.id)
        union.foundedOn = held.description
        union.termEndsOn = termEnds.description
        union.chairName = chair
        union.contactName = e.contactName
        union.contactPhone = e.contactPhone
        union.address = e.address
        return try await db.transaction { tx in
            try await OrgTree.insert(union, under: parent, on: tx)
            let election = UnionElection()
            election.enterpriseID = id
            election.unionOrgID = try union.requireID()
            election.heldOn = held.description
            election.voters = voters
            election.votesCast = input.votesCast ?? 0
            election.chairName = chair
            election.chairVotes = input.chairVotes
            election.committee = committee.joined(separator: "、")
            election.termEndsOn = termEnds.description
            election.staffID = scope.staffID
            try await election.create(on: tx)
            let before = e.unionStatus
            e.unionStatus = .founded
            e.unionOrgID = try union.requireID()
            e.lastContactAt = Date()
            e.nextStep = nil
            e.nextStepOn = nil
            try await e.save(on: tx)
            try await EnterpriseContact(enterpriseID: id, kind: "founded", note: unionName, from: before, to: .founded, staffID: scope.staffID).create(on: tx)
            try await request.audit.record("org.create", targetType: "org", targetID: union.id, org: union,
                                           details: ["kind": "enterprise", "parentId": String(parent.id ?? 0), "enterpriseId": String(id)], on: tx)
            try await request.audit.record("enterprise.found", targetType: "enterprise", targetID: id, org: parent,
                                           details: ["unionOrgId": String(union.id ?? 0), "heldOn": held.description], on: tx)
            return (e, union)
        }
    }

    // MARK: the unionisation rate

    /// The rate of a node and, unless `children` is false (a page that shows only the node's own
    /// figure), of each of its children.
    func coverage(orgID: Int?, children: Bool = true) async throws -> CoverageDTO {
        let scope = try request.scope
        try scope.require(scope.role.readsLedger)
        let org = try await scope.org(orgID ?? scope.rootID, on: db)
        let covered = UnionStatus.coveredStatuses.map { "'\($0.rawValue)'" }.joined(separator: ",")
        let rows = !children ? [] : try await db.sql.raw("""
            SELECT c.id AS id, c.name AS name, COUNT(e.id) AS total,
                   SUM(CASE WHEN e.union_status IN (\(unsafeRaw: covered)) THEN 1 ELSE 0 END) AS covered
            FROM organizations c
            JOIN organizations d ON d.path >= c.path AND d.path < c.path || '~'
            LEFT JOIN enterprises e ON e.org_id = d.id
            WHERE c.parent_id = \(bind: try org.requireID()) AND c.kind IN ('district', 'street')
            GROUP BY c.id, c.name
            ORDER BY c.name
            """).all()
        var result: [CoverageDTO.Row] = []
        for row in rows {
            let total = try row.decode(column: "total", as: Int.self)
            let cov = try row.decode(column: "covered", as: Int?.self) ?? 0
            result.append(.init(orgId: try row.decode(column: "id", as: Int.self), name: try row.decode(column: "name", as: String.self),
                                total: total, covered: cov, rate: CoverageRate(covered: cov, total: total).percent))
        }
        // The children in the one official order (see OrgOrder).
        let children = Dictionary(uniqueKeysWithValues: try await Organization.query(on: db).filter(\.$parentID == org.id).all()
            .map { ($0.id ?? 0, $0) })
        result = OrgOrder.sorted(result, node: { children[$0.orgId] })
        let cutoff = Date().addingTimeInterval(-Enterprise.staleAfter)
        let statusRows = try await db.sql.raw("""
            SELECT e.union_status AS status, COUNT(*) AS n,
                   SUM(CASE WHEN e.last_contact_at IS NULL OR e.last_contact_at < \(bind: cutoff) THEN 1 ELSE 0 END) AS stale
            FROM enterprises e JOIN organizations d ON e.org_id = d.id
            WHERE d.path >= \(bind: org.path) AND d.path < \(bind: org.treePath.upperBound)
            GROUP BY e.union_status
            """).all()
        var byStatus: [String: Int] = Dictionary(uniqueKeysWithValues: UnionStatus.allCases.map { ($0.rawValue, 0) })
        var stale = 0
        for row in statusRows {
            byStatus[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
            stale += try row.decode(column: "stale", as: Int?.self) ?? 0
        }
        let total = byStatus.values.reduce(0, +)
        let cov = UnionStatus.coveredStatuses.reduce(0) { $0 + (byStatus[$1.rawValue] ?? 0) }
        return CoverageDTO(orgId: try org.requireID(), name: org.name, total: total, covered: cov,
                           rate: CoverageRate(covered: cov, total: total).percent, stale: stale, byStatus: byStatus, rows: result)
    }
}
