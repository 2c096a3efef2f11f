import Crypto
import Fluent
import Foundation
import GonghuiCore
import NIOConcurrencyHelpers
import FluentSQL
import Vapor

/// Sends a text message. Behind a protocol so a city plugs in its gateway; this build has the
/// development driver, which writes the message to the log (`GONGHUI_SMS=log`).
protocol SMSSender: Sendable {
    func send(to phone: PhoneNumber, text: String, logger: Logger) async throws
}

struct LogSMSSender: SMSSender {
    func send(to phone: PhoneNumber, text: String, logger: Logger) async throws {
        // The number is masked like everywhere else in the logs; the text carries the code.
        logger.notice("SMS (development driver) to \(phone.masked): \(text)")
    }
}

extension Application {
    private struct SMSKey: StorageKey { typealias Value = any SMSSender }

    var sms: any SMSSender {
        get { storage[SMSKey.self] ?? LogSMSSender() }
        set { storage[SMSKey.self] = newValue }
    }
}

/// One-time codes by SMS for people without an account: applicants checking their application,
/// members signing in and changing their number. Codes live 5 minutes; a code takes five tries.
///
/// Sending is counted per address and per number separately, so nobody can stop a member's phone
/// getting codes by asking for them first: one address may ask for a number once a minute and ten
/// times a day (a limit that holds that address only), and thirty times an hour for all numbers;
/// a number gets at most ten codes an hour from everywhere together (a limit that lasts an hour,
/// never a day, and keeps the phone from being flooded).
struct OneTimeCodes {
    enum Purpose: String { case status, signIn, changePhone, appeal }

    static let lifetime: TimeInterval = 5 * 60
    static let resendAfter: TimeInterval = 60
    static let perPhonePerAddressPerDay = 10
    static let perPhonePerHour = 10
    static let perAddressPerHour = 30
    static let maxAttempts = 5

    let request: Request

    /// Sends a fresh code; 429 with `Retry-After` when a limit is reached. With `deliver: false` the
    /// limits are applied and the attempt counted exactly the same, but no message goes out: the
    /// answer to a number nobody registered is indistinguishable from a real one, 429s included.
    func send(to phone: PhoneNumber, purpose: Purpose, deliver: Bool = true) async throws {
        let db = request.db
        let now = Date()
        let ip = request.clientAddress ?? "unknown"
        let mine = OneTimeCode.query(on: db).filter(\.$phone == phone.value).filter(\.$ip == ip)
        if let last = try await mine.copy().filter(\.$purpose == purpose.rawValue).sort(\.$createdAt, .descending).first(),
           let at = last.createdAt, now.timeIntervalSince(at) < Self.resendAfter {
            throw AppError.tooMany(retryAfter: Int(Self.resendAfter - now.timeIntervalSince(at)) + 1, "error.otp.tooSoon")
        }
        if try await mine.copy().filter(\.$createdAt > now.addingTimeInterval(-86_400)).count() >= Self.perPhonePerAddressPerDay {
            throw AppError.tooMany(retryAfter: 3600, "error.otp.dailyLimit")
        }
        let fromAddress = try await OneTimeCode.query(on: db).filter(\.$ip == ip)
            .filter(\.$createdAt > now.addingTimeInterval(-3600)).count()
        if fromAddress >= Self.perAddressPerHour { throw AppError.tooMany(retryAfter: 600, "error.otp.addressLimit") }
        let hour = try await OneTimeCode.query(on: db).filter(\.$phone == phone.value)
            .filter(\.$createdAt > now.addingTimeInterval(-3600)).sort(\.$createdAt).all(\.$createdAt)
        if hour.count >= Self.perPhonePerHour, let oldest = hour.first ?? nil {
            throw AppError.tooMany(retryAfter: Int(3600 - now.timeIntervalSince(oldest)) + 1, "error.otp.numberLimit")
        }
        let code = String(format: "%06d", Int.random(in: 0..<1_000_000))
        let record = OneTimeCode()
        record.phone = phone.value
        record.purpose = purpose.rawValue
        record.codeHash = Self.hash(code, phone: phone.value, purpose: purpose)
        record.expiresAt = now.addingTimeInterval(Self.lifetime)
        record.attempts = 0
        record.ip = ip
        if !deliver { record.usedAt = now }
        try await record.create(on: db)
        guard deliver else { return }
        let text = request.t("sms.code", ["code": code, "minutes": "5"])
        try await request.application.sms.send(to: phone, text: text, logger: request.application.logger)
    }

    /// Spends the newest live code for the number, or throws a 422 naming `code` (429 after five tries).
    func verify(_ phone: PhoneNumber, purpose: Purpose, code raw: String?) async throws {
        let code = Normalize.identifier(raw ?? "")
        guard code.count == 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw AppError.invalid([FieldIssue("code", "format", "error.otp.format")])
        }
        let db = request.db
        guard let record = try await OneTimeCode.query(on: db).filter(\.$phone == phone.value).filter(\.$purpose == purpose.rawValue)
            .filter(\.$usedAt == nil).filter(\.$expiresAt > Date()).sort(\.$createdAt, .descending).first()
        else { throw AppError.invalid([FieldIssue("code", "expired", "error.otp.expired")]) }
        guard record.attempts < Self.maxAttempts else {
            throw AppError.tooMany(retryAfter: Int(record.expiresAt.timeIntervalSinceNow) + 1, "error.otp.tooManyAttempts")
        }
        let recordID = try record.requireID()
        guard Self.hash(code, phone: phone.value, purpose: purpose) == record.codeHash else {
            // Counted in one statement, so parallel guesses cannot slip past the limit.
            try await db.sql.raw("UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = \(bind: recordID)").run()
            throw AppError.invalid([FieldIssue("code", "wrong", "error.otp.wrong")])
        }
        // Spent once: of two requests with the same code, only one finds it unused.
        let spent = try await db.sql.raw("""
            UPDATE one_time_codes SET used_at = \(bind: Date())
            WHERE id = \(bind: recordID) AND used_at IS NULL AND attempts < \(bind: Self.maxAttempts) RETURNING id
            """).all()
        guard !spent.isEmpty else { throw AppError.invalid([FieldIssue("code", "expired", "error.otp.expired")]) }
    }

    static func hash(_ code: String, phone: String, purpose: Purpose) -> String {
        let digest = SHA256.hash(data: Data("\(purpose.rawValue):\(phone):\(code)".utf8))
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}

extension AppError {
    /// 429 with a message; the middleware adds `Retry-After`.
    static func tooMany(retryAfter seconds: Int, _ detail: String) -> AppError {
        AppError(.tooManyRequests, "error.tooMany", detail: detail, args: ["seconds": String(max(1, seconds))])
    }
}

extension Request {
    var oneTimeCodes: OneTimeCodes { OneTimeCodes(request: self) }
}

/// The codes sent from one address are counted for every request for a code.
struct AddAddressIndexToCodes: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.createIndex("ix_codes_ip", on: OneTimeCode.schema, ["ip", "created_at"])
    }

    func revert(on database: any Database) async throws {
        try await database.sql.drop(index: "ix_codes_ip").run()
    }
}
