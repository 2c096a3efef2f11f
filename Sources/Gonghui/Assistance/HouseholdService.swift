import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

extension StaffRole {
    /// Files households and works them: every federation level and grassroots unions.
    var filesHouseholds: Bool { managesOrgs || self == .unionAdmin }
}

struct HouseholdPersonDTO: Content {
    let id: Int
    let name: String
    let relation: String
    let idNumberMasked: String
    let birthDate: String
    let health: String?
    let disabilityType: String?
    let disabilityGrade: Int?
    let schoolOrEmployer: String?
    let schoolGrade: String?
    let monthlyIncomeYuan: Decimal
}

struct HouseholdEventDTO: Content {
    let action: String
    let fromState: String?
    let toState: String?
    let note: String?
    let reason: String?
    let staffId: Int?
    let at: Date
}

struct HouseholdDTO: Content {
    let id: Int
    let fileNumber: String
    let state: HouseholdState
    let orgId: Int
    let orgName: String?
    let memberId: Int?
    let subjectName: String
    let category: HouseholdCategory
    let suggestedCategory: HouseholdCategory?
    let categoryReason: String?
    let migrantWorker: Bool
    let singleParent: Bool
    let causes: [String]
    let householdSize: Int
    let annualIncomeYuan: Decimal
    let rigidExpensesYuan: Decimal
    let perCapitaMonthlyIncomeYuan: Decimal
    let dibaoMonthlyYuan: Decimal?
    let housingType: String?
    let floorArea: Double?
    let exclusionsChecked: [String]
    let noticeId: Int?
    let closedOn: String?
    let closedReason: String?
    let recoverAid: Bool
    var people: [HouseholdPersonDTO]?
    var timeline: [HouseholdEventDTO]?
}

struct HouseholdService {
    let request: Request
    var db: any Database { request.db }

    /// The file, if its union lies in the caller's subtree; otherwise not found.
    func household(_ id: Int) async throws -> HardshipHousehold {
        let scope = try request.scope
        try scope.require(scope.role.filesHouseholds)
        guard let h = try await scope.records(HardshipHousehold.self, orgField: \.$orgID, on: db).filter(\.$id == id).first() else {
            throw AppError.notFound
        }
        return h
    }

    func create(_ input: HouseholdInput) async throws -> HardshipHousehold {
        let scope = try request.scope
        try scope.require(scope.role.filesHouseholds)
        let today = ShanghaiClock.today()
        let checked = try await HouseholdFiling(request: request).check(input, scope: scope, today: today)
        let request = self.request
        return try await db.transaction { db in
            let indexes = [checked.subjectIDIndex] + checked.people.map(\.idIndex)
            try await HouseholdFiling.refuseDuplicates(indexes, excluding: nil, on: db)
            let h = HardshipHousehold()
            h.orgID = try checked.org.requireID()
            h.fileNumber = try await HouseholdFiling.nextFileNumber(year: today.year, on: db)
            h.memberID = checked.member?.id
            h.state = .draft
            h.recoverAid = false
            h.exclusionsChecked = nil
            Self.apply(checked, to: h, today: today)
            try await Self.guardUnique { try await h.create(on: db) }
            for p in Self.people(checked, householdID: try h.requireID()) { try await Self.guardUnique { try await p.create(on: db) } }
            try await HouseholdWorkflow.event(h, action: "create", from: nil, to: .draft, note: nil, reason: nil, staffID: try request.scope.staffID, on: db)
            try await request.audit.record("household.create", targetType: "household", targetID: h.id, org: checked.org,
                                           details: ["fileNumber": h.fileNumber, "category": h.category.rawValue], on: db)
            return h
        }
    }

