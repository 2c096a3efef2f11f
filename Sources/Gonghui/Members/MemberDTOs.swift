import Foundation
import GonghuiCore
import Vapor

/// What a worker sends to join.
struct ApplicationInput: Content {
    var name: String?
    var idNumber: String?
    var phone: String?
    var employerName: String?
    var employerCreditCode: String?
    var orgId: Int?
    var meetingId: Int?
}

struct ApplicationCreated: Content {
    let id: Int
    let status: ApplicationStatus
}

/// An application as staff see it: the ID number masked, the age instead of the birth date
/// (the masked number and the birth date together would be the whole number).
struct ApplicationDTO: Content {
    let id: Int
    let status: ApplicationStatus
    let name: String
    let idNumberMasked: String
    let sex: String
    let age: Int
    let phoneMasked: String
    let employerName: String
    let employerCreditCode: String?
    let orgId: Int
    let orgName: String?
    let orgIsUnion: Bool
    let meetingId: Int?
    let reason: String?
    let memberId: Int?
    let cardNumber: String?
    let createdAt: Date?
    let reviewedAt: Date?

    init(_ app: MemberApplication, org: Organization?, cipher: FieldCipher, cardNumber: String? = nil) {
        id = app.id ?? 0
        status = app.status
        name = app.name
        idNumberMasked = (try? cipher.open(app.idCipher)).map(ResidentID.mask) ?? "******************"
        sex = app.sex
        age = (try? CalendarDate(parsing: app.birthDate)).map { ResidentID.age(born: $0, on: ShanghaiClock.today()) } ?? 0
        phoneMasked = PhoneNumber.mask(app.phone)
        employerName = app.employerName
        employerCreditCode = app.employerCreditCode
        orgId = app.orgID
        orgName = org?.name
        orgIsUnion = org?.kind.isGrassroots ?? false
        meetingId = app.meetingID
        reason = app.reason
        memberId = app.memberID
        self.cardNumber = cardNumber
        createdAt = app.createdAt
        reviewedAt = app.reviewedAt
    }
}

struct ApproveInput: Content {
    var orgId: Int?
    var joinedOn: String?
}

struct Approved: Content {
    let memberId: Int
    let cardNumber: String
}

struct ReasonInput: Content {
    var reason: String?
}

/// A member as lists and the API show them: ID number and phone masked.
struct MemberDTO: Content {
    let id: Int
    let name: String
    let idNumberMasked: String
    let sex: String
    let age: Int
    let phoneMasked: String
    let employerName: String?
    let employerCreditCode: String?
    let orgId: Int
    let orgName: String?
    let joinedOn: String
    let status: MemberStatus
    let cardNumber: String
    let cardState: CardState
    let source: String
    var history: [Event]?

    struct Event: Content {
        let kind: String
        let from: String?
        let to: String?
        let note: String?
        let at: Date
    }

    init(_ member: Member, orgName: String?, cipher: FieldCipher) {
        id = member.id ?? 0
        name = member.name
        idNumberMasked = (try? cipher.open(member.idCipher)).map(ResidentID.mask) ?? "******************"
        sex = member.sex
        age = (try? CalendarDate(parsing: member.birthDate)).map { ResidentID.age(born: $0, on: ShanghaiClock.today()) } ?? 0
        phoneMasked = PhoneNumber.mask(member.phone)
        employerName = member.employerName
        employerCreditCode = member.employerCreditCode
        orgId = member.orgID
        self.orgName = orgName
        joinedOn = member.joinedOn
        status = member.status
        cardNumber = member.cardNumber
        cardState = member.cardState
        source = member.source
    }
}

struct MemberInput: Content {
    var name: String?
    var idNumber: String?
    var phone: String?
    var employerName: String?
    var employerCreditCode: String?
    var orgId: Int?
    var joinedOn: String?
}

struct MemberPatch: Content {
    var phone: String?
    var employerName: String?
    var employerCreditCode: String?
    var status: String?
    var note: String?
}

struct CardAction: Content {
    var action: String?
}

struct RevealDTO: Content {
    let idNumber: String
}

struct TransferInput: Content {
    var toOrgId: Int?
    var reason: String?
}

struct TransferDTO: Content {
    let id: Int
    let memberId: Int
    let memberName: String
    let fromOrgId: Int
    let fromOrgName: String?
    let toOrgId: Int
    let toOrgName: String?
    let status: TransferStatus
    let requestedBy: String
    let reason: String?
    let decisionNote: String?
    let createdAt: Date?
    let decidedAt: Date?
}

struct PhoneInput: Content {
    var phone: String?
}

struct PhoneCodeInput: Content {
    var phone: String?
    var code: String?
}

struct CodeSent: Content {
    let sent: Bool
    let expiresInSeconds: Int
}

struct ApplicationStatusDTO: Content {
    let id: Int
    let status: ApplicationStatus
    let orgName: String?
    let reason: String?
    let cardNumber: String?
    let createdAt: Date?
}

struct MemberCardDTO: Content {
    let name: String
    let cardNumber: String
    let cardNumberGrouped: String
    let unionName: String
    let joinedOn: String
    let status: MemberStatus
    let cardState: CardState
}

struct MemberLoginDTO: Content {
    let token: String
    let expiresAt: Date
    let card: MemberCardDTO
}

struct UnionDTO: Content {
    let id: Int
    let name: String
    let parentName: String?
}
