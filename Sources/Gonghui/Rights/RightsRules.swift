import Foundation
import GonghuiCore
import Vapor

/// The figures the law sets (集体合同规定, 劳动合同法 Art. 54, 企业民主管理规定, 劳动争议调解仲裁法):
/// `../shared/research/assistance-rights-development.md` §3.
enum RightsRules {
    /// The other side answers an offer in writing within 20 days.
    static let replyDays = 20
    /// The employer files a signed contract with the labour bureau within 10 days.
    static let filingDays = 10
    /// The bureau objects within 15 days, or the contract is in force.
    static let reviewDays = 15
    /// Published to the workers within 10 days of taking effect.
    static let publishDays = 10
    /// Either side may ask to renew in the last 3 months.
    static let renewalMonths = 3
    static let termYears = 1...3
    static let congressTermYears = 3...5
    /// Each side sends 3 to 10 representatives.
    static let sideSize = 3...10
    /// Mediation that reaches no agreement in 15 days opens arbitration.
    static let mediationDays = 15
    /// The arbitration award is due 45 days after acceptance, 15 more when extended.
    static let awardDays = 45
    static let awardExtensionDays = 15
    /// The list warns when fewer than 30 days of the one-year limit are left.
    static let limitationWarnDays = 30
    /// A unit under 100 employees holds a workers' assembly (职工大会) instead of a congress.
    static let assemblyBelow = 100

    /// Checks both sides of a bargaining round and returns them as the JSON the round keeps:
    /// equal numbers, 3 to 10 each, one chief each, experts at most a third of a side and never chief.
    static func checkSides(union: [RepresentativeInput]?, employer: [RepresentativeInput]?, _ v: inout Validator) -> String {
        var sides: [String: [[String: String]]] = [:]
        for (field, list) in [("unionSide", union), ("employerSide", employer)] {
            guard let list else { v.add(field, "required"); continue }
            if !sideSize.contains(list.count) {
                v.add(field, "size", "rights.error.round.size", ["min": "3", "max": "10"])
            }
            var rows: [[String: String]] = []
            for (i, r) in list.enumerated() {
                let name = v.text(r.name, "\(field)[\(i)].name", required: true, max: 50)
                if r.chief == true, r.expert == true { v.add("\(field)[\(i)].chief", "expertChief", "rights.error.round.expertChief") }
                rows.append(["name": name ?? "", "chief": r.chief == true ? "1" : "0", "expert": r.expert == true ? "1" : "0"])
            }
            if list.filter({ $0.chief == true }).count != 1 { v.add(field, "chief", "rights.error.round.chief") }
            if list.filter({ $0.expert == true }).count * 3 > list.count { v.add(field, "experts", "rights.error.round.experts") }
            sides[field == "unionSide" ? "union" : "employer"] = rows
        }
        if let union, let employer, union.count != employer.count {
            v.add("employerSide", "unequal", "rights.error.round.unequal", ["union": String(union.count), "employer": String(employer.count)])
        }
        let data = (try? JSONSerialization.data(withJSONObject: sides, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a draft's terms into the contract.
    static func terms(_ input: ContractActionInput, into c: CollectiveContract, _ v: inout Validator) {
        if let p = input.wageRisePercent {
            if p < -100 || p > 100 { v.add("wageRisePercent", "range", nil, ["min": "-100", "max": "100"]) } else {
                c.wageRiseBP = NSDecimalNumber(decimal: p * 100).rounding(accordingToBehavior: nil).intValue
            }
        }
        if let fen = v.yuan(input.lowestWageYuan, "lowestWageYuan") { c.lowestWageFen = fen }
        if let topics = input.topics {
            let known = Set(BargainingTopic.allCases.map(\.rawValue))
            let bad = topics.filter { !known.contains($0) }
            if bad.isEmpty { c.topics = BargainingTopic.allCases.map(\.rawValue).filter(topics.contains).joined(separator: ",") } else {
                v.add("topics", "unknown", "error.field.oneOf", ["values": known.sorted().joined(separator: ", ")])
            }
        }
        if let n = input.workersCovered {
            if n < 0 || n > 10_000_000 { v.add("workersCovered", "range", nil, ["min": "0", "max": "10000000"]) } else { c.workersCovered = n }
        }
    }

    /// The day a date field names: nil when absent, a problem when it is not a day or lies ahead.
    static func day(_ raw: String?, _ field: String, today: CalendarDate, required: Bool = false, future: Bool = false,
                    _ v: inout Validator) -> CalendarDate? {
        guard let raw, !raw.isEmpty else {
            if required { v.add(field, "required") }
            return nil
        }
        guard let d = try? CalendarDate(parsing: raw) else {
            v.add(field, "format", "error.field.date")
            return nil
        }
        // Years the law's clocks can be counted from and to (a term of five years from 9999 cannot).
        guard (1950...2100).contains(d.year) else {
            v.add(field, "range", "rights.error.year", ["min": "1950", "max": "2100"])
            return nil
        }
        if !future, d > today {
            v.add(field, "future", "error.field.date.future")
            return nil
        }
        return d
    }
}
