/// A calendar period of revenue buckets (contract §2).
public enum Period: String, Sendable, CaseIterable, Codable {
    case day, week, month, quarter, year

    /// Parses a user-given period, with an error listing the valid ones.
    public init(parsing text: String) throws {
        guard let period = Period(rawValue: text) else {
            throw TallyError.invalid("unknown period '\(text.quotedForMessage())'; expected one of day, week, month, quarter, year")
        }
        self = period
    }

    /// The first day of the period holding `date`. Weeks are ISO 8601: they start on Monday.
    func start(of date: CivilDate) -> CivilDate {
        switch self {
        case .day: date
        case .week: date.adding(days: 1 - date.isoWeekday)
        case .month: CivilDate(year: date.year, month: date.month, day: 1)
        case .quarter: CivilDate(year: date.year, month: (date.month - 1) / 3 * 3 + 1, day: 1)
        case .year: CivilDate(year: date.year, month: 1, day: 1)
        }
    }

    /// The first day of the next period, given the first day of one.
    func next(after start: CivilDate) -> CivilDate {
        switch self {
        case .day: start.adding(days: 1)
        case .week: start.adding(days: 7)
        case .month: start.adding(months: 1)
        case .quarter: start.adding(months: 3)
        case .year: start.adding(months: 12)
        }
    }
}
