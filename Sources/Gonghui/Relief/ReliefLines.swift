import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// Adds lines to a draft batch: every check, the reservation and a ledger entry per line, for one
/// line (the API) or fifty thousand (a district's 送温暖) the same way, a chunk per transaction.
/// A refused line writes nothing and names its rule; the lines beside it go on.
enum ReliefLines {
    struct Input: Sendable {
        var householdID: Int?
        /// 金秋助学: the child (a person of the household); the first child whose grade qualifies when nil.
        var personID: Int?
        /// 临时救助: the person, outside the archive.
        var name: String?
        var idNumber: String?
        var amountFen: Int64?
        var account: String?
    }

    struct Outcome: Sendable {
        let lineID: Int?
        let amountFen: Int64
        /// Why the line was refused; nil when it was added.
        let refusal: AppError?
    }

    static let chunk = 1000

    static func refuse(_ code: String, _ key: String, field: String = "householdId", status: HTTPStatusLike = .conflict,
                       args: [String: String] = [:]) -> AppError {
        let issue = FieldIssue(field, code, key, args)
        return status == .conflict ? AppError.conflict(key, args: args, fields: [issue]) : AppError.invalid([issue])
    }

    enum HTTPStatusLike { case conflict, invalid }

    /// Adds `inputs` to `batch`, `chunk` lines a transaction.
    static func add(_ inputs: [Input], to batch: ReliefBatch, program: ReliefProgram, staffID: Int?, cipher: FieldCipher,
                    on db: any Database) async throws -> [Outcome] {
        guard batch.state == .draft else { throw AppError.conflict("relief.error.batchNotDraft", fields: [FieldIssue("action", "state", "relief.error.batchNotDraft")]) }
        guard let org = try await Organization.find(batch.orgID, on: db) else { throw AppError.notFound }
        let standards = try await DibaoStandard.query(on: db).filter(\.$year == program.year).all()
        var standardByOrg: [Int: Int64] = [:]
        for s in standards { standardByOrg[s.orgID] = s.monthlyFen }
        let dibao = standardByOrg
        var out: [Outcome] = []
        out.reserveCapacity(inputs.count)
        for start in stride(from: 0, to: inputs.count, by: chunk) {
            let part = Array(inputs[start..<min(start + chunk, inputs.count)])
            let done = try await db.transaction { tx in
                try await addChunk(part, batch: batch, org: org, program: program, staffID: staffID, cipher: cipher, dibao: dibao, on: tx)
            }
            out += done
        }
        return out
    }

    struct HouseholdRow {
        let id: Int
        let orgID: Int
        let path: String
        let state: String
        let category: HouseholdCategory
        let singleParent: Bool
        let sex: String
        let name: String
        let memberID: Int?
    }

    struct Prior {
        var totalFen: Int64 = 0
        var kinds: Set<String> = []
    }

