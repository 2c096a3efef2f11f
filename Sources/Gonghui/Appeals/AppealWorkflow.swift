import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import NIOConcurrencyHelpers
import NIOCore
import Vapor

extension AppealService {
    // MARK: staff actions

    /// Applies one action; every change goes on the timeline and into the audit log.
    func act(_ id: Int, _ input: AppealActionInput, now: Date = Date()) async throws -> Appeal {
        let scope = try request.scope
        let a = try await find(id)
        var v = Validator()
        guard let raw = input.action, let action = AppealAction(rawValue: raw) else {
            v.add("action", input.action == nil ? "required" : "unknown", input.action == nil ? nil : "error.field.oneOf",
                  ["values": AppealAction.allCases.map(\.rawValue).joined(separator: ", ")])
            throw AppError.invalid(v.issues)
        }
        guard let next = AppealRules.next(a.state, action) else {
            throw AppError.conflict("error.appeal.notNow", args: ["action": request.t("appeal.action.\(action.rawValue)"), "state": request.t("appeal.state.\(a.state.rawValue)")],
                                    fields: [FieldIssue("action", "state", "error.appeal.notNow",
                                                        ["action": request.t("appeal.action.\(action.rawValue)"), "state": request.t("appeal.state.\(a.state.rawValue)")])])
        }
        // Free text keeps its Chinese punctuation and line breaks (a reply is a letter to the worker).
        let textField = input.text != nil ? "text" : "reason"
        var text: String? = Normalize.multiLine(input.text ?? input.reason ?? "")
        if text!.isEmpty {
            text = nil
            if [.reroute, .sendBack, .pause, .reply, .note, .resolve].contains(action) { v.add(textField, "required") }
        } else if text!.count > 2000 { v.add(textField, "tooLong", nil, ["max": "2000"]) }
        let from = a.orgID
        let fromKey = AppealTallies.key(a, orgPath: try await Organization.find(a.orgID, on: db)?.path ?? "")
        var to: Int?
        var internalText = action == .note || action == .reroute || action == .sendBack || action == .escalate || action == .assign
        switch action {
        case .reroute:
            if let orgID = input.orgId {
                if let org = try? await scope.org(orgID, on: db) { to = org.id } else {
                    // The city may pass an appeal anywhere; below it, within the subtree.
                    v.add("orgId", "notFound")
                }
            } else { v.add("orgId", "required") }
            if to == a.orgID { v.add("orgId", "same", "error.appeal.sameUnit") }
        case .sendBack:
            let org = try await Organization.find(a.orgID, on: db)
            to = org?.parentID
            if to == nil { v.add("action", "top", "error.appeal.nothingAbove") }
        case .escalate:
            let org = try await Organization.find(a.orgID, on: db)
            to = org?.parentID
            if to == nil { v.add("action", "top", "error.appeal.nothingAbove") }
        case .resolve:
            if let o = input.outcome, let outcome = AppealOutcome(rawValue: o) { a.outcome = outcome } else {
                v.add("outcome", input.outcome == nil ? "required" : "unknown", input.outcome == nil ? nil : "error.field.oneOf",
                      ["values": AppealOutcome.allCases.map(\.rawValue).joined(separator: ", ")])
            }
            if let yuan = input.amountRecoveredYuan {
                if yuan.isFinite, (0...10_000_000_000).contains(yuan) { a.recoveredFen = Int((yuan * 100).rounded()) } else {
                    v.add("amountRecoveredYuan", "range", nil, ["min": "0", "max": "10000000000"])
                }
            }
        case .assign:
            if let staffID = input.assigneeId {
                if try await scope.records(StaffUser.self, orgField: \.$orgID, on: db).filter(\.$id == staffID).first() == nil { v.add("assigneeId", "notFound") }
            } else { v.add("assigneeId", "required") }
        default: break
        }
        if let raw = input.tier, !raw.isEmpty {
            if let tier = AppealTier(rawValue: raw) { a.tier = tier } else { v.add("tier", "unknown", "error.field.oneOf", ["values": "general, difficult, complex"]) }
        }
        try v.check()

        switch action {
        case .start:
            if a.state == .waiting, let paused = a.pausedAt {
                let calendar = try await Self.calendar(on: db)
                a.dueAt = Date(timeIntervalSince1970: calendar.extend(deadlineEpoch: a.dueAt.timeIntervalSince1970, pausedFrom: paused.timeIntervalSince1970,
                                                                      to: now.timeIntervalSince1970))
                a.pausedAt = nil
            }
        case .pause:
            a.pausedAt = now
        case .resolve:
            if a.state == .waiting, let paused = a.pausedAt {
                let calendar = try await Self.calendar(on: db)
                a.dueAt = Date(timeIntervalSince1970: calendar.extend(deadlineEpoch: a.dueAt.timeIntervalSince1970, pausedFrom: paused.timeIntervalSince1970,
                                                                      to: now.timeIntervalSince1970))
                a.pausedAt = nil
            }
            a.resolvedAt = now
            a.onTime = now <= a.dueAt
        case .close:
            a.closedAt = now
        case .reopen:
            a.reopenCount += 1
            a.resolvedAt = nil
            a.closedAt = nil
            a.onTime = nil
            a.dueAt = try await Self.deadline(from: now, tier: a.tier, on: db)
        case .reroute, .sendBack:
            a.orgID = to!
            a.supervisorOrgID = nil
            a.assigneeStaffID = nil
            a.dueAt = try await Self.deadline(from: now, tier: a.tier, on: db)
        case .escalate:
            a.supervisorOrgID = to
        case .assign:
            a.assigneeStaffID = input.assigneeId
        case .accept, .reply, .note:
            break
        }
        if action == .resolve || action == .pause { internalText = false }
        a.state = next
        let org = try await Organization.find(a.orgID, on: db)
        let event = AppealEvent(appealID: id, kind: action.rawValue, from: [.reroute, .sendBack, .escalate].contains(action) ? from : nil, to: to,
                                text: text, internal: internalText, staffID: scope.staffID, at: now)
        var details = ["state": a.state.rawValue]
        if let to { details["to"] = String(to) }
        let audited = details
        let keys: Set<AppealTallies.Key> = [fromKey, AppealTallies.key(a, orgPath: org?.path ?? "")]
        try await db.transaction { tx in
            try await a.save(on: tx)
            try await event.create(on: tx)
            try await request.audit.record("appeal.\(action.rawValue)", targetType: "appeal", targetID: id, org: org, details: audited, on: tx)
            try await AppealTallies.refresh(keys, on: tx)
        }
        return a
    }

