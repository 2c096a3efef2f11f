import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// Hardship households for the demo (about 60, in every state) and for `seed --scale beijing`
/// (8,000): members of grassroots unions with their families, the districts' 低保 standards for
/// the last six years, the timeline of each file, and a public notice for those in notice.
struct AssistanceSeeder {
    let db: any Database
    let cipher: FieldCipher
    let progress: @Sendable (String) -> Void

    /// Demo figures, not official ones: Beijing's 2021 standard (¥1,245) and a rise each year.
    static func dibaoFen(year: Int) -> Int64 { 124_500 + Int64(max(0, year - 2021)) * 6_000 }

    /// Old county codes no member's generated ID number uses, so family people never meet a member's.
    static let familyAreas = ["110221", "110222", "110223", "110224", "110225", "110226", "110227", "110228", "110229"]

    /// The j-th family person of the i-th household: distinct for every (i, j).
    static func familyID(_ i: Int, _ j: Int, child: Bool) -> (id: String, birth: CalendarDate) {
        let key = i * 4 + j
        let area = familyAreas[key % familyAreas.count]
        let rest = key / familyAreas.count
        let base = try! CalendarDate(parsing: child ? "2005-09-01" : "1968-01-01")
        let birth = base.adding(days: rest % 6_000)
        let body = area + birth.description.replacingOccurrences(of: "-", with: "") + MemberSeeder.pad(900 + (rest / 6_000) % 100, 3)
        return (body + String(ResidentID.checkCharacter(for: body)!), birth)
    }

    static func states(_ count: Int) -> [HouseholdState] {
        if count <= 100 {
            let plan: [(HouseholdState, Int)] = [(.active, 30), (.draft, 4), (.submitted, 4), (.visited, 3), (.inNotice, 5), (.reviewed, 3),
                                                 (.returned, 3), (.lifted, 5), (.cancelled, 3)]
            return Array(plan.flatMap { Array(repeating: $0.0, count: $0.1) }.prefix(count))
        }
        return (0..<count).map { n in
            switch n % 50 {
            case 0..<34: .active
            case 34..<44: .lifted
            case 44..<48: .cancelled
            case 48: .submitted
            default: .inNotice
            }
        }
    }

