import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// The enterprise ledger: create, change, the contact timeline, founding a union, search and the
/// unionisation rate. The API and the console both go through here; every read goes through scope.
struct EnterpriseService {
    let request: Request
    var db: any Database { request.db }

    // MARK: reading

    func find(_ id: Int) async throws -> Enterprise {
        let scope = try request.scope
        try scope.require(scope.role.readsLedger)
        guard let e = try await scope.records(Enterprise.self, orgField: \.$orgID, on: db).filter(\.$id == id).first() else {
            throw AppError.notFound
        }
        return e
    }

    func detail(_ e: Enterprise) async throws -> EnterpriseDTO {
        let org = try await Organization.find(e.orgID, on: db)
        var dto = EnterpriseDTO(e, orgName: org?.name, request: request)
        let contacts = try await EnterpriseContact.query(on: db).filter(\.$enterpriseID == e.requireID())
            .sort(\.$at, .descending).sort(\.$id, .descending).limit(200).all()
        let staffIDs = Array(Set(contacts.compactMap(\.staffID)))
        let names = staffIDs.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: try await StaffUser.query(on: db).filter(\.$id ~~ staffIDs).all()
            .map { ($0.id ?? 0, $0.displayName) })
        dto.contacts = contacts.map { .init(id: $0.id ?? 0, kind: $0.kind, note: $0.note, fromStatus: $0.fromStatus, toStatus: $0.toStatus,
                                            meetingId: $0.meetingID, staffName: $0.staffID.flatMap { names[$0] }, at: $0.at) }
        if let election = try await UnionElection.query(on: db).filter(\.$enterpriseID == e.requireID()).sort(\.$id, .descending).first() {
            dto.election = .init(heldOn: election.heldOn, voters: election.voters, votesCast: election.votesCast, chairName: election.chairName,
                                 chairVotes: election.chairVotes, committee: election.committee.split(separator: "、").map(String.init),
                                 termEndsOn: election.termEndsOn, unionOrgId: election.unionOrgID)
        }
        return dto
    }

    struct Filter: Sendable {
        var q: String?
        var orgID: Int?
        var type: EnterpriseType?
        var size: EnterpriseSize?
        var industry: IndustrySection?
        var influence: SocialInfluence?
        var relations: LabourRelations?
        var unionStatus: [UnionStatus] = []
        var stale: Bool?
        var owner: Int?
        var minHeadcount: Int?

        /// The query string that reproduces it (for paging and export links).
        var query: String {
            var parts: [String] = []
            if let q { parts.append("q=" + (q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")) }
            if let orgID { parts.append("orgId=\(orgID)") }
            if let type { parts.append("type=\(type.rawValue)") }
            if let size { parts.append("size=\(size.rawValue)") }
            if let industry { parts.append("industry=\(industry.rawValue)") }
            if let influence { parts.append("influence=\(influence.rawValue)") }
            if let relations { parts.append("relations=\(relations.rawValue)") }
            if !unionStatus.isEmpty { parts.append("unionStatus=" + unionStatus.map(\.rawValue).joined(separator: ",")) }
            if let stale { parts.append("stale=\(stale)") }
            if let owner { parts.append("owner=\(owner)") }
            if let minHeadcount { parts.append("minHeadcount=\(minHeadcount)") }
            return parts.joined(separator: "&")
        }
    }

    static func filter(from req: Request, _ v: inout Validator) -> Filter {
        var f = Filter()
        f.q = v.text(req.query[String.self, at: "q"], "q", required: false, max: 100)
        f.orgID = req.optionalID("orgId", &v)
        f.type = Self.choice(req, "type", &v)
        f.size = Self.choice(req, "size", &v)
        f.industry = Self.choice(req, "industry", &v)
        f.influence = Self.choice(req, "influence", &v)
        f.relations = Self.choice(req, "relations", &v)
        if let raw = req.query[String.self, at: "unionStatus"], !raw.isEmpty {
            for part in raw.split(separator: ",") {
                if let status = UnionStatus(rawValue: String(part)) { f.unionStatus.append(status) } else {
                    v.add("unionStatus", "unknown", "error.field.oneOf", ["values": UnionStatus.allCases.map(\.rawValue).joined(separator: ", ")])
                    break
                }
            }
        }
        if let raw = req.query[String.self, at: "stale"], !raw.isEmpty {
            if raw == "true" || raw == "1" { f.stale = true } else if raw == "false" || raw == "0" { f.stale = false } else { v.add("stale", "format") }
        }
        f.owner = req.optionalID("owner", &v)
        if req.query[String.self, at: "minHeadcount"].map({ !$0.isEmpty }) == true {
            f.minHeadcount = PageRequest.int(req, "minHeadcount", default: 0, range: 0...10_000_000, &v)
        }
        return f
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ req: Request, _ name: String, _ v: inout Validator) -> T? where T.RawValue == String {
        guard let raw = req.query[String.self, at: name], !raw.isEmpty else { return nil }
        guard let value = T(rawValue: raw) else {
            v.add(name, "unknown", "error.field.oneOf", ["values": T.allCases.map(\.rawValue).joined(separator: ", ")])
            return nil
        }
        return value
    }

    func query(_ f: Filter) async throws -> QueryBuilder<Enterprise> {
        let scope = try request.scope
        try scope.require(scope.role.readsLedger)
        var query = scope.records(Enterprise.self, orgField: \.$orgID, on: db)
        if let orgID = f.orgID {
            let org = try await scope.org(orgID, on: db)
            query = query.filter(Organization.self, \.$path >= org.path).filter(Organization.self, \.$path < org.treePath.upperBound)
        }
        if let type = f.type { query = query.filter(\.$type == type) }
        if let size = f.size { query = query.filter(\.$size == size) }
        if let industry = f.industry { query = query.filter(\.$industry == industry) }
        if let influence = f.influence { query = query.filter(\.$influence == influence) }
        if let relations = f.relations { query = query.filter(\.$relations == relations) }
        if !f.unionStatus.isEmpty { query = query.filter(\.$unionStatus ~~ f.unionStatus) }
        if let owner = f.owner { query = query.filter(\.$ownerStaffID == owner) }
        if let min = f.minHeadcount { query = query.filter(\.$headcount >= min) }
        if let stale = f.stale {
            let cutoff = Date().addingTimeInterval(-Enterprise.staleAfter)
            if stale {
                query = query.group(.or) { $0.filter(\.$lastContactAt == nil).filter(\.$lastContactAt < cutoff) }
            } else {
                query = query.filter(\.$lastContactAt >= cutoff)
            }
        }
        if let q = f.q {
            if let code = try? CreditCode(parsing: q) {
                query = query.filter(\.$creditCode == code.value)
            } else {
                // By the beginning of the name, so the index answers it among hundreds of thousands.
                query = query.filter(\.$name >= q).filter(\.$name < q + "\u{10FFFF}")
            }
        }
        return query
    }

    func page(_ f: Filter, _ paging: PageRequest) async throws -> Paged<EnterpriseDTO> {
        let query = try await query(f)
        let total = try await query.count()
        let rows = try await query.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all()
        let orgs = try await ApplicationService.orgNames(rows.map(\.orgID), on: db)
        return Paged(items: rows.map { EnterpriseDTO($0, orgName: orgs[$0.orgID]?.name, request: request) },
                     page: paging.page, per: paging.per, total: total)
    }

    // MARK: writing

    func create(_ input: EnterpriseInput) async throws -> Enterprise {
        let scope = try request.scope
        try scope.require(scope.role.keepsLedger)
        var v = Validator()
        let e = Enterprise()
        e.influence = .ordinary
        e.relations = .stable
        e.unionStatus = .none
        e.type = .privateOwned
        e.headcount = 0
        e.size = .micro
        e.orgID = 0
        var creditCode: String?
        if let raw = input.creditCode, !Normalize.singleLine(raw).isEmpty {
            do { creditCode = try CreditCode(parsing: raw).value } catch { v.add("creditCode", "format", "error.field.creditCode") }
        } else { v.add("creditCode", "required") }
        e.name = v.text(input.name, "name", required: true, max: 100) ?? ""
        if input.orgId == nil { v.add("orgId", "required") }
        if input.headcount == nil { v.add("headcount", "required") }
        try await apply(input, to: e, creating: true, &v)
        try v.check()
        e.creditCode = creditCode!
        try await ensureFree(e.creditCode, except: nil)
        let org = try await Organization.find(e.orgID, on: db)
        try await db.transaction { tx in
            try await e.create(on: tx)
            try await EnterpriseContact(enterpriseID: e.requireID(), kind: "created", to: e.unionStatus, staffID: scope.staffID).create(on: tx)
            try await request.audit.record("enterprise.create", targetType: "enterprise", targetID: e.id, org: org,
                                           details: ["creditCode": e.creditCode, "unionStatus": e.unionStatus.rawValue], on: tx)
        }
        return e
    }

    func update(_ id: Int, _ input: EnterpriseInput) async throws -> Enterprise {
        let scope = try request.scope
        try scope.require(scope.role.keepsLedger)
        let e = try await find(id)
        var v = Validator()
        let before = e.unionStatus
        let beforePlan = [e.nextStep, e.nextStepOn, e.ownerStaffID.map(String.init)]
        if input.has(.creditCode) {
            if let raw = input.creditCode, let code = try? CreditCode(parsing: raw) { e.creditCode = code.value } else {
                v.add("creditCode", input.creditCode.map { Normalize.singleLine($0).isEmpty } ?? true ? "required" : "format",
                      input.creditCode.map { Normalize.singleLine($0).isEmpty } ?? true ? nil : "error.field.creditCode")
            }
        }
        if input.has(.name), let name = v.text(input.name, "name", required: true, max: 100) { e.name = name }
        if input.has(.headcount), input.headcount == nil { v.add("headcount", "required") }
        if input.has(.orgId), input.orgId == nil { v.add("orgId", "required") }
        try await apply(input, to: e, creating: false, &v)
        try v.check()
        try await ensureFree(e.creditCode, except: id)
        let org = try await Organization.find(e.orgID, on: db)
        let planChanged = beforePlan != [e.nextStep, e.nextStepOn, e.ownerStaffID.map(String.init)]
        let changed = Set(input.present)
        try await db.transaction { tx in
            try await e.save(on: tx)
            if before != e.unionStatus {
                try await EnterpriseContact(enterpriseID: id, kind: "status", from: before, to: e.unionStatus, staffID: scope.staffID).create(on: tx)
            }
            if planChanged {
                let note = [e.nextStepOn, e.nextStep].compactMap { $0 }.joined(separator: " ")
                try await EnterpriseContact(enterpriseID: id, kind: "plan", note: note.isEmpty ? nil : note, staffID: scope.staffID).create(on: tx)
            }
            try await request.audit.record("enterprise.update", targetType: "enterprise", targetID: id, org: org,
                                           details: ["fields": changed.sorted().joined(separator: ",")], on: tx)
        }
        return e
    }

    /// Applies the fields the input names (create: all, with defaults), checking each.
    private func apply(_ input: EnterpriseInput, to e: Enterprise, creating: Bool, _ v: inout Validator) async throws {
        let scope = try request.scope
        func has(_ key: EnterpriseInput.CodingKeys) -> Bool { creating || input.has(key) }
        func pick<T: RawRepresentable & CaseIterable>(_ raw: String?, _ field: String, _ v: inout Validator) -> T? where T.RawValue == String {
            guard let raw, !raw.isEmpty else { return nil }
            guard let value = T(rawValue: raw) else {
                v.add(field, "unknown", "error.field.oneOf", ["values": T.allCases.map(\.rawValue).joined(separator: ", ")])
                return nil
            }
            return value
        }
        if has(.orgId), let orgID = input.orgId {
            if let org = try? await scope.org(orgID, on: db) {
                if org.kind == .street || org.kind == .district { e.orgID = orgID } else { v.add("orgId", "kind", "error.enterprise.orgKind") }
            } else { v.add("orgId", "notFound") }
        }
        if has(.headcount), let headcount = input.headcount {
            if (0...10_000_000).contains(headcount) { e.headcount = headcount } else {
                v.add("headcount", "range", nil, ["min": "0", "max": "10000000"])
            }
        }
        if has(.type), let type: EnterpriseType = pick(input.type, "type", &v) { e.type = type }
        if has(.size) {
            if let size: EnterpriseSize = pick(input.size, "size", &v) { e.size = size } else if input.size?.isEmpty ?? true {
                e.size = EnterpriseSize(headcount: e.headcount)
            }
        } else if input.has(.headcount) {
            e.size = EnterpriseSize(headcount: e.headcount)
        }
        if has(.industry) {
            if let raw = input.industry, !raw.isEmpty {
                if let section: IndustrySection = pick(raw.uppercased(), "industry", &v) { e.industry = section }
            } else { e.industry = nil }
        }
        if has(.influence), let x: SocialInfluence = pick(input.influence, "influence", &v) { e.influence = x }
        if has(.relations), let x: LabourRelations = pick(input.relations, "relations", &v) { e.relations = x }
        if has(.unionStatus), let x: UnionStatus = pick(input.unionStatus, "unionStatus", &v) { e.unionStatus = x }
        if has(.unionOrgId) {
            if let unionID = input.unionOrgId {
                if let union = try? await scope.org(unionID, on: db), union.kind.isGrassroots { e.unionOrgID = unionID } else {
                    v.add("unionOrgId", "notFound", "error.enterprise.unionUnknown")
                }
            } else { e.unionOrgID = nil }
        }
        if has(.address) { e.address = v.text(input.address, "address", required: false, max: 200) }
        if has(.lat) || has(.lng) {
            let lat = input.has(.lat) ? input.lat : e.lat
            let lng = input.has(.lng) ? input.lng : e.lng
            switch (lat, lng) {
            case (nil, nil): e.lat = nil; e.lng = nil
            case let (lat?, lng?):
                if !(-90...90).contains(lat) { v.add("lat", "range", nil, ["min": "-90", "max": "90"]) }
                if !(-180...180).contains(lng) { v.add("lng", "range", nil, ["min": "-180", "max": "180"]) }
                e.lat = lat
                e.lng = lng
            case (nil, _): v.add("lat", "required", "error.field.coordinatePair")
            case (_, nil): v.add("lng", "required", "error.field.coordinatePair")
            }
        }
        if has(.contactName) { e.contactName = v.text(input.contactName, "contactName", required: false, max: 50) }
        if has(.contactPhone) {
            if let raw = input.contactPhone, !Normalize.singleLine(raw).isEmpty {
                if let phone = ContactPhone.normalise(raw) { e.contactPhone = phone } else { v.add("contactPhone", "format", "error.field.phone") }
            } else { e.contactPhone = nil }
        }
        if has(.nextStep) { e.nextStep = v.text(input.nextStep, "nextStep", required: false, max: 200) }
        if has(.nextStepOn) {
            if let raw = input.nextStepOn, !raw.isEmpty {
                if let date = try? CalendarDate(parsing: raw) { e.nextStepOn = date.description } else { v.add("nextStepOn", "format", "error.field.date") }
            } else { e.nextStepOn = nil }
        }
        if has(.ownerStaffId) {
            if let owner = input.ownerStaffId {
                let staff = try await StaffUser.find(owner, on: db)
                if let staff, let org = try await Organization.find(staff.orgID, on: db), scope.contains(org.path) { e.ownerStaffID = owner } else {
                    v.add("ownerStaffId", "notFound")
                }
            } else { e.ownerStaffID = nil }
        }
    }

    private func ensureFree(_ code: String, except id: Int?) async throws {
        var query = Enterprise.query(on: db).filter(\.$creditCode == code)
        if let id { query = query.filter(\.$id != id) }
        if try await query.count() > 0 {
            throw AppError.conflict("error.enterprise.creditCodeTaken", fields: [FieldIssue("creditCode", "taken", "error.field.creditCode.inLedger")])
        }
    }

    // MARK: the timeline

    func addContact(_ id: Int, _ input: ContactInput) async throws -> EnterpriseContact {
        let scope = try request.scope
        try scope.require(scope.role.keepsLedger)
        let e = try await find(id)
        var v = Validator()
        let kind = input.kind ?? "visit"
        if !EnterpriseContact.manualKinds.contains(kind) {
            v.add("kind", "unknown", "error.field.oneOf", ["values": EnterpriseContact.manualKinds.joined(separator: ", ")])
        }
        let note = v.text(input.note, "note", required: true, max: 1000)
        var at = Date()
        if let raw = input.at, !raw.isEmpty {
            if let date = MeetingTime.parse(raw) {
                if date > Date().addingTimeInterval(300) { v.add("at", "future", "error.field.date.future") } else { at = date }
            } else { v.add("at", "format", "error.field.dateTime") }
        }
        try v.check()
        let contact = EnterpriseContact(enterpriseID: id, kind: kind, note: note, staffID: scope.staffID, at: at)
        let when = at
        let org = try await Organization.find(e.orgID, on: db)
        try await db.transaction { tx in
            try await contact.create(on: tx)
            // A first contact moves a firm without a union on to "contacted".
            let before = e.unionStatus
            if kind != "note" {
                if e.unionStatus == .none { e.unionStatus = .contacted }
                if e.lastContactAt.map({ $0 < when }) ?? true { e.lastContactAt = when }
            }
            try await e.save(on: tx)
            if before != e.unionStatus {
                try await EnterpriseContact(enterpriseID: id, kind: "status", from: before, to: e.unionStatus, staffID: scope.staffID, at: when).create(on: tx)
            }
            try await request.audit.record("enterprise.contact", targetType: "enterprise", targetID: id, org: org, details: ["kind": kind], on: tx)
        }
        return contact
    }

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

    func coverage(orgID: Int?) async throws -> CoverageDTO {
        let scope = try request.scope
        try scope.require(scope.role.readsLedger)
        let org = try await scope.org(orgID ?? scope.rootID, on: db)
        let covered = UnionStatus.coveredStatuses.map { "'\($0.rawValue)'" }.joined(separator: ",")
        let rows = try await db.sql.raw("""
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

/// Meeting times as ISO 8601 (`2026-11-23T14:00:00+08:00`, `…Z`, with or without seconds), or a
/// local time without a zone, read in Asia/Shanghai (`2026-11-23T14:00`, `2026-11-23 14:00`).
enum MeetingTime {
    static func parse(_ raw: String) -> Date? {
        let text = Normalize.singleLine(raw)
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime]
        if let date = iso.date(from: text) { return date }
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = iso.date(from: text) { return date }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = ShanghaiClock.zone
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm"] {
            local.dateFormat = format
            if let date = local.date(from: text) { return date }
        }
        return nil
    }

    /// The day in Asia/Shanghai.
    static func day(_ date: Date) -> CalendarDate { ShanghaiClock.today(date) }

    /// `2026-11-23 14:00` in Asia/Shanghai, for pages.
    static func local(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = ShanghaiClock.zone
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: date)
    }

    /// `2026-11-23T14:00` for `<input type="datetime-local">`.
    static func inputValue(_ date: Date) -> String { local(date).replacingOccurrences(of: " ", with: "T") }
}
