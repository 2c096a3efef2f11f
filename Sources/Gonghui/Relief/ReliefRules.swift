import Foundation

/// 金秋助学 by school grade: a fixed amount or k tenths of a month of 低保, and who qualifies.
struct GradeRule: Codable, Sendable, Equatable {
    enum Condition: String, Codable, Sendable {
        case none
        /// Only a single parent's child.
        case singleParent
        /// Only the child of a single-parent woman worker.
        case singleParentWoman
    }

    let grade: String
    var fen: Int64?
    var k: Int?
    var condition: Condition

    /// Beijing 2021 (research §1.6): senior high ¥4,000; college or bachelor 10 months of 低保
    /// (¥12,450 in 2021); pre-school and compulsory ¥3,000 for a single parent's child only;
    /// postgraduate 10 months for a single-parent woman worker's child only.
    static let beijing2021: [GradeRule] = [
        GradeRule(grade: "preschool", fen: 300_000, k: nil, condition: .singleParent),
        GradeRule(grade: "compulsory", fen: 300_000, k: nil, condition: .singleParent),
        GradeRule(grade: "seniorHigh", fen: 400_000, k: nil, condition: .none),
        GradeRule(grade: "college", fen: nil, k: 100, condition: .none),
        GradeRule(grade: "postgraduate", fen: nil, k: 100, condition: .singleParentWoman),
    ]
}

/// What a line may receive, decided from the programme's rule and the household: the amount, or
/// the rule that refuses it. Pure, so every rule is tested without a database.
enum ReliefRule {
    enum Outcome: Equatable, Sendable {
        /// The most this line may get; staff may lower it.
        case amount(Int64)
        /// The rule names no amount (a fixed-free medical or temporary programme): staff give it.
        case open
        case refused(code: String, key: String)
    }

    struct Household: Sendable {
        let category: HouseholdCategory
        let singleParent: Bool
        let subjectSex: String
    }

    /// Default multiples per kind (research §1.6, S107): 生活救助 10 months for deep, 8 for relative.
    static func defaultMultiples(_ kind: ReliefKind) -> (deep: Int?, relative: Int?, accident: Int?) {
        switch kind {
        case .living: return (100, 80, nil)
        default: return (nil, nil, nil)
        }
    }

    static let temporaryPersonCapFen: Int64 = 300_000

    static func months(_ tenths: Int, of dibaoFen: Int64) -> Int64 { Int64(tenths) * dibaoFen / 10 }

    static func outcome(kind: ReliefKind, fixedFen: Int64?, k: (deep: Int?, relative: Int?, accident: Int?), grades: [GradeRule],
                        household h: Household, grade: String?, dibaoFen: Int64?) -> Outcome {
        if kind == .autumnSchooling {
            // 在档 深度/相对 households' children only.
            guard h.category != .accident else { return .refused(code: "categoryRule", key: "relief.error.schoolingCategory") }
            guard let grade else { return .refused(code: "categoryRule", key: "relief.error.noGrade") }
            guard let rule = grades.first(where: { $0.grade == grade }) else {
                return .refused(code: "categoryRule", key: "relief.error.gradeNotCovered")
            }
            switch rule.condition {
            case .none: break
            case .singleParent:
                guard h.singleParent else { return .refused(code: "categoryRule", key: "relief.error.singleParentOnly") }
            case .singleParentWoman:
                guard h.singleParent, h.subjectSex == "F" else { return .refused(code: "categoryRule", key: "relief.error.singleMotherOnly") }
            }
            if let fen = rule.fen { return .amount(fen) }
            if let tenths = rule.k {
                guard let dibaoFen else { return .refused(code: "noStandard", key: "relief.error.noStandard") }
                return .amount(months(tenths, of: dibaoFen))
            }
            return .open
        }
        if let fixedFen { return .amount(fixedFen) }
        let tenths: Int?
        switch h.category {
        case .deep: tenths = k.deep
        case .relative: tenths = k.relative
        case .accident: tenths = k.accident
        }
        if k.deep == nil && k.relative == nil && k.accident == nil { return .open }
        guard let tenths else { return .refused(code: "categoryRule", key: "relief.error.categoryNotCovered") }
        guard let dibaoFen else { return .refused(code: "noStandard", key: "relief.error.noStandard") }
        return .amount(months(tenths, of: dibaoFen))
    }
}

extension ReliefProgram {
    var multiples: (deep: Int?, relative: Int?, accident: Int?) { (kDeep, kRelative, kAccident) }

    var grades: [GradeRule] {
        guard let text = gradeRules, let rules = try? JSONDecoder().decode([GradeRule].self, from: Data(text.utf8)) else { return [] }
        return rules
    }
}