    /// Returns false when the archive already has files.
    func seed(count: Int, focus: Int? = nil) async throws -> Bool {
        if try await HardshipHousehold.query(on: db).count() > 0 { return false }
        let today = ShanghaiClock.today()
        let districts = try await Organization.query(on: db).filter(\.$kind == .district).all()
        for d in districts {
            for year in (today.year - 5)...today.year {
                let s = DibaoStandard()
                s.orgID = try d.requireID()
                s.year = year
                s.monthlyFen = Self.dibaoFen(year: year)
                try await s.create(on: db)
            }
        }
        // Members spread over the unions; the focus street's unions first, so the demo's street has some of each state.
        var members: [Member] = []
        if let focus, let street = try await Organization.find(focus, on: db) {
            members = try await Member.query(on: db).join(Organization.self, on: \Member.$orgID == \Organization.$id)
                .filter(Organization.self, \.$path >= street.treePath.value).filter(Organization.self, \.$path < street.treePath.upperBound)
                .filter(\.$status == .active).sort(\.$id).limit(count / 3).all()
        }
        let taken = Set(members.compactMap(\.id))
        let stride = max(1, try await Member.query(on: db).count() / max(1, count))
        var offset = 0
        while members.count < count {
            let batch = try await Member.query(on: db).filter(\.$status == .active).sort(\.$id).range(offset..<(offset + 2_000)).all()
            if batch.isEmpty { break }
            for (n, m) in batch.enumerated() where (offset + n) % stride == 0 && !taken.contains(m.id ?? 0) && members.count < count { members.append(m) }
            offset += 2_000
        }
        let states = Self.states(members.count)
        let orgs = Dictionary(uniqueKeysWithValues: try await Organization.query(on: db).filter(\.$id ~~ Set(members.map(\.orgID))).all().map { ($0.id ?? 0, $0) })
        let causes = HouseholdCause.allCases
        for start in Swift.stride(from: 0, to: members.count, by: 500) {
            let chunk = Array(members[start..<min(start + 500, members.count)].enumerated())
            try await db.transaction { tx in
                for (k, m) in chunk {
                    let i = start + k
                    let state = states[i]
                    guard let org = orgs[m.orgID] else { continue }
                    let size = 2 + i % 4
                    var r = SiteSeeder.Stream(state: UInt64(i) &* 2_654_435_761 &+ 15)
                    let dibao = Self.dibaoFen(year: today.year)
                    // Incomes around the test: deep ≤ 1 × 低保 per person, relative ≤ 2 ×.
                    let category: HouseholdCategory = i % 9 == 0 ? .accident : (i % 3 == 0 ? .relative : .deep)
                    let factor = category == .deep ? 0.55 + r.next() * 0.4 : 1.1 + r.next() * 0.8
                    let medical = Int64(r.next() * 12_000) * 100
                    let income = Int64(Double(dibao) * factor * Double(size) * 12) + medical
                    let h = HardshipHousehold()
                    h.orgID = m.orgID
                    h.fileNumber = try await HouseholdFiling.nextFileNumber(year: today.year, on: tx)
                    h.memberID = m.id
                    h.subjectName = m.name
                    h.subjectSex = m.sex
                    h.state = state
                    h.category = category
                    h.suggestedCategory = category == .accident ? nil : category
                    h.categoryReason = category == .accident ? "突发重大疾病，医疗支出超过家庭年收入的 80%" : nil
                    h.migrantWorker = i % 7 == 0
                    h.singleParent = i % 5 == 0
                    h.causes = [causes[i % causes.count], causes[(i / 3) % causes.count]].map(\.rawValue).uniqued().joined(separator: ",")
                    h.householdSize = size
                    h.annualIncomeFen = income
                    (h.medicalFen, h.disabilityFen, h.schoolingFen, h.housingFen, h.otherExpenseFen) = (medical, 0, 0, 0, 0)
                    h.housingType = [HousingType.owned, .publicRental, .privateRental][i % 3].rawValue
                    h.floorArea = Double(20 + i % 50)
                    h.recoverAid = false
                    h.changedOn = today.adding(days: -(i % 500)).description
                    if [.reviewed, .active, .lifted, .cancelled].contains(state) { h.exclusionsChecked = HouseholdExclusion.allCases.map(\.rawValue).joined(separator: ",") }
                    if state == .lifted { (h.closedOn, h.closedReason) = (today.adding(days: -(i % 300) - 1).description, "再就业，家庭收入已超过标准") }
                    if state == .cancelled { (h.closedOn, h.closedReason) = (today.adding(days: -(i % 300) - 1).description, [CancelReason.retired, .movedAway, .ineligible][i % 3].rawValue) }
                    try await h.create(on: tx)
                    let id = try h.requireID()
                    let open = !state.isClosed
                    var people = [(m.name, "self", m.idCipher, m.idIndex, m.birthDate, nil as String?)]
                    for j in 1..<size {
                        let child = j >= 2 || size == 2
                        let p = Self.familyID(i, j, child: child)
                        let name = String(m.name.prefix(1)) + (child ? ["小明", "小红", "思远", "雨桐"][j % 4] : ["秀英", "建国", "桂兰", "志强"][i % 4])
                        let grade = child ? [SchoolGrade.compulsory, .seniorHigh, .college, .preschool][(i + j) % 4].rawValue : nil
                        people.append((name, child ? "child" : "spouse", try cipher.seal(p.id), cipher.blindIndex(p.id), p.birth.description, grade))
                    }
                    for p in people {
                        let person = HardshipPerson()
                        person.householdID = id
                        (person.name, person.relation, person.idCipher, person.idIndex, person.birthDate, person.schoolGrade) = p
                        person.health = p.1 == "self" && i % 4 == 0 ? HouseholdHealth.seriousIllness.rawValue : nil
                        person.monthlyIncomeFen = 0
                        person.active = open
                        try await person.create(on: tx)
                    }
                    try await Self.timeline(h, on: tx)
                    if state == .inNotice {
                        let notice = try await PublicNotices.open(
                            kind: "household", refID: id, org: org, title: "\(org.name)困难职工家庭建档公示", days: 5, rule: .working,
                            lines: [.init(refID: id, name: m.name, unitName: org.name, summary: category.rawValue == "deep" ? "深度困难" : (category == .relative ? "相对困难" : "意外致困"))],
                            today: today, on: tx)
                        h.noticeID = notice.id
                        try await h.save(on: tx)
                    }
                }
            }
            progress("hardship households: \(min(start + 500, members.count)) of \(members.count)")
        }
        return true
    }

    /// The steps that brought a file to its state, as its timeline.
    static func timeline(_ h: HardshipHousehold, on db: any Database) async throws {
        let path: [HouseholdStep]
        switch h.state {
        case .draft: path = []
        case .submitted: path = [.submit]
        case .visited: path = [.submit, .visit]
        case .inNotice: path = [.submit, .visit, .notice]
        case .reviewed: path = [.submit, .visit, .notice, .review]
        case .returned: path = [.submit, .visit, .return]
        case .active: path = [.submit, .visit, .notice, .review, .approve]
        case .lifted: path = [.submit, .visit, .notice, .review, .approve, .lift]
        case .cancelled: path = [.submit, .visit, .notice, .review, .approve, .cancel]
        }
        try await HouseholdWorkflow.event(h, action: "create", from: nil, to: .draft, note: nil, reason: nil, staffID: nil, on: db)
        var state = HouseholdState.draft
        for step in path {
            let note = step == .visit ? "入户核查：住房、收入情况属实" : nil
            let reason = step == .return ? "缺少收入证明" : (step == .lift || step == .cancel ? h.closedReason : nil)
            try await HouseholdWorkflow.event(h, action: step.rawValue, from: state, to: step.to, note: note, reason: reason, staffID: nil, on: db)
            state = step.to
        }
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
