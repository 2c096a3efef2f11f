/// Working days in mainland China: Monday to Friday, less the public holidays, plus the weekend
/// days that are worked to make up for them (调休). Both lists are data staff keep each year
/// from the State Council's notice.
public struct WorkingCalendar: Sendable {
    /// Day numbers (since 1970-01-01) that are off although they fall on a weekday.
    public let holidays: Set<Int>
    /// Day numbers that are worked although they fall on a Saturday or Sunday.
    public let workdays: Set<Int>

    public init(holidays: [CalendarDate] = [], workdays: [CalendarDate] = []) {
        self.holidays = Set(holidays.map(\.dayNumber))
        self.workdays = Set(workdays.map(\.dayNumber))
    }

    public func isWorkingDay(_ day: Int) -> Bool {
        if workdays.contains(day) { return true }
        if holidays.contains(day) { return false }
        let weekday = ((day % 7) + 7 + 3) % 7
        return weekday < 5
    }

    public func isWorkingDay(_ date: CalendarDate) -> Bool { isWorkingDay(date.dayNumber) }

    /// The day `n` working days after `day` (not counting `day` itself): a deadline of 5 working
    /// days for an appeal received on a Friday evening falls on the next Friday, later over a holiday.
    public func adding(workingDays n: Int, to day: Int) -> Int {
        var d = day, left = n
        while left > 0 {
            d += 1
            if isWorkingDay(d) { left -= 1 }
        }
        return d
    }

    /// Working days in (from, to]: how many a paused appeal spent waiting.
    public func workingDays(after from: Int, through to: Int) -> Int {
        guard to > from else { return 0 }
        return ((from + 1)...to).filter(isWorkingDay).count
    }

    /// The moment a deadline falls due: the end (24:00, Asia/Shanghai) of the nth working day after
    /// the moment given, in seconds since 1970.
    public func deadline(afterEpoch seconds: Double, workingDays n: Int) -> Double {
        let (day, _) = SiteSchedule.local(seconds)
        let due = adding(workingDays: n, to: day)
        return Double(due + 1) * 86_400 - 8 * 3600
    }

    /// A deadline moved on by the working days spent paused between two moments.
    public func extend(deadlineEpoch due: Double, pausedFrom start: Double, to end: Double) -> Double {
        let (a, _) = SiteSchedule.local(start), (b, _) = SiteSchedule.local(end)
        let spent = workingDays(after: a, through: b)
        guard spent > 0 else { return due }
        let (dueDay, _) = SiteSchedule.local(due - 1)
        return Double(adding(workingDays: spent, to: dueDay) + 1) * 86_400 - 8 * 3600
    }
}
