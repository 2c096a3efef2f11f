import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// What a filer sends to open a household's file (`POST /api/v1/hardship-households`) or to correct
/// a draft or a returned file (`PUT …/{id}`). The main subject is a member (`memberId`), or, for a
/// flexibly employed or unemployed worker, a name and ID number filed by a street union (`orgId`).
struct HouseholdInput: Content {
    struct Person: Content {
        var name: String?
        var relation: String?
        var idNumber: String?
        var health: String?
        var disabilityType: String?
        var disabilityGrade: Int?
        var schoolOrEmployer: String?
        var schoolGrade: String?
        var monthlyIncomeYuan: YuanInput?
    }

    var memberId: Int?
    var orgId: Int?
    var subjectName: String?
    var subjectIdNumber: String?
    var category: String?
    var categoryReason: String?
    var migrantWorker: Bool?
    var singleParent: Bool?
    var causes: [String]?
    var householdSize: Int?
    var annualIncomeYuan: YuanInput?
    /// The rigid expenses as one sum, or broken down below (the parts must add up to it when both are given).
    var rigidExpensesYuan: YuanInput?
    var medicalYuan: YuanInput?
    var disabilityYuan: YuanInput?
    var schoolingYuan: YuanInput?
    var housingYuan: YuanInput?
    var otherExpenseYuan: YuanInput?
    var housingType: String?
    var floorArea: Double?
    var members: [Person]?
}

/// The income test: 月人均纯收入 against the district's 低保 standard of the year.
struct IncomeTest: Content {
    let annualIncomeYuan: Decimal
    let rigidExpensesYuan: Decimal
    let householdSize: Int
    let perCapitaMonthlyIncomeYuan: Decimal
    /// nil when the district keeps no standard for the year.
    let dibaoMonthlyYuan: Decimal?
    let year: Int
    /// deep (≤ 1 × 低保), relative (≤ 2 × 低保), or nil (above both, or no standard kept).
    let suggestedCategory: String?

    static func suggest(perCapitaFen: Int64, dibaoFen: Int64?) -> HouseholdCategory? {
        guard let dibaoFen else { return nil }
        if perCapitaFen <= dibaoFen { return .deep }
        if perCapitaFen <= 2 * dibaoFen { return .relative }
        return nil
    }
}

/// The checks of a filing, and the writing of the file with its people.
struct HouseholdFiling {
    let request: Request
    var db: any Database { request.db }

    struct Checked {
        var org: Organization
        var member: Member?
        var subjectName: String
        var subjectSex: String
        var subjectIDCipher: Data
        var subjectIDIndex: String
        var subjectBirthDate: String
        var category: HouseholdCategory
        var suggested: HouseholdCategory?
        var categoryReason: String?
        var causes: [HouseholdCause]
        var size: Int
        var incomeFen: Int64
        var expenses: (medical: Int64, disability: Int64, schooling: Int64, housing: Int64, other: Int64)
        var housingType: String?
        var floorArea: Double?
        var people: [HardshipPerson]
        var migrantWorker = false
        var singleParent = false
    }

