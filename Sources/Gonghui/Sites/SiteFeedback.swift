import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import NIOConcurrencyHelpers
import Vapor

/// Ratings and "I used this station" from anyone, no account: counted once per device (the
/// finder's cookie, or the app's `X-Device-Id`) per site and window, so a double tap or a refresh
/// does not count twice. Nothing that identifies the person is stored.
struct SiteFeedback {
    let request: Request
    var db: any Database { request.db }

    static let useWindow: TimeInterval = 10 * 60
    static let ratingWindow: TimeInterval = 24 * 3600

    /// The device the request comes from: the app's header, the finder's cookie, else the address.
    var deviceKey: String {
        if let id = request.headers.first(name: "X-Device-Id"), !id.isEmpty { return "d:" + String(id.prefix(64)) }
        if let id = request.cookies[SiteFinderPages.deviceCookie]?.string, !id.isEmpty { return "c:" + String(id.prefix(64)) }
        return "a:" + (request.clientAddress ?? "unknown")
    }

    /// Counts one use; false when this device counted one for the site within the window.
    func use(_ site: Site) async throws -> Bool {
        let id = try site.requireID()
        guard request.application.feedbackLimiter.allow("use:\(id):\(deviceKey)", window: Self.useWindow) else { return false }
        let use = SiteUse()
        use.siteID = id
        use.at = Date()
        try await db.transaction { tx in
            try await use.create(on: tx)
            try await (tx as! any SQLDatabase).raw("UPDATE sites SET use_count = use_count + 1 WHERE id = \(bind: id)").run()
        }
        return true
    }

    func rate(_ site: Site, _ input: RatingInput) async throws {
        var v = Validator()
        if let stars = input.stars {
            if !SiteRules.stars.contains(stars) { v.add("stars", "range", nil, ["min": "1", "max": "5"]) }
        } else { v.add("stars", "required") }
        let comment = v.text(input.comment, "comment", required: false, max: SiteRules.commentLength)
        try v.check()
        let id = try site.requireID()
        guard request.application.feedbackLimiter.allow("rate:\(id):\(deviceKey)", window: Self.ratingWindow) else {
            throw AppError(.tooManyRequests, "error.site.ratedToday")
        }
        let rating = SiteRating()
        rating.siteID = id
        rating.stars = input.stars!
        rating.comment = comment
        rating.at = Date()
        try await db.transaction { tx in
            try await rating.create(on: tx)
            try await (tx as! any SQLDatabase).raw("""
                UPDATE sites SET rating_count = rating_count + 1, rating_sum = rating_sum + \(bind: rating.stars) WHERE id = \(bind: id)
                """).run()
        }
    }

    func counts(_ id: Int) async throws -> RatingResultDTO {
        guard let site = try await Site.find(id, on: db) else { throw AppError.notFound }
        return RatingResultDTO(ratingAverage: site.ratingAverage, ratingCount: site.ratingCount, useCount: site.useCount)
    }

    /// The latest comments for the detail page.
    func comments(_ site: Site, limit: Int = 5) async throws -> [SiteRating] {
        try await SiteRating.query(on: db).filter(\.$siteID == site.requireID()).filter(\.$comment != nil)
            .sort(\.$at, .descending).limit(limit).all()
    }

    /// Uses, ratings and average by month (Asia/Shanghai), the last `months` months.
    func activity(_ site: Site, months: Int = 12, now: Date = Date()) async throws -> SiteActivityDTO {
        let id = try site.requireID()
        let today = ShanghaiClock.today(now)
        var keys: [String] = []
        var (y, m) = (today.year, today.month)
        for _ in 0..<months {
            keys.append(String(format: "%04d-%02d", y, m))
            m -= 1
            if m == 0 { (y, m) = (y - 1, 12) }
        }
        let start = try CalendarDate(year: y, month: m, day: 1).adding(days: CalendarDate.daysIn(month: m, year: y))
        let since = Date(timeIntervalSince1970: Double(start.dayNumber) * 86_400 - 8 * 3600)
        var uses: [String: Int] = [:], ratings: [String: (Int, Int)] = [:]
        for u in try await SiteUse.query(on: db).filter(\.$siteID == id).filter(\.$at >= since).all(\.$at) {
            uses[String(ShanghaiClock.today(u).description.prefix(7)), default: 0] += 1
        }
        for r in try await SiteRating.query(on: db).filter(\.$siteID == id).filter(\.$at >= since).all() {
            let k = String(ShanghaiClock.today(r.at).description.prefix(7))
            let c = ratings[k] ?? (0, 0)
            ratings[k] = (c.0 + 1, c.1 + r.stars)
        }
        return SiteActivityDTO(siteId: id, months: keys.reversed().map { k in
            let r = ratings[k] ?? (0, 0)
            return .init(month: k, uses: uses[k] ?? 0, ratings: r.0, ratingAverage: r.0 == 0 ? nil : (Double(r.1) / Double(r.0) * 10).rounded() / 10)
        })
    }
}

/// Remembers, per key, when something was last allowed, and forgets after the window.
final class WindowLimiter: Sendable {
    private let seen = NIOLockedValueBox<[String: Date]>([:])

    func allow(_ key: String, window: TimeInterval, now: Date = Date()) -> Bool {
        seen.withLockedValue { map in
            if map.count > 100_000 { map = map.filter { now.timeIntervalSince($0.value) < SiteFeedback.ratingWindow } }
            if let last = map[key], now.timeIntervalSince(last) < window { return false }
            map[key] = now
            return true
        }
    }
}

extension Application {
    private struct FeedbackLimiterKey: StorageKey { typealias Value = WindowLimiter }

    var feedbackLimiter: WindowLimiter {
        if let limiter = storage[FeedbackLimiterKey.self] { return limiter }
        let limiter = WindowLimiter()
        storage[FeedbackLimiterKey.self] = limiter
        return limiter
    }
}
