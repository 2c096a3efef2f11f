import Fluent
import Foundation
import GonghuiCore
import Vapor

/// Creating, changing, moving and deleting organisations: the checks and the writes, shared by
/// the API and the console so both refuse the same things with the same words.
struct OrgService {
    let request: Request
    var db: any Database { request.db }

    func create(_ input: OrgInput) async throws -> Organization {
        let scope = try request.scope
        try scope.require(scope.role.managesOrgs)
        var v = Validator()
        let kind = parseKind(input.kind, &v, required: true)
        let name = v.text(input.name, "name", required: true, max: 100)
        var parent: Organization?
        if let parentID = input.parentId {
            parent = try? await scope.org(parentID, on: db)
            if parent == nil { v.add("parentId", "notFound") }
        } else {
            v.add("parentId", "required")
        }
        if let kind, let parent, !kind.canSit(under: parent.kind) {
            v.add("parentId", "kindMismatch", "error.field.org.kindMismatch",
                  ["kind": request.t("org.kind.\(kind.rawValue)"), "parent": request.t("org.kind.\(parent.kind.rawValue)")])
        }
        let org = Organization()
        org.kind = kind ?? .other
        org.name = name ?? ""
        applyDetails(input, to: org, &v)
        try v.check()
        try await ensureCreditCodeFree(org.creditCode, except: nil)
        let under = parent!
        try await db.transaction { tx in
            try await OrgTree.insert(org, under: under, on: tx)
            try await request.audit.record("org.create", targetType: "org", targetID: org.id, org: org,
                                           details: ["kind": org.kind.rawValue, "parentId": String(under.id ?? 0)], on: tx)
        }
        return org
    }

    func update(_ id: Int, _ input: OrgInput) async throws -> Organization {
        let scope = try request.scope
        let org = try await scope.org(id, on: db)
        try scope.require(scope.role.managesOrgs || (scope.role.editsOwnOrg && id == scope.rootID))
        var v = Validator()
        var changed: [String] = []
        // A node's name and credit code say which union it is: the level above sets them, not the
        // node's own accounts (the city's root has nobody above it).
        let ownNode = id == scope.rootID && scope.role != .cityAdmin
        let creditCodeBefore = org.creditCode
        if input.has(.name), let name = v.text(input.name, "name", required: true, max: 100), name != org.name {
            if ownNode { v.add("name", "outsideScope", "error.field.org.ownIdentity") } else {
                org.name = name
                changed.append("name")
            }
        }
        var newParent: Organization?
        if input.has(.parentId), input.parentId != org.parentID {
            if id == scope.rootID || !scope.role.managesOrgs {
                v.add("parentId", "outsideScope")
            } else if let parentID = input.parentId, let parent = try? await scope.org(parentID, on: db) {
                if org.treePath.contains(parent.treePath) {
                    v.add("parentId", "cycle", "error.field.org.cycle")
                } else {
                    newParent = parent
                }
            } else {
                v.add("parentId", input.parentId == nil ? "required" : "notFound")
            }
        }
        if input.has(.kind), let kind = parseKind(input.kind, &v, required: true), kind != org.kind {
            if id == scope.rootID || !scope.role.managesOrgs {
                v.add("kind", "outsideScope")
            } else if try await !childrenFit(under: kind, org) {
                v.add("kind", "kindChildren", "error.field.org.kindChildren")
            } else {
                org.kind = kind
                changed.append("kind")
            }
        }
        let parentKind: OrgKind?
        if let newParent { parentKind = newParent.kind } else if let pid = org.parentID {
            parentKind = try await Organization.find(pid, on: db)?.kind
        } else { parentKind = nil }
        if (newParent != nil || changed.contains("kind")), !org.kind.canSit(under: parentKind) {
            v.add(newParent != nil ? "parentId" : "kind", "kindMismatch", "error.field.org.kindMismatch",
                  ["kind": request.t("org.kind.\(org.kind.rawValue)"),
                   "parent": parentKind.map { request.t("org.kind.\($0.rawValue)") } ?? "-"])
        }
        changed += applyDetails(input, to: org, &v)
        if ownNode, org.creditCode != creditCodeBefore { v.add("creditCode", "outsideScope", "error.field.org.ownIdentity") }
        try v.check()
        try await ensureCreditCodeFree(org.creditCode, except: id)
        let (target, changedFields) = (newParent, changed)
        try await db.transaction { tx in
            if let newParent = target {
                let from = org.parentID
                try await OrgTree.move(org, under: newParent, on: tx)
                try await request.audit.record("org.move", targetType: "org", targetID: id, org: org,
                                               details: ["from": String(from ?? 0), "to": String(newParent.id ?? 0)], on: tx)
            }
            if !changedFields.isEmpty {
                try await org.save(on: tx)
                try await request.audit.record("org.update", targetType: "org", targetID: id, org: org,
                                               details: ["fields": changedFields.sorted().joined(separator: ",")], on: tx)
            }
        }
        return org
    }