    /// Every field checked at once; the problems name their fields (`members[1].idNumber`).
    func check(_ input: HouseholdInput, scope: Scope, today: CalendarDate = ShanghaiClock.today()) async throws -> Checked {
        var v = Validator()
        let cipher = request.fieldCipher
        var org: Organization?
        var member: Member?
        var subject: (name: String, sex: String, cipher: Data, index: String, birth: String)?
        if let memberID = input.memberId {
            if let m = try await Member.find(memberID, on: db), let o = try? await scope.org(m.orgID, on: db) {
                if m.status != .active { v.add("memberId", "notActive", "error.assistance.memberNotActive") }
                member = m
                org = o
                subject = (m.name, m.sex, m.idCipher, m.idIndex, m.birthDate)
            } else { v.add("memberId", "notFound") }
        } else {
            // A worker outside the members database is filed by a street union.
            if let orgID = input.orgId {
                if let o = try? await scope.org(orgID, on: db) {
                    if o.kind != .street { v.add("orgId", "notStreet", "error.assistance.streetOnly") }
                    org = o
                } else { v.add("orgId", "notFound") }
            } else { v.add("memberId", "required") }
            let name = Self.name(input.subjectName, field: "subjectName", &v)
            let id = Self.residentID(input.subjectIdNumber, field: "subjectIdNumber", today: today, &v)
            if let name, let id {
                subject = (name, id.sex.rawValue, try cipher.seal(id.value), cipher.blindIndex(id.value), id.birthDate.description)
            }
        }
        let category = v.code(input.category, "category", HouseholdCategory.self, required: true)
        var causes: [HouseholdCause] = []
        for (n, raw) in (input.causes ?? []).enumerated() {
            if let c = v.code(raw, "causes[\(n)]", HouseholdCause.self, required: true), !causes.contains(c) { causes.append(c) }
        }
        if causes.isEmpty && (input.causes ?? []).isEmpty { v.add("causes", "required") }
        let size = input.householdSize
        if let size { if !(1...20).contains(size) { v.add("householdSize", "range", nil, ["min": "1", "max": "20"]) } } else { v.add("householdSize", "required") }
        let income = v.fen(input.annualIncomeYuan, "annualIncomeYuan", required: true)
        let parts = (medical: v.fen(input.medicalYuan, "medicalYuan", required: false), disability: v.fen(input.disabilityYuan, "disabilityYuan", required: false),
                     schooling: v.fen(input.schoolingYuan, "schoolingYuan", required: false), housing: v.fen(input.housingYuan, "housingYuan", required: false),
                     other: v.fen(input.otherExpenseYuan, "otherExpenseYuan", required: false))
        let partsSum = [parts.medical, parts.disability, parts.schooling, parts.housing, parts.other].compactMap { $0 }.reduce(0, +)
        let anyPart = [input.medicalYuan, input.disabilityYuan, input.schoolingYuan, input.housingYuan, input.otherExpenseYuan].contains { $0 != nil }
        var expenses = (medical: parts.medical ?? 0, disability: parts.disability ?? 0, schooling: parts.schooling ?? 0, housing: parts.housing ?? 0, other: parts.other ?? 0)
        if let total = v.fen(input.rigidExpensesYuan, "rigidExpensesYuan", required: false) {
            if anyPart { if total != partsSum { v.add("rigidExpensesYuan", "sum", "error.assistance.expenseSum", ["sum": Money.yuan(partsSum)]) } }
            else { expenses.other = total }
        }
        let housingType = v.code(input.housingType, "housingType", HousingType.self, required: false)?.rawValue
        if let area = input.floorArea, !(0...10_000).contains(area) || !area.isFinite { v.add("floorArea", "range", nil, ["min": "0", "max": "10000"]) }
        // The household's other people.
        var people: [HardshipPerson] = []
        var seen: Set<String> = subject.map { [$0.index] } ?? []
        for (n, p) in (input.members ?? []).enumerated() {
            let f = "members[\(n)]."
            let name = Self.name(p.name, field: f + "name", &v)
            let relation = v.code(p.relation, f + "relation", HouseholdRelation.self, required: true)
            let id = Self.residentID(p.idNumber, field: f + "idNumber", today: today, &v)
            let health = v.code(p.health, f + "health", HouseholdHealth.self, required: false)
            let disability = v.code(p.disabilityType, f + "disabilityType", DisabilityType.self, required: false)
            if let g = p.disabilityGrade, !(1...4).contains(g) { v.add(f + "disabilityGrade", "range", nil, ["min": "1", "max": "4"]) }
            let grade = v.code(p.schoolGrade, f + "schoolGrade", SchoolGrade.self, required: false)
            let school = v.text(p.schoolOrEmployer, f + "schoolOrEmployer", required: false, max: 100)
            let monthly = v.fen(p.monthlyIncomeYuan, f + "monthlyIncomeYuan", required: false)
            guard let name, let relation, let id else { continue }
            let index = cipher.blindIndex(id.value)
            if !seen.insert(index).inserted { v.add(f + "idNumber", "duplicate", "error.assistance.personTwice"); continue }
            let person = HardshipPerson()
            person.name = name
            person.relation = relation.rawValue
            person.idCipher = try cipher.seal(id.value)
            person.idIndex = index
            person.birthDate = id.birthDate.description
            person.health = health?.rawValue
            person.disabilityType = disability?.rawValue
            person.disabilityGrade = p.disabilityGrade
            person.schoolOrEmployer = school
            person.schoolGrade = grade?.rawValue
            person.monthlyIncomeFen = monthly ?? 0
            person.active = true
            people.append(person)
        }
        if let size, (input.members ?? []).count + 1 > size {
            v.add("householdSize", "tooFew", "error.assistance.sizeBelowPeople", ["count": String((input.members ?? []).count + 1)])
        }
        // The income test suggests a category; another needs a reason.
        var suggested: HouseholdCategory?
        if let org, let size, (1...20).contains(size), let income {
            let net = max(0, income - (expenses.medical + expenses.disability + expenses.schooling + expenses.housing + expenses.other))
            suggested = IncomeTest.suggest(perCapitaFen: net / Int64(size) / 12, dibaoFen: try await Dibao.monthlyFen(for: org, year: today.year, on: db))
        }
        let reason = v.text(input.categoryReason, "categoryReason", required: false, max: 500)
        if let category, let suggested, category != suggested, reason == nil {
            v.add("categoryReason", "required", "error.assistance.categoryReason", ["suggested": request.t("assistance.category.\(suggested.rawValue)")])
        }
        try v.check()
        return Checked(org: org!, member: member, subjectName: subject!.name, subjectSex: subject!.sex, subjectIDCipher: subject!.cipher,
                       subjectIDIndex: subject!.index, subjectBirthDate: subject!.birth, category: category!, suggested: suggested,
                       categoryReason: reason, causes: causes, size: size!, incomeFen: income!, expenses: expenses,
                       housingType: housingType, floorArea: input.floorArea, people: people,
                       migrantWorker: input.migrantWorker ?? false, singleParent: input.singleParent ?? false)
    }

