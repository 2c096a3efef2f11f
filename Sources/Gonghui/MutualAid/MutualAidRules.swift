import Foundation
import GonghuiCore

/// The outcome codes of a claim, as the settlement import and the API report them.
enum ClaimOutcome: String, Codable, CaseIterable, Sendable {
    case paid, belowDeductible, notMember, notCovered, waitingPeriod, capReached, duplicateSettlement, badRow
    /// An application not yet decided; `rejected` an application refused by a reviewer.
    case pending, rejected

    /// The codes a settlement row can end in, in the order the import reports them.
    static let settlement: [ClaimOutcome] = [.paid, .belowDeductible, .notMember, .notCovered, .waitingPeriod, .capReached, .duplicateSettlement, .badRow]

    /// The column of `settlement_jobs` that counts it.
    var column: String {
        switch self {
        case .paid: "paid"
        case .belowDeductible: "below_deductible"
        case .notMember: "not_member"
        case .notCovered: "not_covered"
        case .waitingPeriod: "waiting_period"
        case .capReached: "cap_reached"
        case .duplicateSettlement: "duplicate_settlement"
        case .badRow, .pending, .rejected: "bad_row"
        }
    }
}

/// The benefit rule, the same for settlement rows and applications:
/// min((self-paid − deductible) × ratio, per-claim cap, yearly cap left, total cap left), rounded down to the fen.
enum AidRule {
    struct Terms: Sendable, Equatable {
        var deductibleFen: Int64
        var ratioBP: Int
        var perClaimCapFen: Int64?
        var yearlyCapFen: Int64
        var totalCapFen: Int64?
    }

    struct Decision: Sendable, Equatable {
        let outcome: ClaimOutcome
        let benefitFen: Int64
    }

    /// `yearlyUsed` and `totalUsed` are what the member has already received against the caps.
    static func decide(selfPaidFen: Int64, terms: Terms, yearlyUsed: Int64, totalUsed: Int64) -> Decision {
        guard selfPaidFen > terms.deductibleFen else { return Decision(outcome: .belowDeductible, benefitFen: 0) }
        // At most ¥10 billion × 10,000: far inside Int64.
        let raw = (selfPaidFen - terms.deductibleFen) * Int64(terms.ratioBP) / 10_000
        guard raw > 0 else { return Decision(outcome: .belowDeductible, benefitFen: 0) }
        var benefit = min(raw, terms.yearlyCapFen - yearlyUsed)
        if let cap = terms.perClaimCapFen { benefit = min(benefit, cap) }
        if let cap = terms.totalCapFen { benefit = min(benefit, cap - totalUsed) }
        guard benefit > 0 else { return Decision(outcome: .capReached, benefitFen: 0) }
        return Decision(outcome: .paid, benefitFen: benefit)
    }

    /// The day cover begins for a member who joined (or whose share took effect) on `start`.
    static func afterWaiting(_ start: String, days: Int) -> String {
        guard days > 0, let day = try? CalendarDate(parsing: start) else { return start }
        return day.adding(days: days).description
    }

    /// A ratio given as 0–1 with at most four decimals, in basis points.
    static func basisPoints(_ ratio: Decimal) -> Int? {
        let scaled = ratio * 10_000
        guard ratio >= 0, ratio <= 1, scaled == scaled.rounded0 else { return nil }
        return NSDecimalNumber(decimal: scaled).intValue
    }
}
