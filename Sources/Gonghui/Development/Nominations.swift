import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct NominationInput: Content {
    var memberId: Int?
    var category: String?
    var citation: String?
    /// `person` (the default for personal honours), `unit` or `team`: then `name` and `orgId`.
    var nomineeKind: String?
    var name: String?
    var orgId: Int?
    var employer: String?
    var nonPublic: Bool?
    var migrant: Bool?
    var newForms: Bool?
    /// The vetting checks passed: `credit`, `tax`, `safety`, `discipline`.
    var checklist: [String: Bool]?
}

struct NominationActionInput: Content {
    var action: String?
    var reason: String?
    var name: String?
    var phone: String?
}

struct NominationDTO: Content {
    let id: Int
    let campaignId: Int
    let orgId: Int
    let orgName: String?
    let nomineeKind: String
    let memberId: Int?
    let name: String
    let employer: String
    let category: String
    let women: Bool
    let nonPublic: Bool
    let migrant: Bool
    let newForms: Bool
    let citation: String
    let checklist: [String]
    let state: String
    let noticeEntryId: Int?
    let held: Bool
    let openObjections: Int
    let reason: String?
}

enum Nominations {
    static let checks = ["credit", "tax", "safety", "discipline"]

    static func create(_ req: Request, campaign c: HonourCampaign, campaignOrg: Organization, _ input: NominationInput) async throws -> HonourNomination {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        guard c.state == .open else { throw AppError.conflict("honour.error.closed", fields: [FieldIssue("state", "closed", "honour.error.closed")]) }
        let honour = try await HonourCampaigns.honour(code: c.honourCode, on: req.db)
        var v = Validator()
        let kind = input.nomineeKind ?? honour?.nominee ?? "person"
        if !["person", "unit", "team"].contains(kind) { v.add("nomineeKind", "unknown", "error.field.oneOf", ["values": "person, unit, team"]) }
        let category = input.category
        if category == nil { v.add("category", "required") }
        else if !HonourNomination.workCategories.contains(category!) {
            v.add("category", "unknown", "error.field.oneOf", ["values": HonourNomination.workCategories.joined(separator: ", ")])
        }
        let citation = v.text(input.citation, "citation", required: true, max: 2000)
        let unknownChecks = (input.checklist ?? [:]).keys.filter { !checks.contains($0) }
        if !unknownChecks.isEmpty { v.add("checklist", "unknown", "error.field.oneOf", ["values": checks.joined(separator: ", ")]) }
        var found: Member?
        var name: String?
        var orgID = input.orgId
        if kind == "person" {
            if let id = input.memberId {
                found = try await Member.find(id, on: req.db)
                if found == nil { v.add("memberId", "notFound", "honour.error.member") }
                else if found!.status != .active { v.add("memberId", "notActive", "honour.error.notActive") }
            } else { v.add("memberId", "required") }
            name = found?.name
            orgID = found?.orgID
        } else {
            name = v.text(input.name, "name", required: true, max: 100)
            if orgID == nil { v.add("orgId", "required") }
        }
        let employerText = v.text(input.employer, "employer", required: false, max: 200)
        try v.check()
        let member = found
        // the nominee's union is in the caller's subtree and under the campaign's organiser
        guard let org = try? await scope.org(orgID!, on: req.db) else {
            throw AppError.invalid([FieldIssue(kind == "person" ? "memberId" : "orgId", "outOfScope", "honour.error.outOfScope")])
        }
        guard campaignOrg.treePath.contains(org.treePath) else {
            throw AppError.invalid([FieldIssue(kind == "person" ? "memberId" : "orgId", "outOfCampaign", "honour.error.outOfCampaign", ["org": campaignOrg.name])])
        }
        let quotas = try await HonourDistrictQuota.query(on: req.db).filter(\.$campaignID == c.requireID()).all()
        let quotaOrgs = try await ApplicationService.orgNames(quotas.map(\.orgID), on: req.db)
        let quota = quotas.first { quotaOrgs[$0.orgID].map { $0.treePath.contains(org.treePath) } ?? false }
        let n = HonourNomination()
        n.campaignID = try c.requireID()
        n.orgID = try org.requireID()
        n.quotaOrgID = quota?.orgID
        n.nomineeKind = kind
        n.memberID = member?.id
        n.name = name!
        n.employer = employerText ?? member?.employerName ?? org.name
        n.category = category!
        n.women = member?.sex == "F"
        n.nonPublic = input.nonPublic ?? false
        n.migrant = input.migrant ?? false
        n.newForms = input.newForms ?? false
        n.citation = citation!
        n.checklist = checks.filter { input.checklist?[$0] == true }.joined(separator: ",")
        n.state = .nominated
        n.staffID = scope.staffID
        return try await req.db.transaction { tx in
            try await tx.lock("honour.campaign:\(n.campaignID)")
            if let m = member, try await HonourNomination.query(on: tx).filter(\.$campaignID == n.campaignID).filter(\.$memberID == m.id).first() != nil {
                throw AppError.conflict("honour.error.twice", args: ["name": m.name], fields: [FieldIssue("memberId", "duplicate", "honour.error.twice", ["name": m.name])])
            }
            if let quota {
                let used = try await HonourNomination.query(on: tx).filter(\.$campaignID == n.campaignID).filter(\.$quotaOrgID == quota.orgID)
                    .filter(\.$state !~ [.rejected, .revoked]).count()
                if used >= quota.quota {
                    let district = quotaOrgs[quota.orgID]?.name ?? ""
                    throw AppError.conflict("honour.error.districtFull", args: ["org": district, "quota": String(quota.quota)],
                                            fields: [FieldIssue("memberId", "quota", "honour.error.districtFull", ["org": district, "quota": String(quota.quota)])])
                }
            }
            try await n.create(on: tx)
            try await req.audit.record("honour.nominate", targetType: "honourNomination", targetID: n.id, org: org,
                                       details: ["campaign": String(n.campaignID), "category": n.category], on: tx)
            return n
        }
    }

    static func dto(_ n: HonourNomination, orgName: String?, on db: any Database) async throws -> NominationDTO {
        var held = false
        var open = 0
        if let entryID = n.noticeEntryID {
            held = try await PublicNoticeEntry.find(entryID, on: db)?.held ?? false
            open = try await PublicNoticeObjection.query(on: db).filter(\.$entryID == entryID).filter(\.$state == "open").count()
        }
        return NominationDTO(id: n.id ?? 0, campaignId: n.campaignID, orgId: n.orgID, orgName: orgName, nomineeKind: n.nomineeKind, memberId: n.memberID,
                             name: n.name, employer: n.employer, category: n.category, women: n.women, nonPublic: n.nonPublic, migrant: n.migrant,
                             newForms: n.newForms, citation: n.citation, checklist: n.checklist.split(separator: ",").map(String.init),
                             state: n.state.rawValue, noticeEntryId: n.noticeEntryID, held: held, openObjections: open, reason: n.reason)
    }

    /// The nomination, if its union is in the caller's subtree or the caller runs its campaign.
    static func find(_ req: Request, _ id: Int) async throws -> (HonourNomination, HonourCampaign, Organization) {
        let scope = try req.scope
        guard let n = try await HonourNomination.find(id, on: req.db), let c = try await HonourCampaign.find(n.campaignID, on: req.db),
              let campaignOrg = try await Organization.find(c.orgID, on: req.db), let org = try await Organization.find(n.orgID, on: req.db),
              scope.root.contains(org.treePath) || HonourCampaigns.runs(scope, campaignOrg)
        else { throw AppError.notFound }
        return (n, c, campaignOrg)
    }
}