    /// A person's name by the members' rules, its problems under `field`.
    static func name(_ raw: String?, field: String, _ v: inout Validator) -> String? {
        var found: [FieldIssue] = []
        let name = PersonFacts.checkName(raw, into: &found)
        for issue in found { v.add(FieldIssue(field, issue.code, issue.key, issue.args)) }
        return name
    }

    static func residentID(_ raw: String?, field: String, today: CalendarDate, _ v: inout Validator) -> ResidentID? {
        let text = raw.map(Normalize.identifier) ?? ""
        guard !text.isEmpty else { v.add(field, "required"); return nil }
        do { return try ResidentID(parsing: text, today: today, minimumAge: 0) } catch {
            switch error {
            case .format: v.add(field, "format", "error.member.idNumber.format")
            case .checksum: v.add(field, "checksum", "error.member.idNumber.checksum")
            case .birthDate: v.add(field, "birthDate", "error.member.idNumber.birthDate")
            case .future: v.add(field, "future", "error.member.idNumber.future")
            case .tooYoung: v.add(field, "format", "error.member.idNumber.format")
            }
            return nil
        }
    }

    /// Nobody stands in two open files: each person's blind index is locked, then looked up among
    /// the people of files not closed (`excluding` the file being edited); the partial unique index
    /// stands behind it. The refusal names the other file's number and union, nothing else.
    static func refuseDuplicates(_ indexes: [String], excluding householdID: Int?, on db: any Database) async throws {
        try await db.lock(indexes.map { "hardship.person.\($0)" })
        var query = HardshipPerson.query(on: db).filter(\.$idIndex ~~ indexes).filter(\.$active == true)
        if let householdID { query = query.filter(\.$householdID != householdID) }
        guard let clash = try await query.first(),
              let other = try await HardshipHousehold.find(clash.householdID, on: db) else { return }
        let union = try await Organization.find(other.orgID, on: db)
        throw AppError.conflict("error.assistance.alreadyFiled", args: ["file": other.fileNumber, "org": union?.name ?? ""],
                                fields: [FieldIssue("idNumber", "alreadyFiled", "error.assistance.alreadyFiled", ["file": other.fileNumber, "org": union?.name ?? ""])])
    }

    /// KN2026-000123: the year and a serial kept in a table (no count-then-insert).
    static func nextFileNumber(year: Int, on db: any Database) async throws -> String {
        let row = try await db.sql.raw("""
            INSERT INTO hardship_serials (year, last) VALUES (\(bind: year), 1)
            ON CONFLICT (year) DO UPDATE SET last = hardship_serials.last + 1 RETURNING last
            """).first()
        let n = try row?.decode(column: "last", as: Int.self) ?? 1
        return "KN\(year)-" + String(format: "%06d", n)
    }
}
