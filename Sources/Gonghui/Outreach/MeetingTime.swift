import Foundation
import GonghuiCore

/// Meeting times as ISO 8601 (`2026-11-23T14:00:00+08:00`, `…Z`, with or without seconds), or a
/// local time without a zone, read in Asia/Shanghai (`2026-11-23T14:00`, `2026-11-23 14:00`).
enum MeetingTime {
    static func parse(_ raw: String) -> Date? {
        let text = Normalize.singleLine(raw)
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime]
        if let date = iso.date(from: text) { return date }
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = iso.date(from: text) { return date }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = ShanghaiClock.zone
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm"] {
            local.dateFormat = format
            if let date = local.date(from: text) { return date }
        }
        return nil
    }

    /// The day in Asia/Shanghai.
    static func day(_ date: Date) -> CalendarDate { ShanghaiClock.today(date) }

    /// `2026-11-23 14:00` in Asia/Shanghai, for pages.
    /// A calendar made once: a `DateFormatter` made per call was 14 % of the ledger page's time.
    static func local(_ date: Date) -> String {
        let p = shanghai.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        func two(_ n: Int?) -> String { let n = n ?? 0; return n < 10 ? "0\(n)" : String(n) }
        return "\(p.year ?? 0)-\(two(p.month))-\(two(p.day)) \(two(p.hour)):\(two(p.minute))"
    }

    static let shanghai: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = ShanghaiClock.zone
        return calendar
    }()

    /// `2026-11-23T14:00` for `<input type="datetime-local">`.
    static func inputValue(_ date: Date) -> String { local(date).replacingOccurrences(of: " ", with: "T") }
}