    /// A draft or a returned file is corrected by its filer; the people are written anew.
    func update(_ id: Int, _ input: HouseholdInput) async throws -> HardshipHousehold {
        let scope = try request.scope
        let h = try await household(id)
        guard h.state == .draft || h.state == .returned else {
            throw HouseholdWorkflow.refusal("notEditable", field: "state", ["state": request.t("assistance.state.\(h.state.rawValue)")])
        }
        var input = input
        input.memberId = input.memberId ?? h.memberID
        if input.memberId == nil { input.orgId = input.orgId ?? h.orgID }
        let today = ShanghaiClock.today()
        let checked = try await HouseholdFiling(request: request).check(input, scope: scope, today: today)
        let request = self.request
        return try await db.transaction { db in
            try await HouseholdFiling.refuseDuplicates([checked.subjectIDIndex] + checked.people.map(\.idIndex), excluding: id, on: db)
            try await HardshipPerson.query(on: db).filter(\.$householdID == id).delete()
            h.orgID = try checked.org.requireID()
            h.memberID = checked.member?.id
            Self.apply(checked, to: h, today: today)
            try await h.save(on: db)
            for p in Self.people(checked, householdID: id) { try await Self.guardUnique { try await p.create(on: db) } }
            try await HouseholdWorkflow.event(h, action: "edit", from: h.state, to: h.state, note: nil, reason: nil, staffID: scope.staffID, on: db)
            try await request.audit.record("household.edit", targetType: "household", targetID: id, org: checked.org, on: db)
            return h
        }
    }

    static func apply(_ c: HouseholdFiling.Checked, to h: HardshipHousehold, today: CalendarDate) {
        h.subjectName = c.subjectName
        h.subjectSex = c.subjectSex
        h.category = c.category
        h.suggestedCategory = c.suggested
        h.categoryReason = c.categoryReason
        h.causes = c.causes.map(\.rawValue).joined(separator: ",")
        h.householdSize = c.size
        h.annualIncomeFen = c.incomeFen
        (h.medicalFen, h.disabilityFen, h.schoolingFen, h.housingFen, h.otherExpenseFen) = c.expenses
        h.housingType = c.housingType
        h.floorArea = c.floorArea
        h.changedOn = today.description
        h.migrantWorker = c.migrantWorker
        h.singleParent = c.singleParent
    }

    static func people(_ c: HouseholdFiling.Checked, householdID: Int) -> [HardshipPerson] {
        let subject = HardshipPerson()
        subject.name = c.subjectName
        subject.relation = "self"
        subject.idCipher = c.subjectIDCipher
        subject.idIndex = c.subjectIDIndex
        subject.birthDate = c.subjectBirthDate
        subject.monthlyIncomeFen = 0
        subject.active = true
        let all = [subject] + c.people
        for p in all { p.householdID = householdID }
        return all
    }

    /// A member's transfer moves the open file with the member (`MemberHooks`).
    @Sendable static func follow(member: Member, from: Int, to: Int, staffID: Int?, db: any Database) async throws {
        guard let memberID = member.id else { return }
        let files = try await HardshipHousehold.query(on: db).filter(\.$memberID == memberID).filter(\.$orgID == from).all()
        for h in files where !h.state.isClosed {
            h.orgID = to
            try await h.save(on: db)
            try await HouseholdWorkflow.event(h, action: "transfer", from: h.state, to: h.state, note: nil, reason: nil, staffID: staffID, on: db)
        }
    }

    /// Two filers racing past the lookup meet the unique index: answered as the lookup would.
    static func guardUnique(_ write: () async throws -> Void) async throws {
        do { try await write() } catch let error as any DatabaseError where error.isConstraintFailure {
            throw AppError.conflict("error.assistance.alreadyFiled", args: ["file": "", "org": ""])
        }
    }