    // MARK: escalation and closing, by time

    private static let lastSweep = NIOLockedValueBox(Date.distantPast)

    /// Overdue appeals climb to their unit's parent (督办); resolutions nobody answered close after
    /// seven days. Runs from the queues at most once a minute (`throttle`), and from `gonghui appeals sweep`.
    static func sweep(on db: any Database, now: Date, throttle: Bool) async throws {
        if throttle {
            let run = lastSweep.withLockedValue { last -> Bool in
                guard now.timeIntervalSince(last) > 60 else { return false }
                last = now
                return true
            }
            guard run else { return }
        }
        // One sweep at a time across every process (a second one skips its tick), and each change
        // is conditional on the state the sweep read, so even an overlapping run cannot act twice.
        let counts = try await db.transaction { tx -> (escalated: Int, closed: Int)? in
            guard try await tx.tryLock("job:appeals.sweep") else { return nil }
            let sql = tx as! any SQLDatabase
            let running = AppealState.allCases.filter(\.clockRuns)
            let late = try await Appeal.query(on: tx).filter(\.$state ~~ running).filter(\.$dueAt < now)
                .filter(\.$supervisorOrgID == nil).limit(5000).all()
            let parents = late.isEmpty ? [:] : try await ApplicationService.orgNames(late.map(\.orgID), on: tx)
            var escalated = 0
            for a in late {
                guard let parent = parents[a.orgID]?.parentID else { continue }
                let id = try a.requireID()
                let won = try await sql.raw("""
                    UPDATE appeals SET supervisor_org_id = \(bind: parent) WHERE id = \(bind: id) AND supervisor_org_id IS NULL RETURNING id
                    """).first()
                guard won != nil else { continue }
                try await AppealEvent(appealID: id, kind: "escalate", from: a.orgID, to: parent, text: nil, internal: true, staffID: nil, at: now).create(on: tx)
                escalated += 1
            }
            let cutoff = now.addingTimeInterval(-Double(AppealRules.autoCloseDays) * 86_400)
            let quiet = try await Appeal.query(on: tx).filter(\.$state == .resolved).filter(\.$resolvedAt < cutoff).limit(5000).all()
            var closed = 0
            var keys = Set<AppealTallies.Key>()
            let quietOrgs = quiet.isEmpty ? [:] : try await ApplicationService.orgNames(quiet.map(\.orgID), on: tx)
            for a in quiet {
                let id = try a.requireID()
                let won = try await sql.raw("""
                    UPDATE appeals SET state = \(bind: AppealState.closed.rawValue), closed_at = \(bind: now)
                    WHERE id = \(bind: id) AND state = \(bind: AppealState.resolved.rawValue) RETURNING id
                    """).first()
                guard won != nil else { continue }
                try await AppealEvent(appealID: id, kind: "autoClose", text: nil, internal: false, staffID: nil, at: now).create(on: tx)
                if let path = quietOrgs[a.orgID]?.path { keys.insert(AppealTallies.key(a, orgPath: path)) }
                closed += 1
            }
            if !keys.isEmpty { try await AppealTallies.refresh(keys, on: tx) }
            if escalated + closed > 0 {
                try await Audit.write("appeal.sweep", targetType: "appeal", targetID: nil, org: nil, actor: nil, ip: nil, requestID: nil,
                                      details: ["escalated": String(escalated), "closed": String(closed)], on: tx)
            }
            return (escalated, closed)
        }
        _ = counts
    }

