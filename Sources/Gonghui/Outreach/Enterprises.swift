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
                query = try await query.matching(q, .enterprises)
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
}
