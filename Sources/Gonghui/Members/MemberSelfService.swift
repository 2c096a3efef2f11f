import Crypto
import Fluent
import Foundation
import GonghuiCore
import Vapor

/// Members on their phones: sign in with a one-time code, the electronic card, a new number,
/// a transfer request. API tokens start `ghm_`; the phone pages keep the member in the session.
enum MemberAuth {
    static let lifetime: TimeInterval = 30 * 86_400

    /// The active member with this number (the newest record when a number was reused).
    /// The one active member with this number; nil when none, or when several share it (a family
    /// phone, a recycled number): showing one of them someone else's card is worse than asking them
    /// to see their union.
    static func member(phone: PhoneNumber, on db: any Database) async throws -> Member? {
        let found = try await Member.query(on: db).filter(\.$phone == phone.value).filter(\.$status == .active).limit(2).all()
        return found.count == 1 ? found[0] : nil
    }

    static func issueToken(for member: Member, on db: any Database) async throws -> (String, Date) {
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &rng) }
        let token = "ghm_" + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let record = MemberToken()
        record.tokenHash = Tokens.hash(token)
        record.memberID = try member.requireID()
        record.expiresAt = Date().addingTimeInterval(lifetime)
        try await record.create(on: db)
        return (token, record.expiresAt)
    }

    static func card(_ member: Member, on db: any Database) async throws -> MemberCardDTO {
        let union = try await Organization.find(member.orgID, on: db)
        let card = (try? CardNumber(parsing: member.cardNumber))?.grouped ?? member.cardNumber
        return MemberCardDTO(name: member.name, cardNumber: member.cardNumber, cardNumberGrouped: card, unionName: union?.name ?? "",
                             joinedOn: member.joinedOn, status: member.status, cardState: member.cardState)
    }

    /// Sends a sign-in code when the number belongs to an active member; the answer is the same either way.
    static func sendSignInCode(_ phone: PhoneNumber, on req: Request) async throws {
        let known = try await member(phone: phone, on: req.db) != nil
        try await req.oneTimeCodes.send(to: phone, purpose: .signIn, deliver: known)
    }

    static func signIn(_ phone: PhoneNumber, code: String?, on req: Request) async throws -> Member {
        try await req.oneTimeCodes.verify(phone, purpose: .signIn, code: code)
        guard let member = try await member(phone: phone, on: req.db) else { throw AppError.unauthorized }
        try await Audit.write("member.signIn", targetType: "member", targetID: member.id, org: nil, actor: nil,
                              ip: req.clientAddress, requestID: String(req.id.prefix(64)), details: [:], on: req.db)
        return member
    }

    /// Changes the number after a code sent to the new one.
    static func changePhone(_ member: Member, to phone: PhoneNumber, code: String?, on req: Request) async throws {
        try await req.oneTimeCodes.verify(phone, purpose: .changePhone, code: code)
        let old = member.phone
        member.phone = phone.value
        try await req.db.transaction { tx in
            try await member.save(on: tx)
            try await MemberEvent(memberID: try member.requireID(), kind: "phoneChanged", from: PhoneNumber.mask(old), to: phone.masked, note: "self", actor: nil).create(on: tx)
            try await Audit.write("member.phone.self", targetType: "member", targetID: member.id, org: nil, actor: nil,
                                  ip: req.clientAddress, requestID: String(req.id.prefix(64)), details: [:], on: tx)
        }
    }
}

extension Request {
    private struct MemberKey: StorageKey { typealias Value = Member }

    var signedInMember: Member? {
        get { storage[MemberKey.self] }
        set { storage[MemberKey.self] = newValue }
    }

    var member: Member {
        get throws {
            guard let member = signedInMember else { throw AppError.unauthorized }
            return member
        }
    }
}

/// A live `ghm_` token of an active member, or 401.
struct MemberBearerMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let bearer = request.headers.bearerAuthorization?.token, bearer.hasPrefix("ghm_"), bearer.count < 200,
              let token = try await MemberToken.query(on: request.db).filter(\.$tokenHash == Tokens.hash(bearer))
                .filter(\.$revokedAt == nil).filter(\.$expiresAt > Date()).first(),
              let member = try await Member.find(token.memberID, on: request.db), member.status == .active
        else { throw AppError.unauthorized }
        request.signedInMember = member
        request.storage[MemberTokenIDKey.self] = token.id
        return try await next.respond(to: request)
    }
}

struct MemberTokenIDKey: StorageKey { typealias Value = Int }

/// Grassroots unions by name, for choosing where a member transfers to (names are public).
enum UnionSearch {
    static func byName(_ raw: String, excluding: Int?, limit: Int, on db: any Database) async throws -> [UnionDTO] {
        let q = String(Normalize.singleLine(raw).prefix(50))
        guard !q.isEmpty else { return [] }
        var query = Organization.query(on: db).filter(\.$kind ~~ OrgKind.grassrootsKinds).filter(\.$name ~~ q)
        if let excluding { query = query.filter(\.$id != excluding) }
        let rows = try await query.sort(\.$name).limit(limit).all()
        let parents = try await ApplicationService.orgNames(rows.compactMap(\.parentID), on: db)
        return rows.map { UnionDTO(id: $0.id ?? 0, name: $0.name, parentName: $0.parentID.flatMap { parents[$0]?.name }) }
    }
}