    // MARK: the worker's side

    /// A token for one appeal, two hours: `id.expiry.mac`, the MAC keyed by the data key.
    static func token(for id: Int, app: Application, now: Date = Date()) -> String {
        let expiry = Int(now.timeIntervalSince1970) + 7200
        return "\(id).\(expiry).\(app.fieldCipher.blindIndex("appeal-follow:\(id):\(expiry)"))"
    }

    static func appealID(fromToken token: String?, app: Application, now: Date = Date()) -> Int? {
        let parts = (token ?? "").split(separator: ".").map(String.init)
        guard parts.count == 3, let id = Int(parts[0]), let expiry = Int(parts[1]), Double(expiry) > now.timeIntervalSince1970,
              app.fieldCipher.blindIndex("appeal-follow:\(id):\(expiry)") == parts[2] else { return nil }
        return id
    }

    func followView(_ a: Appeal) async throws -> AppealFollowDTO {
        let subject = try await AppealSubject.find(a.subjectCode, on: db)
        let events = try await AppealEvent.query(on: db).filter(\.$appealID == a.requireID()).filter(\.$isInternal == false).sort(\.$at).sort(\.$id).all()
        let unit = try await Organization.find(a.orgID, on: db)
        return AppealFollowDTO(trackingNumber: a.trackingNumber, state: a.state, subjectName: subject?.name(request.lang) ?? a.subjectCode,
                               orgName: unit?.name, receivedAt: a.receivedAt, dueAt: a.dueAt, outcome: a.outcome, amountRecoveredYuan: a.recoveredFen.yuan, rating: a.rating,
                               replies: events.map { .init(kind: $0.kind, text: $0.text, at: $0.at) },
                               token: Self.token(for: try a.requireID(), app: request.application))
    }