    func list(state: HouseholdState?, category: HouseholdCategory?, orgID: Int?, q: String?, paging: PageRequest) async throws -> Paged<HouseholdDTO> {
        let scope = try request.scope
        try scope.require(scope.role.filesHouseholds)
        var query = scope.records(HardshipHousehold.self, orgField: \.$orgID, on: db)
        if let orgID {
            let org = try await scope.org(orgID, on: db)
            query = query.filter(Organization.self, \.$path >= org.treePath.value).filter(Organization.self, \.$path < org.treePath.upperBound)
        }
        if let state { query = query.filter(\.$state == state) }
        if let category { query = query.filter(\.$category == category) }
        if let q, !q.isEmpty { query = query.group(.or) { $0.filter(\.$fileNumber == q).filter(\.$subjectName ~~ q) } }
        let total = try await query.count()
        let rows = try await query.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all()
        let orgs = try await ApplicationService.orgNames(rows.map(\.orgID), on: db)
        var items: [HouseholdDTO] = []
        for h in rows { items.append(try await dto(h, orgName: orgs[h.orgID]?.name, dibao: nil)) }
        return Paged(items: items, page: paging.page, per: paging.per, total: total)
    }

    func dto(_ h: HardshipHousehold, orgName: String?, dibao: Int64?, full: Bool = false) async throws -> HouseholdDTO {
        var d = HouseholdDTO(
            id: try h.requireID(), fileNumber: h.fileNumber, state: h.state, orgId: h.orgID, orgName: orgName, memberId: h.memberID,
            subjectName: h.subjectName, category: h.category, suggestedCategory: h.suggestedCategory, categoryReason: h.categoryReason,
            migrantWorker: h.migrantWorker, singleParent: h.singleParent, causes: h.causes.split(separator: ",").map(String.init),
            householdSize: h.householdSize, annualIncomeYuan: Decimal(fen: h.annualIncomeFen), rigidExpensesYuan: Decimal(fen: h.rigidExpensesFen),
            perCapitaMonthlyIncomeYuan: Decimal(fen: h.perCapitaMonthlyFen), dibaoMonthlyYuan: dibao.map { Decimal(fen: $0) },
            housingType: h.housingType, floorArea: h.floorArea, exclusionsChecked: (h.exclusionsChecked ?? "").split(separator: ",").map(String.init),
            noticeId: h.noticeID, closedOn: h.closedOn, closedReason: h.closedReason, recoverAid: h.recoverAid)
        guard full else { return d }
        let cipher = request.fieldCipher
        d.people = try await HardshipPerson.query(on: db).filter(\.$householdID == h.requireID()).sort(\.$id).all().map {
            HouseholdPersonDTO(id: $0.id ?? 0, name: $0.name, relation: $0.relation, idNumberMasked: ResidentID.mask((try? cipher.open($0.idCipher)) ?? ""),
                               birthDate: $0.birthDate, health: $0.health, disabilityType: $0.disabilityType, disabilityGrade: $0.disabilityGrade,
                               schoolOrEmployer: $0.schoolOrEmployer, schoolGrade: $0.schoolGrade, monthlyIncomeYuan: Decimal(fen: $0.monthlyIncomeFen))
        }
        d.timeline = try await HouseholdEvent.query(on: db).filter(\.$householdID == h.requireID()).sort(\.$id).all().map {
            HouseholdEventDTO(action: $0.action, fromState: $0.fromState, toState: $0.toState, note: $0.note, reason: $0.reason, staffId: $0.staffID, at: $0.at)
        }
        return d
    }

    func detail(_ id: Int) async throws -> HouseholdDTO {
        let h = try await household(id)
        let org = try await Organization.find(h.orgID, on: db)
        var dibao: Int64?
        if let org { dibao = try await Dibao.monthlyFen(for: org, year: ShanghaiClock.today().year, on: db) }
        return try await dto(h, orgName: org?.name, dibao: dibao, full: true)
    }

    /// The people's whole ID numbers: a permission, and an audit line every time.
    func reveal(_ id: Int) async throws -> [String: String] {
        let scope = try request.scope
        let h = try await household(id)
        try scope.require(scope.role.revealsIDNumbers)
        let org = try await Organization.find(h.orgID, on: db)
        try await request.audit.record("household.reveal", targetType: "household", targetID: id, org: org)
        var out: [String: String] = [:]
        for p in try await HardshipPerson.query(on: db).filter(\.$householdID == id).all() {
            out[String(p.id ?? 0)] = try request.fieldCipher.open(p.idCipher)
        }
        return out
    }
}
