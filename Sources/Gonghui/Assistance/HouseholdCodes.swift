/// The value lists of a household file: each a code in the data, a label in the locale files
/// (`assistance.<list>.<code>`).
enum HouseholdCause: String, CaseIterable, Sendable {
    case illness, disability, schooling, unemployment, lowWage, accident, disaster, singleParent, enterpriseHardship, other
}

/// What rules a household out (the reviewer confirms each one absent before the file goes on).
enum HouseholdExclusion: String, CaseIterable, Sendable {
    case twoHomes, vehicle, financialAssets, shareholder, privateSchool, refusedVerification, hiddenIncome, refusesWork
}

enum HouseholdRelation: String, CaseIterable, Sendable {
    case spouse, child, parent, sibling, grandchild, other
}

enum SchoolGrade: String, CaseIterable, Sendable {
    case preschool, compulsory, seniorHigh, college, postgraduate
}

enum HouseholdHealth: String, CaseIterable, Sendable {
    case healthy, chronic, seriousIllness, cancer, cardiovascular, uremia, mental, disabled
}

enum DisabilityType: String, CaseIterable, Sendable {
    case visual, hearing, speech, intellectual, physical, mental, multiple
}

enum HousingType: String, CaseIterable, Sendable {
    case owned, publicRental, privateRental, employerDorm, none
}

/// Why a file was cancelled (注销); `fraud` marks the aid paid for recovery.
enum CancelReason: String, CaseIterable, Sendable {
    case retired, movedAway, died, ineligible, fraud
}

extension Validator {
    /// One code of a list, or nil with the field's problem noted.
    mutating func code<E: RawRepresentable & CaseIterable>(_ raw: String?, _ field: String, _ type: E.Type, required: Bool) -> E?
    where E.RawValue == String {
        guard let raw, !raw.isEmpty else {
            if required { add(field, "required") }
            return nil
        }
        guard let value = E(rawValue: raw) else {
            add(field, "oneOf", nil, ["values": E.allCases.map(\.rawValue).joined(separator: ", ")])
            return nil
        }
        return value
    }
}
