import Foundation
import GonghuiCore

/// The facts about a person that an application, a roster row and a staff entry all carry,
/// checked the same way everywhere. Field names are the API's; the import maps its columns to them.
struct PersonFacts: Sendable {
    let name: String
    let residentID: ResidentID
    let phone: PhoneNumber
    let employerName: String?
    let employerCreditCode: String?

    struct Raw: Sendable {
        var name: String?
        var idNumber: String?
        var phone: String?
        var employerName: String?
        var employerCreditCode: String?
    }

    /// Checks every field and reports every problem at once; nil when any field is bad.
    static func check(_ raw: Raw, today: CalendarDate, employerRequired: Bool, into issues: inout [FieldIssue]) -> PersonFacts? {
        let before = issues.count
        let name = checkName(raw.name, into: &issues)
        var residentID: ResidentID?
        let idText = raw.idNumber.map(Normalize.identifier) ?? ""
        if idText.isEmpty {
            issues.append(FieldIssue("idNumber", "required", "error.member.idNumber.required"))
        } else {
            do { residentID = try ResidentID(parsing: idText, today: today) }
            catch {
                switch error {
                case .format: issues.append(FieldIssue("idNumber", "format", "error.member.idNumber.format"))
                case .checksum: issues.append(FieldIssue("idNumber", "checksum", "error.member.idNumber.checksum"))
                case .birthDate: issues.append(FieldIssue("idNumber", "birthDate", "error.member.idNumber.birthDate"))
                case .future: issues.append(FieldIssue("idNumber", "future", "error.member.idNumber.future"))
                case let .tooYoung(minimum):
                    issues.append(FieldIssue("idNumber", "tooYoung", "error.member.idNumber.tooYoung", ["min": String(minimum)]))
                }
            }
        }
        var phone: PhoneNumber?
        let phoneText = raw.phone.map(Normalize.identifier) ?? ""
        if phoneText.isEmpty {
            issues.append(FieldIssue("phone", "required", "error.member.phone.required"))
        } else {
            phone = try? PhoneNumber(parsing: phoneText)
            if phone == nil { issues.append(FieldIssue("phone", "format", "error.member.phone.format")) }
        }
        let employer = raw.employerName.map(Normalize.singleLine) ?? ""
        if employer.isEmpty {
            if employerRequired { issues.append(FieldIssue("employerName", "required", "error.member.employerName.required")) }
        } else if employer.count > 100 {
            issues.append(FieldIssue("employerName", "tooLong", "error.field.tooLong", ["max": "100"]))
        }
        var creditCode: String?
        if let rawCode = raw.employerCreditCode, !Normalize.identifier(rawCode).isEmpty {
            if let code = try? CreditCode(parsing: rawCode) {
                if code.checksumValid { creditCode = code.value }
                else { issues.append(FieldIssue("employerCreditCode", "checksum", "error.member.creditCode.checksum")) }
            } else {
                issues.append(FieldIssue("employerCreditCode", "format", "error.field.creditCode"))
            }
        }
        guard issues.count == before, let name, let residentID, let phone else { return nil }
        return PersonFacts(name: name, residentID: residentID, phone: phone,
                           employerName: employer.isEmpty ? nil : employer, employerCreditCode: creditCode)
    }

    /// 1–50 characters of a person's name: Chinese, Latin letters, the middle dot of minority and
    /// foreign names, spaces; no digits or punctuation.
    static func checkName(_ raw: String?, into issues: inout [FieldIssue]) -> String? {
        var name = raw.map(Normalize.singleLine) ?? ""
        if name.unicodeScalars.contains(where: { $0 == "•" || $0 == "．" }) {
            name = String(String.UnicodeScalarView(name.unicodeScalars.map { $0 == "•" || $0 == "．" ? "·" : $0 }))
        }
        if name.isEmpty {
            issues.append(FieldIssue("name", "required", "error.member.name.required"))
            return nil
        }
        if name.count > 50 {
            issues.append(FieldIssue("name", "tooLong", "error.member.name.tooLong", ["max": "50"]))
            return nil
        }
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isAlphabetic || scalar == " " || scalar == "·" || scalar == "." || scalar == "-"
        }
        guard allowed, name.unicodeScalars.contains(where: { $0.properties.isAlphabetic }) else {
            issues.append(FieldIssue("name", "format", "error.member.name.format"))
            return nil
        }
        return name
    }

    /// A joined date: a real day, not in the future, not before 1925 (the ACFTU's founding).
    static func checkJoined(_ raw: String?, field: String = "joinedOn", today: CalendarDate, into issues: inout [FieldIssue]) -> CalendarDate? {
        guard var raw, !Normalize.identifier(raw).isEmpty else { return nil }
        // A date-time cell from Excel ("2024-03-15 00:00:00"): the date is what counts.
        if raw.utf8.contains(0x20) {
            let parts = raw.split(separator: " ", omittingEmptySubsequences: true)
            if let first = parts.first { raw = String(first) }
        }
        guard let date = try? CalendarDate(parsing: raw) else {
            issues.append(FieldIssue(field, "date", "error.field.date"))
            return nil
        }
        if date > today {
            issues.append(FieldIssue(field, "future", "error.field.date.future"))
            return nil
        }
        if date.year < 1925 {
            issues.append(FieldIssue(field, "range", "error.member.joinedOn.range"))
            return nil
        }
        return date
    }
}
