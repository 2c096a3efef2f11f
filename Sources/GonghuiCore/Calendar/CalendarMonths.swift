extension CalendarDate {
    /// The same day `n` months on (or back, for a negative `n`), the last of the month when that
    /// month is shorter: a term of one year from 29 February ends on 28 February.
    public func adding(months n: Int) -> CalendarDate {
        let total = year * 12 + (month - 1) + n
        let y = total / 12, m = total % 12 + 1
        return try! CalendarDate(year: y, month: m, day: min(day, CalendarDate.daysIn(month: m, year: y)))
    }

    public func adding(years n: Int) -> CalendarDate { adding(months: 12 * n) }
}
