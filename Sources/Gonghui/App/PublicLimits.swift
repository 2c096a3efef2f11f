import Foundation
import GonghuiCore
import Vapor

/// The public forms' limits: `GONGHUI_RATE_LIMIT` requests a minute from one address for each form
/// (and for sign-in), and as many an hour for one phone number or one ID number on the intake
/// forms (an appeal, a joining application), however many addresses they come from; 429 with
/// `Retry-After` beyond. 0 turns them off (load scripts, the test suite). Counted in the database
/// (`Throttle`); phones and ID numbers only by their keyed hash, never as themselves.
struct AddressLimit: AsyncMiddleware {
    let form: String

    init(_ form: String) { self.form = form }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        try await request.limitAddress(form)
        return try await next.respond(to: request)
    }
}

extension Request {
    func limitAddress(_ form: String) async throws {
        let limit = application.gonghui.rateLimit
        guard limit > 0 else { return }
        if let wait = try await throttle.hit("form:\(form):addr:\(clientAddress ?? "unknown")", limit: limit) {
            throw AppError.tooMany(retryAfter: wait, "error.form.tooMany")
        }
    }

    /// The per-person limits, once the phone and the ID number are known (raw input is parsed
    /// here; what does not parse is refused by the form's own checks).
    func limitPerson(_ form: String, phone raw: String?, idNumber rawID: String?) async throws {
        let limit = application.gonghui.rateLimit
        guard limit > 0 else { return }
        var buckets: [String] = []
        if let raw, let phone = try? PhoneNumber(parsing: raw) {
            buckets.append("form:\(form):phone:" + fieldCipher.blindIndex("phone:" + phone.value))
        }
        if let rawID, let id = try? ResidentID(parsing: rawID, today: ShanghaiClock.today(), minimumAge: 0) {
            buckets.append("form:\(form):id:" + fieldCipher.blindIndex(id.value))
        }
        for bucket in buckets {
            if let wait = try await throttle.hit(bucket, limit: limit, window: 3600) {
                throw AppError.tooMany(retryAfter: wait, "error.form.personLimit")
            }
        }
    }
}