    func delete(_ id: Int) async throws {
        let scope = try request.scope
        let org = try await scope.org(id, on: db)
        try scope.require(scope.role.managesOrgs && id != scope.rootID)
        let children = try await Organization.query(on: db).filter(\.$parentID == id).count()
        if children > 0 {
            throw AppError.conflict("error.org.hasChildren", args: ["count": String(children)])
        }
        for dependent in request.application.orgDependents.all {
            let count = try await dependent.count(db, id)
            if count > 0 {
                throw AppError.conflict(dependent.blocksDeleteKey, args: ["count": String(count)])
            }
        }
        try await db.transaction { tx in
            try await request.audit.record("org.delete", targetType: "org", targetID: id, org: org,
                                           details: ["name": org.name, "kind": org.kind.rawValue], on: tx)
            try await org.delete(on: tx)
        }
    }

    // MARK: - checks

    private func parseKind(_ raw: String?, _ v: inout Validator, required: Bool) -> OrgKind? {
        guard let raw, !raw.isEmpty else {
            if required { v.add("kind", "required") }
            return nil
        }
        guard let kind = OrgKind(rawValue: raw) else {
            v.add("kind", "unknown", "error.field.oneOf", ["values": OrgKind.allCases.map(\.rawValue).joined(separator: ", ")])
            return nil
        }
        return kind
    }

    /// Applies the optional details, returning the names of the fields that changed.
    @discardableResult
    private func applyDetails(_ input: OrgInput, to org: Organization, _ v: inout Validator) -> [String] {
        var changed: [String] = []
        func set(_ key: OrgInput.CodingKeys, _ path: ReferenceWritableKeyPath<Organization, String?>, _ value: String?) {
            guard input.has(key) else { return }
            if org[keyPath: path] != value {
                org[keyPath: path] = value
                changed.append(key.rawValue)
            }
        }
        func blank(_ s: String?) -> Bool { s.map { Normalize.singleLine($0).isEmpty } ?? true }

        if !blank(input.divisionCode) {
            if let code = try? DivisionCode(parsing: input.divisionCode!) { set(.divisionCode, \.divisionCode, code.value) } else { v.add("divisionCode", "format", "error.field.divisionCode") }
        } else { set(.divisionCode, \.divisionCode, nil) }

        if !blank(input.creditCode) {
            do { set(.creditCode, \.creditCode, try CreditCode(parsing: input.creditCode!).value) } catch {
                v.add("creditCode", "format", "error.field.creditCode")
            }
        } else { set(.creditCode, \.creditCode, nil) }

        let today = ShanghaiClock.today()
        var founded: CalendarDate?
        if !blank(input.foundedOn) {
            if let date = try? CalendarDate(parsing: input.foundedOn!) {
                if date > today { v.add("foundedOn", "future", "error.field.date.future") } else {
                    founded = date
                    set(.foundedOn, \.foundedOn, date.description)
                }
            } else { v.add("foundedOn", "format", "error.field.date") }
        } else { set(.foundedOn, \.foundedOn, nil) }

        if !blank(input.termEndsOn) {
            if let date = try? CalendarDate(parsing: input.termEndsOn!) {
                let start = founded ?? org.foundedOn.flatMap { try? CalendarDate(parsing: $0) }
                if let start, date <= start { v.add("termEndsOn", "beforeStart", "error.field.date.beforeFounded") } else {
                    set(.termEndsOn, \.termEndsOn, date.description)
                }
            } else { v.add("termEndsOn", "format", "error.field.date") }
        } else { set(.termEndsOn, \.termEndsOn, nil) }

        if !blank(input.contactPhone) {
            if let phone = ContactPhone.normalise(input.contactPhone!) { set(.contactPhone, \.contactPhone, phone) } else { v.add("contactPhone", "format", "error.field.phone") }
        } else { set(.contactPhone, \.contactPhone, nil) }

        set(.chairName, \.chairName, v.text(input.chairName, "chairName", required: false, max: 50))
        set(.contactName, \.contactName, v.text(input.contactName, "contactName", required: false, max: 50))
        set(.address, \.address, v.text(input.address, "address", required: false, max: 200))
        return changed
    }

    private func ensureCreditCodeFree(_ code: String?, except id: Int?) async throws {
        guard let code else { return }
        var query = Organization.query(on: db).filter(\.$creditCode == code)
        if let id { query = query.filter(\.$id != id) }
        if try await query.count() > 0 {
            throw AppError.conflict("error.org.creditCodeTaken", fields: [FieldIssue("creditCode", "taken", "error.field.creditCode.taken")])
        }
    }

    private func childrenFit(under kind: OrgKind, _ org: Organization) async throws -> Bool {
        let kinds = try await Organization.query(on: db).filter(\.$parentID == org.id).all(\.$kind)
        return kinds.allSatisfy { $0.canSit(under: kind) }
    }
}

/// "Today" and "now" in Asia/Shanghai, where the federation reasons about dates.
enum ShanghaiClock {
    static let zone = TimeZone(identifier: "Asia/Shanghai")!

    static func today(_ now: Date = Date()) -> CalendarDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        return try! CalendarDate(year: parts.year!, month: parts.month!, day: parts.day!)
    }

    /// The instant a Beijing day starts.
    static func startOfDay(_ day: CalendarDate) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day)) ?? Date()
    }
}