    private static func addChunk(_ inputs: [Input], batch: ReliefBatch, org: Organization, program: ReliefProgram, staffID: Int?,
                                 cipher: FieldCipher, dibao: [Int: Int64], on tx: any Database) async throws -> [Outcome] {
        let sql = tx as! any SQLDatabase
        let batchID = try batch.requireID()
        let programID = try program.requireID()
        // Lines of one year take turns (the caps count every programme of the year), then the budget row.
        try await tx.lock("relief.lines:\(program.year)")
        let rowLock: SQLQueryString = tx.isPostgres ? " FOR UPDATE" : ""
        let state = try await sql.raw("SELECT state FROM relief_batches WHERE id = \(bind: batchID)\(rowLock)").first()
        guard try state?.decode(column: "state", as: String.self) == ReliefBatchState.draft.rawValue else {
            throw AppError.conflict("relief.error.batchNotDraft", fields: [FieldIssue("action", "state", "relief.error.batchNotDraft")])
        }
        var available = try await FundsLedger.lockedAvailable(fundID: program.fundID, orgID: try org.requireID(), on: tx) ?? 0
        let temporary = program.kind == .temporary

        // What the chunk needs, read in a few statements.
        let householdIDs = Array(Set(inputs.compactMap(\.householdID)))
        var households: [Int: HouseholdRow] = [:]
        var prior: [Int: Prior] = [:]
        var takenHere: Set<String> = []
        var children: [Int: [(id: Int, grade: String?, name: String)]] = [:]
        var cards: [Int: String] = [:]
        if !householdIDs.isEmpty {
            for row in try await sql.raw("""
                SELECT h.id, h.org_id, o.path, h.state, h.category, h.single_parent, h.subject_sex, h.subject_name, h.member_id
                FROM hardship_households h JOIN organizations o ON o.id = h.org_id WHERE h.id IN (\(binds: householdIDs))
                """).all() {
                let h = HouseholdRow(id: try row.decode(column: "id", as: Int.self), orgID: try row.decode(column: "org_id", as: Int.self),
                                     path: try row.decode(column: "path", as: String.self), state: try row.decode(column: "state", as: String.self),
                                     category: HouseholdCategory(rawValue: try row.decode(column: "category", as: String.self)) ?? .relative,
                                     singleParent: try row.decode(column: "single_parent", as: Bool.self),
                                     sex: try row.decode(column: "subject_sex", as: String.self), name: try row.decode(column: "subject_name", as: String.self),
                                     memberID: try row.decode(column: "member_id", as: Int?.self))
                households[h.id] = h
            }
            for row in try await sql.raw("""
                SELECT household_id, kind, program_id, beneficiary, amount_fen FROM relief_lines
                WHERE household_id IN (\(binds: householdIDs)) AND year = \(bind: program.year) AND state IN ('reserved', 'paid')
                """).all() {
                let hid = try row.decode(column: "household_id", as: Int.self)
                prior[hid, default: Prior()].totalFen += try row.decode(column: "amount_fen", as: Int64.self)
                prior[hid, default: Prior()].kinds.insert(try row.decode(column: "kind", as: String.self))
                if try row.decode(column: "program_id", as: Int.self) == programID, let b = try row.decode(column: "beneficiary", as: String?.self) {
                    takenHere.insert(b)
                }
            }
            if program.kind == .autumnSchooling {
                for row in try await sql.raw("""
                    SELECT id, household_id, school_grade, name FROM hardship_people
                    WHERE household_id IN (\(binds: householdIDs)) AND relation = 'child' ORDER BY id
                    """).all() {
                    children[try row.decode(column: "household_id", as: Int.self), default: []].append(
                        (try row.decode(column: "id", as: Int.self), try row.decode(column: "school_grade", as: String?.self),
                         try row.decode(column: "name", as: String.self)))
                }
            }
            let memberIDs = Array(Set(households.values.compactMap(\.memberID)))
            if !memberIDs.isEmpty {
                for row in try await sql.raw("SELECT id, card_number FROM members WHERE id IN (\(binds: memberIDs))").all() {
                    cards[try row.decode(column: "id", as: Int.self)] = try row.decode(column: "card_number", as: String.self)
                }
            }
        }
        // 临时救助: the person by the blind index of the ID number, and what the year already gave them.
        var personPrior: [String: Int64] = [:]
        var people: [Int: (name: String, id: ResidentID)] = [:]
        var early: [Int: AppError] = [:]
        if temporary {
            let today = ShanghaiClock.today()
            for (n, input) in inputs.enumerated() {
                var v = Validator()
                let name = v.text(input.name, "name", required: true, max: 30)
                var parsed: ResidentID?
                if let raw = input.idNumber, !raw.isEmpty {
                    do { parsed = try ResidentID(parsing: raw, today: today, minimumAge: 0) } catch { v.add("idNumber", "format", "error.member.idNumber.format") }
                } else { v.add("idNumber", "required") }
                if input.amountFen == nil { v.add("amountYuan", "required") }
                if let name, let parsed, v.issues.isEmpty { people[n] = (name, parsed) } else { early[n] = AppError.invalid(v.issues) }
            }
            let indexes = Array(Set(people.values.map { cipher.blindIndex($0.id.value) }))
            if !indexes.isEmpty {
                for row in try await sql.raw("""
                    SELECT id_index, amount_fen FROM relief_lines WHERE id_index IN (\(binds: indexes))
                      AND year = \(bind: program.year) AND kind = 'temporary' AND state IN ('reserved', 'paid')
                    """).all() {
                    personPrior[try row.decode(column: "id_index", as: String.self), default: 0] += try row.decode(column: "amount_fen", as: Int64.self)
                }
            }
        }

        struct Accepted {
            let n: Int
            let line: ReliefLine
            let memberID: Int?
        }
        var accepted: [Accepted] = []
        var outcomes = [Outcome?](repeating: nil, count: inputs.count)
        let now = Date()
        for (n, input) in inputs.enumerated() {
            if let problem = early[n] {
                outcomes[n] = Outcome(lineID: nil, amountFen: 0, refusal: problem)
                continue
            }
            let line = ReliefLine()
            line.batchID = batchID
            line.programID = programID
            line.year = program.year
            line.kind = program.kind
            line.state = .reserved
            line.at = now
            var memberID: Int?
            var refusal: AppError?
            var cap: Int64?
            var already: Int64 = 0
            var ruleAmount: ReliefRule.Outcome = .open
            if temporary, let person = people[n] {
                let index = cipher.blindIndex(person.id.value)
                line.recipientName = person.name
                line.idCipher = try cipher.seal(person.id.value)
                line.idIndex = index
                cap = program.personYearCapFen ?? ReliefRule.temporaryPersonCapFen
                already = personPrior[index] ?? 0
            } else if let hid = input.householdID, let h = households[hid], TreePath(org.path).contains(TreePath(h.path)) {
                memberID = h.memberID
                line.householdID = hid
                line.recipientName = h.name
                line.account = input.account ?? h.memberID.flatMap { cards[$0] }
                let p = prior[hid] ?? Prior()
                already = p.totalFen
                cap = program.householdYearCapFen
                var grade: String?
                if program.kind == .autumnSchooling {
                    let kids = children[hid] ?? []
                    let child = input.personID.map { id in kids.first { $0.id == id } }
                        ?? kids.first { kid in program.grades.contains { $0.grade == kid.grade } }
                    if let child {
                        line.personID = child.id
                        grade = child.grade
                    } else if input.personID != nil {
                        refusal = refuse("notFound", "relief.error.noSuchChild", field: "personId", status: .invalid)
                    }
                }
                line.beneficiary = line.personID.map { "p:\($0)" } ?? "h:\(hid)"
                let district = TreePath(h.path).ids.reversed().first { dibao[$0] != nil }.flatMap { dibao[$0] }
                ruleAmount = ReliefRule.outcome(kind: program.kind, fixedFen: program.fixedFen, k: program.multiples, grades: program.grades,
                                                household: .init(category: h.category, singleParent: h.singleParent, subjectSex: h.sex),
                                                grade: grade, dibaoFen: district)
                if refusal != nil {
                } else if h.state != HouseholdState.active.rawValue {
                    refusal = refuse("notActive", "relief.error.notActive")
                } else if takenHere.contains(line.beneficiary!) {
                    refusal = refuse("alreadyPaid", "relief.error.alreadyPaid")
                } else if case let .refused(code, key) = ruleAmount {
                    refusal = refuse(code, key, status: .invalid)
                } else if h.category == .relative, program.relativeOneKind, !p.kinds.subtracting([program.kind.rawValue]).isEmpty {
                    refusal = refuse("categoryRule", "relief.error.relativeOneKind", status: .invalid)
                }
            } else {
                refusal = input.householdID == nil ? AppError.invalid([FieldIssue("householdId", "required")])
                    : AppError.invalid([FieldIssue("householdId", "notFound", "relief.error.noSuchHousehold")])
            }
            if refusal == nil {
                switch ruleAmount {
                case let .amount(most):
                    if let asked = input.amountFen, asked > most {
                        refusal = refuse("aboveRule", "relief.error.aboveRule", field: "amountYuan", status: .invalid, args: ["most": Money.display(most)])
                    } else { line.amountFen = input.amountFen ?? most }
                case .open:
                    if let asked = input.amountFen { line.amountFen = asked } else {
                        refusal = AppError.invalid([FieldIssue("amountYuan", "required")])
                    }
                case .refused: break
                }
            }
            if refusal == nil, !(1...Money.maxFen).contains(line.amountFen) {
                refusal = AppError.invalid([FieldIssue("amountYuan", "positive", "error.funds.positive")])
            }
            if refusal == nil, let cap, already + line.amountFen > cap {
                refusal = refuse("overCap", "relief.error.overCap", field: "amountYuan", args: ["cap": Money.display(cap), "already": Money.display(already)])
            }
            if refusal == nil, line.amountFen > available {
                refusal = FundsLedger.overBudget(org)
            }
            if let refusal {
                outcomes[n] = Outcome(lineID: nil, amountFen: 0, refusal: refusal)
                continue
            }
            available -= line.amountFen
            if let b = line.beneficiary { takenHere.insert(b) }
            if let hid = line.householdID {
                prior[hid, default: Prior()].totalFen += line.amountFen
                prior[hid, default: Prior()].kinds.insert(program.kind.rawValue)
            }
            if let index = line.idIndex { personPrior[index, default: 0] += line.amountFen }
            accepted.append(Accepted(n: n, line: line, memberID: memberID))
        }
        guard !accepted.isEmpty else { return outcomes.map { $0! } }

        // The lines, then a reserve entry each, then the batch's totals: one transaction.
        let insert = sql.insert(into: ReliefLine.schema)
            .columns("batch_id", "program_id", "year", "kind", "household_id", "person_id", "recipient_name", "id_cipher", "id_index",
                     "beneficiary", "amount_fen", "state", "account", "at")
        for a in accepted {
            let l = a.line
            insert.values([SQLBind(l.batchID), SQLBind(l.programID), SQLBind(l.year), SQLBind(l.kind.rawValue), SQLBind(l.householdID),
                           SQLBind(l.personID), SQLBind(l.recipientName), SQLBind(l.idCipher), SQLBind(l.idIndex), SQLBind(l.beneficiary),
                           SQLBind(l.amountFen), SQLBind(l.state.rawValue), SQLBind(l.account), SQLBind(l.at)])
        }
        let ids = try await insert.returning("id").all().map { try $0.decode(column: "id", as: Int.self) }.sorted()
        guard ids.count == accepted.count else { throw AppError(.internalServerError, "error.server") }
        let holds = zip(accepted, ids).map { a, id in
            FundsLedger.Hold(fen: a.line.amountFen, context: .init(staffID: staffID, householdID: a.line.householdID, memberID: a.memberID,
                                                                  batchID: batchID, ref: "relief-line:\(id)"))
        }
        try await FundsLedger.reserveMany(fundID: program.fundID, org: org, holds: holds, on: tx)
        let total = accepted.reduce(Int64(0)) { $0 + $1.line.amountFen }
        try await sql.raw("""
            UPDATE relief_batches SET line_count = line_count + \(bind: accepted.count), total_fen = total_fen + \(bind: total) WHERE id = \(bind: batchID)
            """).run()
        for (a, id) in zip(accepted, ids) { outcomes[a.n] = Outcome(lineID: id, amountFen: a.line.amountFen, refusal: nil) }
        return outcomes.map { $0! }
    }
}
