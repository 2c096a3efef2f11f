import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

extension StaffRole {
    /// Read budgets and the ledger of the subtree: every federation level and grassroots unions.
    var readsFunds: Bool { managesOrgs || self == .unionAdmin }
}

struct FundEntryDTO: Content {
    let id: Int
    let fundId: Int
    let orgId: Int
    let orgName: String?
    let kind: FundEntry.Kind
    let amountYuan: Decimal
    let fromOrgId: Int?
    let householdId: Int?
    let memberId: Int?
    let batchId: Int?
    let ref: String?
    let reversesId: Int?
    let staffId: Int?
    let reason: String?
    let at: Date
}

struct FundBudgetDTO: Content {
    let orgId: Int
    let orgName: String
    let allocatedYuan: Decimal
    let allocatedOnYuan: Decimal
    let reservedYuan: Decimal
    let paidYuan: Decimal
    let availableYuan: Decimal
}

extension Decimal {
    /// Fen as the API's yuan number, exact to the fen.
    init(fen: Int64) { self = Decimal(string: Money.yuan(fen))! }
}

/// `GET /api/v1/funds-ledger`, `GET /api/v1/funds/{id}/budgets`: what moved and what is held, in the caller's subtree.
struct FundsController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("funds-ledger", use: ledger)
        routes.get("funds", ":id", "budgets", use: budgets)
    }

    @Sendable func ledger(req: Request) async throws -> Paged<FundEntryDTO> {
        let scope = try req.scope
        try scope.require(scope.role.readsFunds)
        var v = Validator()
        var fundID = req.optionalID("fundId", &v)
        let programID = req.optionalID("programId", &v)
        let orgID = req.optionalID("orgId", &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        if let programID {
            // A relief programme's fund; an unknown programme is simply not found.
            guard let fund = try await Fund.query(on: req.db).filter(\.$kind == "relief").filter(\.$refID == programID).first() else {
                throw AppError.notFound
            }
            fundID = fund.id
        }
        var query = scope.records(FundEntry.self, orgField: \.$orgID, on: req.db)
        if let orgID {
            let org = try await scope.org(orgID, on: req.db)
            query = query.filter(Organization.self, \.$path >= org.path).filter(Organization.self, \.$path < org.treePath.upperBound)
        }
        if let fundID { query = query.filter(\.$fundID == fundID) }
        let total = try await query.count()
        let rows = try await query.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all()
        let orgs = try await ApplicationService.orgNames(rows.map(\.orgID), on: req.db)
        return Paged(items: rows.map { e in
            FundEntryDTO(id: e.id ?? 0, fundId: e.fundID, orgId: e.orgID, orgName: orgs[e.orgID]?.name, kind: e.kind, amountYuan: Decimal(fen: e.amountFen),
                         fromOrgId: e.fromOrgID, householdId: e.householdID, memberId: e.memberID, batchId: e.batchID, ref: e.ref,
                         reversesId: e.reversesID, staffId: e.staffID, reason: e.reason, at: e.at)
        }, page: paging.page, per: paging.per, total: total)
    }

    @Sendable func budgets(req: Request) async throws -> [FundBudgetDTO] {
        let scope = try req.scope
        try scope.require(scope.role.readsFunds)
        let fundID = try req.idParameter()
        guard try await Fund.find(fundID, on: req.db) != nil else { throw AppError.notFound }
        let rows = try await scope.records(FundBudget.self, orgField: \.$orgID, on: req.db).filter(\.$fundID == fundID)
            .sort(Organization.self, \.$path).all()
        let orgs = try await ApplicationService.orgNames(rows.map(\.orgID), on: req.db)
        return rows.map { b in
            FundBudgetDTO(orgId: b.orgID, orgName: orgs[b.orgID]?.name ?? "", allocatedYuan: Decimal(fen: b.allocatedFen),
                          allocatedOnYuan: Decimal(fen: b.allocatedOutFen), reservedYuan: Decimal(fen: b.reservedFen),
                          paidYuan: Decimal(fen: b.paidFen), availableYuan: Decimal(fen: b.availableFen))
        }
    }
}

