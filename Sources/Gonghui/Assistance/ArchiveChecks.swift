import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

extension StaffRole {
    /// Open a district's yearly review or spot check: the district's and the city's staff.
    var opensArchiveChecks: Bool { self == .cityAdmin || self == .districtStaff }
    /// Record what a check found on a file: every federation level.
    var recordsArchiveChecks: Bool { managesOrgs }
    /// The archive's lists and statistics: every federation level and grassroots unions.
    var readsArchive: Bool { managesOrgs || self == .unionAdmin }
}

/// The yearly review (复核) and the spot check (抽查): the rounds, their lines, and what a line's
/// outcome does to the file (a lift or a cancel closes it, with its timeline line).
enum ArchiveChecks {
    static let minimumShare = 0.3

    /// The active files under a node, by id.
    static func activeIDs(under org: Organization, on db: any Database) async throws -> [Int] {
        struct Row: Decodable { let id: Int }
        return try await db.sql.raw("""
            SELECT h.id FROM hardship_households h JOIN organizations o ON o.id = h.org_id
            WHERE h.state = 'active' AND o.path >= \(bind: org.path) AND o.path < \(bind: org.treePath.upperBound)
            ORDER BY h.id
            """).all(decoding: Row.self).map(\.id)
    }

    /// Opens a round for a district's year: one line per active file (a review) or per file drawn
    /// (a spot check, `share` of them from `seed`). One round of each kind per district and year.
    static func open(_ kind: ArchiveCheck.Kind, district: Organization, year: Int, dueOn: CalendarDate, share: Double?, seed: UInt64?,
                     staffID: Int, on db: any Database) async throws -> ArchiveCheck {
        try await db.transaction { tx in
            let orgID = try district.requireID()
            try await tx.lock("archive-check:\(kind.rawValue):\(orgID):\(year)")
            if try await ArchiveCheck.query(on: tx).filter(\.$kind == kind).filter(\.$orgID == orgID).filter(\.$year == year).first() != nil {
                throw AppError.conflict("archive.error.exists", args: ["year": String(year)],
                                        fields: [FieldIssue("year", "exists", "archive.error.exists", ["year": String(year)])])
            }
            let population = try await activeIDs(under: district, on: tx)
            let check = ArchiveCheck()
            check.kind = kind
            check.orgID = orgID
            check.year = year
            check.dueOn = dueOn.description
            check.population = population.count
            check.staffID = staffID
            let chosen: [Int]
            if kind == .spotCheck {
                let seed = seed ?? UInt64.random(in: 0..<(1 << 53))
                let share = share ?? minimumShare
                check.seed = Int64(bitPattern: seed)
                check.share = share
                check.populationIDs = population.map(String.init).joined(separator: ",")
                chosen = SpotDraw.draw(population, share: share, seed: seed)
            } else {
                chosen = population
            }
            try await check.create(on: tx)
            let checkID = try check.requireID()
            for start in stride(from: 0, to: chosen.count, by: 400) {
                var insert = tx.sql.insert(into: ArchiveCheckLine.schema).columns("check_id", "household_id", "position")
                for (offset, id) in chosen[start..<min(chosen.count, start + 400)].enumerated() {
                    insert = insert.values(SQLBind(checkID), SQLBind(id), SQLBind(start + offset + 1))
                }
                try await insert.run()
            }
            return check
        }
    }

    /// The draw repeated from what the round stored: true when the same seed over the same list
    /// gives the same files in the same order.
    static func repeatsDraw(_ check: ArchiveCheck, on db: any Database) async throws -> Bool? {
        guard check.kind == .spotCheck, let seed = check.seed, let share = check.share else { return nil }
        let population = (check.populationIDs ?? "").split(separator: ",").compactMap { Int($0) }
        let again = SpotDraw.draw(population, share: share, seed: UInt64(bitPattern: seed))
        let stored = try await ArchiveCheckLine.query(on: db).filter(\.$checkID == check.requireID()).sort(\.$position).all().map(\.householdID)
        return again == stored
    }

    /// Records a line's outcome, once. A lift or a cancel closes an active file the same day.
    static func record(_ line: ArchiveCheckLine, outcome: ArchiveCheckLine.Outcome, note: String?, scope: Scope,
                       on db: any Database) async throws {
        try await db.transaction { tx in
            try await tx.lock("archive-line:\(try line.requireID())")
            guard let fresh = try await ArchiveCheckLine.find(line.id, on: tx), fresh.outcome == nil else {
                throw AppError.conflict("archive.error.recorded", fields: [FieldIssue("outcome", "recorded", "archive.error.recorded")])
            }
            let today = ShanghaiClock.today().description
            fresh.outcome = outcome
            fresh.note = note
            fresh.reviewerID = scope.staffID
            fresh.reviewerName = scope.displayName
            fresh.checkedOn = today
            try await fresh.save(on: tx)
            line.outcome = fresh.outcome
            line.note = note
            line.reviewerID = fresh.reviewerID
            line.reviewerName = fresh.reviewerName
            line.checkedOn = today
            guard outcome == .lift || outcome == .cancel,
                  let file = try await HardshipHousehold.find(line.householdID, on: tx), file.state == .active else { return }
            let to: HouseholdState = outcome == .lift ? .lifted : .cancelled
            file.state = to
            file.closedOn = today
            file.closedReason = note
            file.changedOn = today
            try await file.save(on: tx)
            try await tx.sql.raw("UPDATE hardship_people SET active = \(bind: false) WHERE household_id = \(bind: file.requireID())").run()
            let event = HouseholdEvent()
            event.householdID = try file.requireID()
            event.action = outcome.rawValue
            event.fromState = HouseholdState.active.rawValue
            event.toState = to.rawValue
            event.note = note
            event.reason = "archiveCheck:\(fresh.checkID)"
            event.staffID = scope.staffID
            event.at = Date()
            try await event.create(on: tx)
        }
    }
}
