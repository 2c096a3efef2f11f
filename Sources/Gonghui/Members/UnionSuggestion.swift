import Fluent
import GonghuiCore
import Vapor

/// Which grassroots union an open application most likely belongs to, so the approve button sits
/// beside the right choice instead of the first union in alphabetical order: the union of the
/// applicant's employer (by unified social credit code, then by name), else the union of the one
/// enterprise its meeting visited, else the reviewer's own union; else none, and the reviewer chooses.
enum UnionSuggestion {
    /// What the suggestion reads of an application.
    struct Applicant {
        let id: Int
        let isOpen: Bool
        let employerName: String
        let employerCreditCode: String?
        let meetingID: Int?

        init(_ a: ApplicationDTO) {
            (id, isOpen, employerName, employerCreditCode, meetingID) = (a.id, a.status.isOpen, a.employerName, a.employerCreditCode, a.meetingId)
        }
    }

    /// The suggested union of each open application (by id), only unions inside `subtree`.
    static func suggest(_ applications: [ApplicationDTO], filer: Scope, within subtree: TreePath,
                        on db: any Database) async throws -> [Int: Organization] {
        let open = applications.map(Applicant.init).filter(\.isOpen)
        guard !open.isEmpty else { return [:] }
        let unions = UnionsInSubtree(subtree: subtree, db: db)

        let codes = Set(open.compactMap(\.employerCreditCode).filter { !$0.isEmpty })
        var byCode: [String: Organization] = [:]
        for org in try await unions.where(\.$creditCode, in: codes) {
            if let code = org.creditCode { byCode[code] = org }
        }
        let missingCodes = codes.subtracting(byCode.keys)
        if !missingCodes.isEmpty {
            let firms = try await Enterprise.query(on: db).filter(\.$creditCode ~~ missingCodes).filter(\.$unionOrgID != nil).all()
            let held = try await unions.ids(Set(firms.compactMap(\.unionOrgID)))
            for firm in firms { if let id = firm.unionOrgID, let org = held[id] { byCode[firm.creditCode] = org } }
        }

        let names = Set(open.map { Normalize.singleLine($0.employerName) }.filter { !$0.isEmpty })
        var byName: [String: Organization] = [:]
        for org in try await unions.where(\.$name, in: names.union(names.map { $0 + "工会" })) {
            let employer = org.name.hasSuffix("工会") && !names.contains(org.name) ? String(org.name.dropLast(2)) : org.name
            if byName[employer] == nil || org.name == employer + "工会" { byName[employer] = org }
        }
        // A union named after the firm with more after it ("…有限公司工会委员会"); a few names at a time.
        for name in names.subtracting(byName.keys).sorted().prefix(20) where name.count >= 4 {
            byName[name] = try await Organization.query(on: db).inSubtree(subtree).filter(\.$kind ~~ OrgKind.grassrootsKinds)
                .filter(\.$name =~ name).sort(\.$name).first()
        }
        let unnamed = names.subtracting(byName.keys)
        if !unnamed.isEmpty {
            let firms = try await Enterprise.query(on: db).filter(\.$name ~~ unnamed).filter(\.$unionOrgID != nil).all()
            let held = try await unions.ids(Set(firms.compactMap(\.unionOrgID)))
            for firm in firms { if let id = firm.unionOrgID, let org = held[id] { byName[firm.name] = org } }
        }

        let meetingIDs = Set(open.compactMap(\.meetingID))
        var byMeeting: [Int: Organization] = [:]
        if !meetingIDs.isEmpty {
            let visits = try await MeetingEnterprise.query(on: db).filter(\.$meetingID ~~ meetingIDs).all()
            let firms = try await Enterprise.query(on: db).filter(\.$id ~~ Set(visits.map(\.enterpriseID))).filter(\.$unionOrgID != nil).all()
            let held = try await unions.ids(Set(firms.compactMap(\.unionOrgID)))
            let unionOfFirm = Dictionary(uniqueKeysWithValues: firms.compactMap { f in f.unionOrgID.flatMap { held[$0] }.map { (f.id ?? 0, $0) } })
            for (meeting, rows) in Dictionary(grouping: visits, by: \.meetingID) {
                let found = Set(rows.compactMap { unionOfFirm[$0.enterpriseID]?.id })
                if found.count == 1, let id = found.first { byMeeting[meeting] = held[id] }
            }
        }

        var own: Organization?
        if let root = try await Organization.find(filer.rootID, on: db), root.kind.isGrassroots, subtree.contains(root.treePath) {
            own = root
        }

        var result: [Int: Organization] = [:]
        for application in open {
            let code = application.employerCreditCode.flatMap { byCode[$0] }
            let name = byName[Normalize.singleLine(application.employerName)]
            let meeting = application.meetingID.flatMap { byMeeting[$0] }
            if let union = code ?? name ?? meeting ?? own { result[application.id] = union }
        }
        return result
    }

    /// Grassroots unions below one node, looked up in batches.
    private struct UnionsInSubtree {
        let subtree: TreePath
        let db: any Database

        func `where`(_ field: KeyPath<Organization, OptionalFieldProperty<Organization, String>>, in values: Set<String>) async throws -> [Organization] {
            guard !values.isEmpty else { return [] }
            return try await Organization.query(on: db).inSubtree(subtree).filter(\.$kind ~~ OrgKind.grassrootsKinds)
                .filter(field ~~ values.map { Optional($0) }).all()
        }

        func `where`(_ field: KeyPath<Organization, FieldProperty<Organization, String>>, in values: Set<String>) async throws -> [Organization] {
            guard !values.isEmpty else { return [] }
            return try await Organization.query(on: db).inSubtree(subtree).filter(\.$kind ~~ OrgKind.grassrootsKinds)
                .filter(field ~~ values).all()
        }

        func ids(_ ids: Set<Int>) async throws -> [Int: Organization] {
            guard !ids.isEmpty else { return [:] }
            let rows = try await Organization.query(on: db).inSubtree(subtree).filter(\.$kind ~~ OrgKind.grassrootsKinds)
                .filter(\.$id ~~ ids).all()
            return Dictionary(uniqueKeysWithValues: rows.map { ($0.id ?? 0, $0) })
        }
    }
}