/// The proof that balances and entries agree: every budget recomputed from the entries.
enum FundsAudit {
    struct Mismatch: Sendable, Equatable, CustomStringConvertible {
        let fundID: Int
        let orgID: Int
        let column: String
        let stored: Int64
        let recounted: Int64
        var description: String { "fund \(fundID) org \(orgID) \(column): stored \(stored), entries say \(recounted)" }
    }

    static func verify(on db: any Database) async throws -> [Mismatch] {
        let sql = db as! any SQLDatabase
        struct Key: Hashable { let fund: Int; let org: Int }
        var expected: [Key: [String: Int64]] = [:]
        for row in try await sql.raw("""
            SELECT fund_id, org_id, kind, CAST(SUM(amount_fen) AS BIGINT) AS total FROM fund_entries GROUP BY fund_id, org_id, kind
            """).all() {
            let key = Key(fund: try row.decode(column: "fund_id", as: Int.self), org: try row.decode(column: "org_id", as: Int.self))
            expected[key, default: [:]][try row.decode(column: "kind", as: String.self)] = try row.decode(column: "total", as: Int64.self)
        }
        var out: [Key: Int64] = [:]
        for row in try await sql.raw("""
            SELECT fund_id, from_org_id, CAST(SUM(amount_fen) AS BIGINT) AS total FROM fund_entries
            WHERE kind = 'allocate' AND from_org_id IS NOT NULL GROUP BY fund_id, from_org_id
            """).all() {
            out[Key(fund: try row.decode(column: "fund_id", as: Int.self), org: try row.decode(column: "from_org_id", as: Int.self))] =
                try row.decode(column: "total", as: Int64.self)
        }
        var mismatches: [Mismatch] = []
        let budgets = try await FundBudget.query(on: db).all()
        var seen = Set<Key>()
        for b in budgets {
            let key = Key(fund: b.fundID, org: b.orgID)
            seen.insert(key)
            let k = expected[key] ?? [:]
            let recount: [(String, Int64, Int64)] = [
                ("allocated_fen", b.allocatedFen, k["allocate"] ?? 0),
                ("allocated_out_fen", b.allocatedOutFen, out[key] ?? 0),
                ("reserved_fen", b.reservedFen, (k["reserve"] ?? 0) - (k["release"] ?? 0) - (k["pay"] ?? 0)),
                ("paid_fen", b.paidFen, (k["pay"] ?? 0) - (k["reverse"] ?? 0)),
            ]
            for (column, stored, recounted) in recount where stored != recounted {
                mismatches.append(Mismatch(fundID: b.fundID, orgID: b.orgID, column: column, stored: stored, recounted: recounted))
            }
        }
        for key in Set(expected.keys).union(out.keys).subtracting(seen) {
            mismatches.append(Mismatch(fundID: key.fund, orgID: key.org, column: "budget", stored: 0, recounted: 1))
        }
        return mismatches
    }
}

/// `gonghui funds verify`: recounts every budget from the ledger; exit status 1 on any difference.
struct FundsCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "verify: recount every budget from the ledger's entries") var action: String
        init() {}
    }

    var help: String { "Recounts every fund budget from the append-only ledger and names any difference." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard signature.action == "verify" else {
            context.console.error("unknown action \(signature.action); use: gonghui funds verify")
            throw ExitCode(1)
        }
        let mismatches = try await FundsAudit.verify(on: context.application.db)
        let budgets = try await FundBudget.query(on: context.application.db).count()
        if mismatches.isEmpty {
            context.console.info("funds: \(budgets) budgets agree with the ledger")
        } else {
            for m in mismatches { context.console.error(m.description) }
            throw ExitCode(1)
        }
    }
}

struct ExitCode: Error, CustomStringConvertible {
    let code: Int32
    init(_ code: Int32) { self.code = code }
    var description: String { "exit \(code)" }
}

/// The funds ledger as a module: its tables, its commands, its routes.
enum FundsModule: AppModule {
    static func configure(_ app: Application) throws {
        app.addMigrations([CreateFunds()])
        app.asyncCommands.use(FundsCommand(), as: "funds")
    }

    static func routes(_ routes: ModuleRoutes) throws {
        try routes.staffAPI.register(collection: FundsController())
    }
}