/// `/api/v1/member-auth/*` (no account) and `/api/v1/me/*` (a member's token).
struct MemberSelfController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let auth = routes.grouped("member-auth")
        auth.grouped(AddressLimit("memberSignIn")).post("code", use: sendCode)
        auth.grouped(AddressLimit("memberSignIn")).post("login", use: login)
        routes.get("unions", use: unions)
        let me = routes.grouped("me").grouped(MemberBearerMiddleware())
        me.get("card", use: card)
        me.post("phone", "code", use: sendPhoneCode)
        me.post("phone", use: changePhone)
        me.get("transfers", use: transfers)
        me.post("transfers", use: requestTransfer)
        me.post("logout", use: logout)
    }

    @Sendable func sendCode(req: Request) async throws -> Response {
        let phone = try ApplicationController.phone(try req.content.decode(PhoneInput.self).phone)
        try await MemberAuth.sendSignInCode(phone, on: req)
        return try await CodeSent(sent: true, expiresInSeconds: Int(OneTimeCodes.lifetime)).encodeResponse(status: .accepted, for: req)
    }

    @Sendable func login(req: Request) async throws -> MemberLoginDTO {
        let input = try req.content.decode(PhoneCodeInput.self)
        let phone = try ApplicationController.phone(input.phone)
        let member = try await MemberAuth.signIn(phone, code: input.code, on: req)
        let (token, expires) = try await MemberAuth.issueToken(for: member, on: req.db)
        return MemberLoginDTO(token: token, expiresAt: expires, card: try await MemberAuth.card(member, on: req.db))
    }

    /// Grassroots unions by name, for a member choosing where to transfer (names are public).
    @Sendable func unions(req: Request) async throws -> Paged<UnionDTO> {
        var v = Validator()
        let q = v.text(req.query[String.self, at: "q"], "q", required: true, max: 50)
        let paging = PageRequest(from: req, defaultPer: 20, &v)
        try v.check()
        let query = Organization.query(on: req.db).filter(\.$kind ~~ OrgKind.grassrootsKinds)
            .filter(\.$name ~~ (q ?? ""))
        let total = try await query.count()
        let rows = try await query.sort(\.$name).range(paging.offset..<(paging.offset + paging.per)).all()
        let parents = try await ApplicationService.orgNames(rows.compactMap(\.parentID), on: req.db)
        return Paged(items: rows.map { UnionDTO(id: $0.id ?? 0, name: $0.name, parentName: $0.parentID.flatMap { parents[$0]?.name }) },
                     page: paging.page, per: paging.per, total: total)
    }

    @Sendable func card(req: Request) async throws -> MemberCardDTO {
        try await MemberAuth.card(try req.member, on: req.db)
    }

    @Sendable func sendPhoneCode(req: Request) async throws -> Response {
        let phone = try ApplicationController.phone(try req.content.decode(PhoneInput.self).phone)
        try await req.oneTimeCodes.send(to: phone, purpose: .changePhone)
        return try await CodeSent(sent: true, expiresInSeconds: Int(OneTimeCodes.lifetime)).encodeResponse(status: .accepted, for: req)
    }

    @Sendable func changePhone(req: Request) async throws -> MemberCardDTO {
        let input = try req.content.decode(PhoneCodeInput.self)
        let phone = try ApplicationController.phone(input.phone)
        let member = try req.member
        try await MemberAuth.changePhone(member, to: phone, code: input.code, on: req)
        return try await MemberAuth.card(member, on: req.db)
    }

    @Sendable func transfers(req: Request) async throws -> Paged<TransferDTO> {
        let member = try req.member
        let rows = try await MemberTransfer.query(on: req.db).filter(\.$memberID == (try member.requireID())).sort(\.$id, .descending).limit(50).all()
        var items: [TransferDTO] = []
        for row in rows { items.append(try await Transfers.dto(row, on: req.db)) }
        return Paged(items: items, page: 1, per: 50, total: items.count)
    }

    @Sendable func requestTransfer(req: Request) async throws -> Response {
        let member = try req.member
        let transfer = try await Transfers.request(member: member, input: try req.content.decode(TransferInput.self), by: "member", staffID: nil, on: req)
        return try await Transfers.dto(transfer, on: req.db).encodeResponse(status: .created, for: req)
    }

    @Sendable func logout(req: Request) async throws -> HTTPStatus {
        if let id = req.storage[MemberTokenIDKey.self], let token = try await MemberToken.find(id, on: req.db) {
            token.revokedAt = Date()
            try await token.save(on: req.db)
        }
        return .noContent
    }
}