    /// The worker confirms the resolution (closed, with a rating) or rejects it (reopened, a new deadline).
    func respond(_ a: Appeal, accept: Bool?, rating: Int?, comment: String?, now: Date = Date()) async throws -> Appeal {
        var v = Validator()
        if accept == nil { v.add("accept", "required") }
        if let rating, !(1...5).contains(rating) { v.add("rating", "range", nil, ["min": "1", "max": "5"]) }
        if accept == true, rating == nil { v.add("rating", "required") }
        let text = comment.map(Normalize.multiLine).flatMap { $0.isEmpty ? nil : $0 }
        if let text, text.count > 500 { v.add("comment", "tooLong", nil, ["max": "500"]) }
        try v.check()
        guard a.state == .resolved || (a.state == .closed && a.rating == nil) else {
            throw AppError.conflict("error.appeal.notResolved", fields: [FieldIssue("accept", "state", "error.appeal.notResolved")])
        }
        a.rating = rating ?? a.rating
        a.ratingComment = text ?? a.ratingComment
        let kind: String
        if accept == true {
            a.state = .closed
            a.closedAt = a.closedAt ?? now
            kind = "confirmed"
        } else {
            a.state = .reopened
            a.reopenCount += 1
            a.resolvedAt = nil
            a.closedAt = nil
            a.onTime = nil
            a.dueAt = try await Self.deadline(from: now, tier: a.tier, on: db)
            kind = "rejected"
        }
        let org = try await Organization.find(a.orgID, on: db)
        try await db.transaction { tx in
            try await a.save(on: tx)
            try await AppealEvent(appealID: a.requireID(), kind: kind, text: text, internal: false, staffID: nil, at: now).create(on: tx)
            if let org { try await AppealTallies.refresh([AppealTallies.key(a, orgPath: org.path)], on: tx) }
        }
        return a
    }
}

/// Runs the sweep every five minutes while the server runs, so an appeal climbs even when nobody
/// opens a queue.
struct AppealSweeper: LifecycleHandler {
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)

    func didBoot(_ application: Application) throws {
        // Only a running server sweeps: commands (seed, import, the benchmarks) boot the app too,
        // and a sweep writing beside them would take SQLite's write lock from under them.
        let command = application.environment.arguments.dropFirst().first
        guard application.environment != .testing, command == nil || command == "serve" || command!.hasPrefix("-") else { return }
        let db = application.db, logger = application.logger, localizer = application.localizer, jobs = application.scheduledJobs
        let loop = application.eventLoopGroup.next()
        let repeated = loop.scheduleRepeatedAsyncTask(initialDelay: .seconds(30), delay: .minutes(5)) { _ in
            loop.makeFutureWithTask {
                do { try await AppealService.sweep(on: db, now: Date(), throttle: false) } catch { logger.warning("appeal sweep failed: \(String(describing: error))") }
                do { try await ImportRecovery.markInterrupted(on: db, localizer: localizer, everyRunning: false) } catch { logger.warning("import check failed: \(String(describing: type(of: error)))") }
                try? await jobs.runAll(on: db, logger: logger)
            }
        }
        task.withLockedValue { $0 = repeated }
    }

    func shutdown(_ application: Application) {
        task.withLockedValue { $0?.cancel() }
    }
}

/// `gonghui appeals-sweep`: escalate overdue appeals and close quiet resolutions now (for cron).
struct AppealSweepCommand: AsyncCommand {
    struct Signature: CommandSignature { init() {} }
    var help: String { "Escalates overdue appeals to the parent unit, closes resolutions nobody answered in 7 days, and runs every other clock (contracts coming into force, …)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        try await AppealService.sweep(on: context.application.db, now: Date(), throttle: false)
        try await context.application.scheduledJobs.runAll(on: context.application.db)
        context.console.info("appeals swept")
    }
}
